/**
 * MQTT topics and client ids, the contract between devices, the broker and the API that
 * provisions devices: a device publishes only under its own MQTT username (to its telemetry,
 * events and status topics) and subscribes only to its commands topic.
 */
export const TOPIC_ROOT = 'safeshipper/v1/devices';
export const telemetryTopic = (username: string) => `${TOPIC_ROOT}/${username}/telemetry`;
export const eventsTopic = (username: string) => `${TOPIC_ROOT}/${username}/events`;
export const statusTopic = (username: string) => `${TOPIC_ROOT}/${username}/status`;
export const commandsTopic = (username: string) => `${TOPIC_ROOT}/${username}/commands`;

/** What a device publishes: points (`telemetry`), points it flags as an event (`events`), its presence (`status`). */
export const PUBLISH_KINDS = ['telemetry', 'events', 'status'] as const;
export type PublishKind = (typeof PUBLISH_KINDS)[number];

/** The device's publish topic's kind, or undefined for any other topic (another device's, a command topic, a wildcard). */
export function publishKind(topic: string, username: string): PublishKind | undefined {
  const prefix = `${TOPIC_ROOT}/${username}/`;
  if (!topic.startsWith(prefix)) return undefined;
  const kind = topic.slice(prefix.length);
  return (PUBLISH_KINDS as readonly string[]).includes(kind) ? (kind as PublishKind) : undefined;
}

/** A topic's username and kind, for a transport that sees every device's messages (the external broker's shared subscription). */
export function parsePublishTopic(topic: string): { username: string; kind: PublishKind } | undefined {
  if (!topic.startsWith(`${TOPIC_ROOT}/`)) return undefined;
  const rest = topic.slice(TOPIC_ROOT.length + 1).split('/');
  if (rest.length !== 2 || !rest[0] || !(PUBLISH_KINDS as readonly string[]).includes(rest[1]!)) return undefined;
  return { username: rest[0], kind: rest[1] as PublishKind };
}

/**
 * A device's MQTT client id is its username, or its username, `:` and anything (one device,
 * several connections: `truck-7:modem`). `:` never occurs in a username, so no device can name
 * a client id of another and take over its session.
 */
export const clientIdBelongsTo = (clientId: string, username: string) => clientId === username || clientId.startsWith(`${username}:`);
