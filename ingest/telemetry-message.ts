import { z } from 'zod';

const MAX_CLOCK_SKEW_MS = 5 * 60_000;

/** One telemetry point as devices send it (JSON). Unknown fields are refused, not silently kept. */
export const telemetryMessage = z.strictObject({
  ts: z.union([z.iso.datetime({ offset: true }), z.number().int().positive()]).transform((value) => new Date(value)),
  lat: z.number().min(-90).max(90).optional(),
  lon: z.number().min(-180).max(180).optional(),
  speedKmh: z.number().min(0).max(400).optional(),
  headingDeg: z.number().min(0).lt(360).optional(),
  temperatureC: z.number().min(-80).max(200).optional(),
  sensors: z.record(z.string().max(64), z.union([z.number(), z.boolean(), z.string().max(256)])).optional(),
});

export type TelemetryMessage = z.infer<typeof telemetryMessage>;

export function decodeTelemetry(payload: Buffer, now: Date): { ok: true; message: TelemetryMessage } | { ok: false; reason: string } {
  let json: unknown;
  try {
    json = JSON.parse(payload.toString('utf8'));
  } catch {
    return { ok: false, reason: 'payload is not JSON' };
  }
  const parsed = telemetryMessage.safeParse(json);
  if (!parsed.success) return { ok: false, reason: parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ') };
  const message = parsed.data;
  if (Number.isNaN(message.ts.getTime()) || message.ts.getTime() > now.getTime() + MAX_CLOCK_SKEW_MS) return { ok: false, reason: 'ts is in the future' };
  if ((message.lat === undefined) !== (message.lon === undefined)) return { ok: false, reason: 'lat and lon come together' };
  return { ok: true, message };
}
