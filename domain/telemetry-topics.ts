/**
 * MQTT topics and client ids, the contract between devices, the broker and the API that
 * provisions devices: a device publishes only under its own MQTT username.
 */
export const telemetryTopic = (username: string) => `safeshipper/v1/devices/${username}/telemetry`;
export const commandsTopic = (username: string) => `safeshipper/v1/devices/${username}/commands`;

/**
 * A device's MQTT client id is its username, or its username, `:` and anything (one device,
 * several connections: `truck-7:modem`). `:` never occurs in a username, so no device can name
 * a client id of another and take over its session.
 */
export const clientIdBelongsTo = (clientId: string, username: string) => clientId === username || clientId.startsWith(`${username}:`);
