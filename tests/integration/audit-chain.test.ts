import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { randomBytes, randomUUID } from 'node:crypto';
import { auditActivities } from '../../activities/audit.js';
import { appendAudit, verifyAuditChain } from '../../db/audit.js';
import { inTenant, openDatabase, type Database } from '../../db/orm.js';
import { AuditCheckpointSeal } from '../../security/audit-checkpoint.js';
import { testConfig, testEnv } from '../support/stack.js';

/**
 * The audit chain under concurrent writers, and against its owner. Each test writes into a
 * company of its own, so other files verifying the demo companies' chains are not disturbed.
 */
describe('the audit chain', () => {
  let db: Database;
  let owner: pg.Client;
  beforeAll(async () => {
    // One connection per concurrent writer, as API replicas would have.
    db = await openDatabase({ url: testEnv().DATABASE_URL!, poolSize: 50 });
    owner = new pg.Client({ connectionString: testEnv().DATABASE_OWNER_URL });
    await owner.connect();
  });
  afterAll(async () => {
    await owner?.end();
    await db?.close();
  });

  async function newCompany(): Promise<string> {
    const id = randomUUID();
    await owner.query('INSERT INTO companies (id, name) VALUES ($1, $2)', [id, `Audit chain ${id.slice(0, 8)}`]);
    return id;
  }

  /** One request's transaction writing two audit rows, with other work between them. */
  const request = (companyId: string, n: number) =>
    inTenant(db, companyId, async (em) => {
      const entry = { companyId, actorSubject: `writer-${n}`, actorUsername: `writer-${n}`, entityType: 'vehicle', entityId: String(n) };
      await appendAudit(em, { ...entry, action: 'create', after: { n } });
      await em.execute('SELECT pg_sleep(0.005)');
      await appendAudit(em, { ...entry, action: 'update', before: { n }, after: { n: n + 1 } });
    });

  const seal = new AuditCheckpointSeal(testConfig().AUDIT_CHECKPOINT_KEY);
  const verify = (companyId: string, by = seal) => inTenant(db, companyId, (em) => verifyAuditChain(em, companyId, by));
  /** What the scheduled workflow runs: seals every company's chain head. */
  const checkpoint = () => auditActivities(db, seal).checkpointAuditChains();

  it('50 concurrent writers, each writing two entries in one transaction: the chain verifies', async () => {
    const company = await newCompany();
    await Promise.all(Array.from({ length: 50 }, (_, n) => request(company, n)));
    expect(await verify(company)).toEqual({ valid: true, entries: 100, firstBreak: null, checkpointedThrough: null });
  });

  it('an owner who rewrites the tail and re-hashes it is detected', async () => {
    const company = await newCompany();
    for (let n = 0; n < 3; n += 1) await request(company, n);
    expect(await checkpoint()).toBeGreaterThanOrEqual(1);
    const [head] = (await owner.query<{ id: string }>('SELECT id FROM audit_log WHERE chain = $1 ORDER BY id DESC LIMIT 1', [company])).rows;
    expect(await verify(company)).toEqual({ valid: true, entries: 6, firstBreak: null, checkpointedThrough: Number(head!.id) });

    // The owner edits the last entry and recomputes its hash: the chain itself is consistent again.
    const [last] = (await owner.query<{ id: string }>('SELECT id FROM audit_log WHERE chain = $1 ORDER BY id DESC LIMIT 1', [company])).rows;
    await owner.query(`UPDATE audit_log SET after = '{"n":999}' WHERE id = $1`, [last!.id]);
    await owner.query('UPDATE audit_log a SET hash = audit_row_hash(a) WHERE id = $1', [last!.id]);

    expect(await verify(company)).toEqual({ valid: false, entries: 6, firstBreak: { id: Number(last!.id), reason: 'checkpoint-mismatch' }, checkpointedThrough: null });
  });

  it('checkpoints are sealed with a key the database does not hold: one made without it, or dropped from the middle, is reported', async () => {
    const company = await newCompany();
    await request(company, 0);
    await checkpoint();
    const [first] = (await owner.query<{ audit_id: string }>('SELECT audit_id FROM audit_checkpoints WHERE company_id = $1', [company])).rows;
    await request(company, 1);
    await checkpoint();
    expect((await verify(company)).valid).toBe(true);
    // A verifier with another key: every seal fails, the first is named.
    expect(await verify(company, new AuditCheckpointSeal(randomBytes(32).toString('base64')))).toMatchObject({ valid: false, firstBreak: { id: Number(first!.audit_id), reason: 'checkpoint-forged' } });
    // The owner drops the first checkpoint: the second no longer chains to what is left.
    await owner.query('DELETE FROM audit_checkpoints WHERE company_id = $1 AND audit_id = $2', [company, first!.audit_id]);
    expect(await verify(company)).toMatchObject({ valid: false, firstBreak: { reason: 'checkpoint-forged' } });
  });

  it('a sealer with nothing new to seal writes nothing', async () => {
    const company = await newCompany();
    await request(company, 0);
    await checkpoint();
    await checkpoint();
    expect((await owner.query('SELECT count(*)::int AS n FROM audit_checkpoints WHERE company_id = $1', [company])).rows[0]).toEqual({ n: 1 });
  });
});
