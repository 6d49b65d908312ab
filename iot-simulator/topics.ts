/**
 * The topic layout a device is built with (its firmware's configuration, not the server's code):
 * tests/unit/simulator-topics.test.ts proves it is the layout domain/telemetry-topics.ts defines.
 */
const base = (username: string) => `safeshipper/v1/devices/${username}`;
export const topics = (username: string) => ({
  telemetry: `${base(username)}/telemetry`,
  events: `${base(username)}/events`,
  status: `${base(username)}/status`,
  commands: `${base(username)}/commands`,
});
