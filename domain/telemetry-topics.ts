/**
 * MQTT topics, the contract between devices, the broker and the API that provisions devices:
 * a device publishes only under its own MQTT username.
 */
export const telemetryTopic = (username: string) => `safeshipper/v1/devices/${username}/telemetry`;
export const commandsTopic = (username: string) => `safeshipper/v1/devices/${username}/commands`;
