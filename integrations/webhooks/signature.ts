import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Webhook signatures: every delivery carries
 *
 *   SafeShipper-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" under the subscription's secret>
 *
 * The timestamp is signed with the body, so a captured delivery cannot be replayed later than
 * the receiver's tolerance; a receiver compares in constant time and may accept several `v1`
 * values (none are sent today; the format leaves room for a secret rotation overlap). The
 * secret is the whole `whsec_…` string, used as UTF-8 bytes, exactly as shown once at creation.
 */
export const SIGNATURE_HEADER = 'SafeShipper-Signature';
export const DEFAULT_TOLERANCE_SECONDS = 300;

/** A subscription's signing secret: 32 random bytes, shown once at creation, stored encrypted. */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64url')}`;
}

const hmac = (secret: string, timestamp: number, body: string) => createHmac('sha256', secret).update(`${timestamp}.${body}`, 'utf8').digest('hex');

/** The header value for `body` sent at `timestamp` (unix seconds). */
export function signWebhook(secret: string, body: string, timestamp: number): string {
  return `t=${timestamp},v1=${hmac(secret, timestamp, body)}`;
}

export type VerificationResult = { valid: true; timestamp: number } | { valid: false; reason: 'malformed' | 'too-old' | 'mismatch' };

/**
 * What a receiver runs on each delivery: the raw body as received (before any JSON parsing),
 * the header, the secret. Refuses a header it cannot read, a timestamp further than
 * `toleranceSeconds` from `now` (either way), and a signature that does not match.
 */
export function verifyWebhookSignature(input: { secret: string; body: string; header: string | null | undefined; toleranceSeconds?: number; now?: Date }): VerificationResult {
  const { secret, body, header, toleranceSeconds = DEFAULT_TOLERANCE_SECONDS, now = new Date() } = input;
  if (!header) return { valid: false, reason: 'malformed' };
  const pairs = header.split(',').map((part) => part.trim().split('='));
  const timestamps = pairs.filter(([k]) => k === 't').map(([, v]) => v ?? '');
  const signatures = pairs.filter(([k, v]) => k === 'v1' && /^[0-9a-f]{64}$/.test(v ?? '')).map(([, v]) => Buffer.from(v!, 'hex'));
  if (timestamps.length !== 1 || !/^\d{1,12}$/.test(timestamps[0]!) || signatures.length === 0) return { valid: false, reason: 'malformed' };
  const timestamp = Number(timestamps[0]);
  if (Math.abs(now.getTime() / 1000 - timestamp) > toleranceSeconds) return { valid: false, reason: 'too-old' };
  const expected = Buffer.from(hmac(secret, timestamp, body), 'hex');
  return signatures.some((signature) => timingSafeEqual(signature, expected)) ? { valid: true, timestamp } : { valid: false, reason: 'mismatch' };
}
