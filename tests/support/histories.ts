import { fileURLToPath } from 'node:url';
import proto from '@temporalio/proto';

/** Where the replay test finds the recorded shipment histories (tests/support/record-histories.ts writes them). */
export const HISTORIES_DIR = fileURLToPath(new URL('../histories/', import.meta.url));

// A CommonJS module: its namespace is reached through the default export under Node's ESM loader.
const { History } = proto.temporal.api.history.v1;

/**
 * A history as plain JSON (64-bit ids and times as strings, enums by name, payload bytes in base64), and back. Not the SDK's
 * `historyToJSON`/`historyFromJSON`: in this install @temporalio/common and @temporalio/proto each carry their own copy of
 * protobufjs (the root one is grpc's older major), and those helpers fail across the two ("type must be a Type"). The generated
 * class's own conversions stay within one copy.
 */
export const historyToObject = (history: proto.temporal.api.history.v1.IHistory) => History.toObject(History.fromObject(history), { longs: String, enums: String, bytes: String });
export const historyFromObject = (json: unknown) => History.fromObject(json as Record<string, unknown>);
