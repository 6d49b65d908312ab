import { z } from 'zod';

/**
 * The telemetry message devices publish (JSON), validated to what PostgreSQL stores
 * (`telemetry_points` in db/migrations): a value the database would refuse must be refused
 * here, one point at a time, never discovered by a failed batch.
 */
const MAX_CLOCK_SKEW_MS = 5 * 60_000;
const MAX_SENSORS = 64;

/**
 * A number as a `real` column keeps it: rounded to float32. A non-zero value that rounds to 0
 * underflows (PostgreSQL: "out of range for type real"), and the column's CHECK sees the
 * rounded value (359.9999999 is stored as 360).
 */
const real = (bounds: { min: number; max: number; maxExclusive?: boolean }) =>
  z.number().superRefine((value, ctx) => {
    const stored = Math.fround(value);
    if (!Number.isFinite(stored) || (stored === 0 && value !== 0)) return ctx.addIssue({ code: 'custom', message: 'is not representable as real' });
    if (stored < bounds.min) ctx.addIssue({ code: 'custom', message: `must be at least ${bounds.min} as stored (real)` });
    if (bounds.maxExclusive ? stored >= bounds.max : stored > bounds.max) ctx.addIssue({ code: 'custom', message: `must be ${bounds.maxExclusive ? 'below' : 'at most'} ${bounds.max} as stored (real)` });
  });

// `jsonb` refuses \u0000 and unpaired UTF-16 surrogates (with the u flag a paired one is one code point).
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;
const jsonbText = (max: number) => z.string().max(max).refine((value) => !value.includes('\u0000') && !LONE_SURROGATE.test(value), 'contains NUL or a lone surrogate');

export const telemetryMessage = z.strictObject({
  ts: z.union([z.iso.datetime({ offset: true }), z.number().int().positive()]).transform((value) => new Date(value)),
  lat: z.number().min(-90).max(90).optional(),
  lon: z.number().min(-180).max(180).optional(),
  speedKmh: real({ min: 0, max: 400 }).optional(),
  headingDeg: real({ min: 0, max: 360, maxExclusive: true }).optional(),
  temperatureC: real({ min: -80, max: 200 }).optional(),
  sensors: z
    .record(jsonbText(64), z.union([z.number(), z.boolean(), jsonbText(256)]))
    .refine((sensors) => Object.keys(sensors).length <= MAX_SENSORS, `at most ${MAX_SENSORS} sensors`)
    .optional(),
});

export type TelemetryMessage = z.infer<typeof telemetryMessage>;

export type DecodedTelemetry = { ok: true; message: TelemetryMessage } | { ok: false; reason: string };

export function decodeTelemetry(payload: Buffer, now: Date): DecodedTelemetry {
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
