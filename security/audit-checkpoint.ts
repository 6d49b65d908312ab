import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The seal on a company's audit chain head: HMAC-SHA256 under AUDIT_CHECKPOINT_KEY, a key the
 * database never holds, so whoever can rewrite the audit table (its owner) cannot make a
 * checkpoint that verifies. Each MAC covers the checkpoint before it (`previousMac`, `genesis`
 * for the first), so checkpoints cannot be dropped from the middle of the sequence unnoticed.
 */
export class AuditCheckpointSeal {
  private readonly key: Buffer;

  constructor(keyBase64: string) {
    this.key = Buffer.from(keyBase64, 'base64');
    if (this.key.length < 32) throw new Error('AUDIT_CHECKPOINT_KEY must be at least 32 bytes, base64-encoded');
  }

  mac(checkpoint: { companyId: string; auditId: number; headHash: string; previousMac: string }): string {
    return createHmac('sha256', this.key)
      .update(['audit-checkpoint-v1', checkpoint.companyId, String(checkpoint.auditId), checkpoint.headHash, checkpoint.previousMac].join('|'))
      .digest('hex');
  }

  verify(checkpoint: { companyId: string; auditId: number; headHash: string; previousMac: string }, mac: string): boolean {
    const expected = Buffer.from(this.mac(checkpoint), 'hex');
    const given = Buffer.from(mac, 'hex');
    return given.length === expected.length && timingSafeEqual(given, expected);
  }
}
