import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { newWebhookSecret, signWebhook, verifyWebhookSignature } from '../../../integrations/webhooks/signature.js';

describe('webhook signatures (SafeShipper-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "t.body">)', () => {
  const secret = 'whsec_test-secret';
  const body = '{"id":"d1","type":"shipment.booked","data":{"shipmentNumber":"SS-1042"}}';
  const now = new Date('2026-12-01T10:00:00Z');
  const t = Math.floor(now.getTime() / 1000);

  it('signs exactly as documented: HMAC-SHA256 under the secret over "<t>.<body>", hex', () => {
    const expected = createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
    expect(signWebhook(secret, body, t)).toBe(`t=${t},v1=${expected}`);
  });

  it('verifies its own signature, within the tolerance either way', () => {
    const header = signWebhook(secret, body, t);
    expect(verifyWebhookSignature({ secret, body, header, now })).toEqual({ valid: true, timestamp: t });
    expect(verifyWebhookSignature({ secret, body, header, now: new Date(now.getTime() + 299_000) })).toEqual({ valid: true, timestamp: t });
    expect(verifyWebhookSignature({ secret, body, header, now: new Date(now.getTime() - 299_000) })).toEqual({ valid: true, timestamp: t });
  });

  it('refuses another body, another secret, another timestamp with the same signature', () => {
    const header = signWebhook(secret, body, t);
    expect(verifyWebhookSignature({ secret, body: body.replace('SS-1042', 'SS-1043'), header, now })).toEqual({ valid: false, reason: 'mismatch' });
    expect(verifyWebhookSignature({ secret: 'whsec_other', body, header, now })).toEqual({ valid: false, reason: 'mismatch' });
    expect(verifyWebhookSignature({ secret, body, header: header.replace(`t=${t}`, `t=${t + 1}`), now })).toEqual({ valid: false, reason: 'mismatch' });
  });

  it('refuses a replay older than the tolerance (5 minutes by default)', () => {
    const header = signWebhook(secret, body, t);
    expect(verifyWebhookSignature({ secret, body, header, now: new Date(now.getTime() + 301_000) })).toEqual({ valid: false, reason: 'too-old' });
    expect(verifyWebhookSignature({ secret, body, header, now: new Date(now.getTime() + 3_600_000), toleranceSeconds: 7200 })).toEqual({ valid: true, timestamp: t });
  });

  it('refuses headers it cannot read', () => {
    const v1 = signWebhook(secret, body, t).split(',')[1]!;
    for (const header of [undefined, null, '', 'garbage', `v1=${'0'.repeat(64)}`, `t=${t}`, `t=${t},v1=xyz`, `t=abc,${v1}`, `t=${t},t=${t},${v1}`]) {
      expect(verifyWebhookSignature({ secret, body, header, now }), String(header)).toEqual({ valid: false, reason: 'malformed' });
    }
  });

  it('accepts any one matching v1 among several (room for a secret rotation overlap)', () => {
    const genuine = signWebhook(secret, body, t).split(',')[1]!;
    expect(verifyWebhookSignature({ secret, body, header: `t=${t},v1=${'0'.repeat(64)},${genuine}`, now })).toEqual({ valid: true, timestamp: t });
  });

  it('secrets are whsec_ and 32 random bytes, never twice the same', () => {
    const a = newWebhookSecret();
    expect(a).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    expect(newWebhookSecret()).not.toBe(a);
  });
});
