import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { startTestApi, type TestApi } from '../support/api.js';
import { ACME, testEnv } from '../support/stack.js';
import { databaseActivities } from '../../activities/database.js';

const run = Date.now().toString(36).toUpperCase();

describe('master data over the API: conventions every collection follows', () => {
  let api: TestApi;
  let owner: pg.Client;
  beforeAll(async () => {
    api = await startTestApi();
    owner = new pg.Client({ connectionString: testEnv().DATABASE_OWNER_URL });
    await owner.connect();
  });
  afterAll(async () => {
    await owner?.end();
    await api?.close();
  });

  const vehicle = (suffix: string) => ({ registration: `T${run.slice(-6)}${suffix}`, vehicleType: 'TANKER', capacityKg: 24000, placardHolders: 4 });

  it('POST creates: 201, Location, ETag, the view; and an audit entry in the same transaction', async () => {
    const response = await api.call('acme-manager', 'POST', '/api/v1/vehicles', { body: vehicle('A') });
    expect(response.status).toBe(201);
    const body = (await response.json()) as { id: string; registration: string; status: string; inspectionExpiresOn: null };
    expect(response.headers.get('location')).toBe(`/api/v1/vehicles/${body.id}`);
    expect(response.headers.get('etag')).toBe('"v1"');
    expect(body).toMatchObject({ registration: `T${run.slice(-6)}A`, status: 'ACTIVE', inspectionExpiresOn: null });
    const audit = await owner.query(`SELECT action, actor_username, after->>'registration' AS registration FROM audit_log WHERE entity_id = $1`, [body.id]);
    expect(audit.rows).toEqual([{ action: 'create', actor_username: 'acme-manager', registration: `T${run.slice(-6)}A` }]);
  });

  it('PATCH needs If-Match: 428 without, 412 when stale, 200 with the new ETag when current', async () => {
    const created = await api.call('acme-manager', 'POST', '/api/v1/vehicles', { body: vehicle('B') });
    const { id } = (await created.json()) as { id: string };
    const missing = await api.call('acme-manager', 'PATCH', `/api/v1/vehicles/${id}`, { body: { placardHolders: 2 } });
    expect(missing.status).toBe(428);
    const ok = await api.call('acme-manager', 'PATCH', `/api/v1/vehicles/${id}`, { body: { placardHolders: 2 }, headers: { 'If-Match': '"v1"' } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('etag')).toBe('"v2"');
    expect(await ok.json()).toMatchObject({ placardHolders: 2 });
    const stale = await api.call('acme-manager', 'PATCH', `/api/v1/vehicles/${id}`, { body: { placardHolders: 6 }, headers: { 'If-Match': '"v1"' } });
    expect(stale.status).toBe(412);
    expect((await (await api.call('acme-manager', 'GET', `/api/v1/vehicles/${id}`)).json()) as object).toMatchObject({ placardHolders: 2 });
    // A vehicle's status is its inspection programmes' to decide, never a field a client sets.
    const grounding = await api.call('acme-manager', 'PATCH', `/api/v1/vehicles/${id}`, { body: { status: 'GROUNDED' }, headers: { 'If-Match': '"v2"' } });
    expect(grounding.status).toBe(422);
    expect(await grounding.json()).toMatchObject({ errors: [{ path: 'status', message: 'is not a recognised field' }] });
    const audit = await owner.query(`SELECT action, before->>'placardHolders' AS before, after->>'placardHolders' AS after FROM audit_log WHERE entity_id = $1 ORDER BY id`, [id]);
    expect(audit.rows).toEqual([{ action: 'create', before: null, after: '4' }, { action: 'update', before: '4', after: '2' }]);
  });

  it('Idempotency-Key: same key and body → the same answer and one row; same key, other body → 422', async () => {
    const headers = { 'Idempotency-Key': `veh-${run}` };
    const first = await api.call('acme-manager', 'POST', '/api/v1/vehicles', { body: vehicle('C'), headers });
    const again = await api.call('acme-manager', 'POST', '/api/v1/vehicles', { body: vehicle('C'), headers });
    expect([first.status, again.status]).toEqual([201, 201]);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.headers.get('location')).toBe(first.headers.get('location'));
    expect(await again.json()).toEqual(await first.json());
    const rows = await owner.query('SELECT count(*)::int AS n FROM vehicles WHERE registration = $1', [`T${run.slice(-6)}C`]);
    expect(rows.rows[0].n).toBe(1);
    const other = await api.call('acme-manager', 'POST', '/api/v1/vehicles', { body: vehicle('D'), headers });
    expect(other.status).toBe(422);
    expect(await other.json()).toMatchObject({ detail: 'This Idempotency-Key was used for a different request' });
    expect((await owner.query('SELECT count(*)::int AS n FROM vehicles WHERE registration = $1', [`T${run.slice(-6)}D`])).rows[0].n).toBe(0);
  });

  it('a stored answer is kept encrypted like its source (an emergency contact\'s phone never in clear), and still replays', async () => {
    const headers = { 'Idempotency-Key': `contact-${run}` };
    const contact = { name: `Spill line ${run}`, available24h: true, phone: '+61 1800 555 010', email: 'spill@example.test', details: 'Ammonia kit at depot 2' };
    const first = await api.call('acme-manager', 'POST', '/api/v1/emergency-contacts', { body: contact, headers });
    expect(first.status).toBe(201);
    const stored = (await owner.query('SELECT * FROM idempotency_keys WHERE key = $1', [headers['Idempotency-Key']])).rows[0] as Record<string, unknown>;
    const raw = JSON.stringify(stored);
    for (const secret of ['1800 555 010', 'spill@example.test', 'Ammonia']) expect(raw).not.toContain(secret);
    const again = await api.call('acme-manager', 'POST', '/api/v1/emergency-contacts', { body: contact, headers });
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(await again.json()).toEqual(await first.json());
  });

  it('expired idempotency keys are purged; live ones stay', async () => {
    const keys = { expired: `purge-old-${run}`, live: `purge-new-${run}` };
    await owner.query(
      `INSERT INTO idempotency_keys (company_id, user_subject, key, request_hash, status, headers, created_at)
       VALUES ($1, 'purge-test', $2, 'x', 201, '{}', now() - interval '25 hours'), ($1, 'purge-test', $3, 'x', 201, '{}', now() - interval '23 hours')`,
      [ACME, keys.expired, keys.live],
    );
    expect(await databaseActivities(api.db).purgeExpiredIdempotencyKeys()).toBeGreaterThanOrEqual(1);
    const left = await owner.query(`SELECT key FROM idempotency_keys WHERE user_subject = 'purge-test' ORDER BY key`);
    expect(left.rows).toEqual([{ key: keys.live }]);
  });

  it('concurrent twins with one Idempotency-Key create exactly one row', async () => {
    const headers = { 'Idempotency-Key': `veh-twins-${run}` };
    const answers = await Promise.all([1, 2, 3].map(() => api.call('acme-manager', 'POST', '/api/v1/vehicles', { body: vehicle('E'), headers })));
    const statuses = answers.map((answer) => answer.status);
    expect(statuses.every((status) => status === 201 || status === 409)).toBe(true);
    expect(statuses).toContain(201);
    expect((await owner.query('SELECT count(*)::int AS n FROM vehicles WHERE registration = $1', [`T${run.slice(-6)}E`])).rows[0].n).toBe(1);
  });

  it('unique values → 409; unknown fields, wrong types, bad enums → 422 with field paths; nothing written', async () => {
    const duplicate = await api.call('acme-manager', 'POST', '/api/v1/vehicles', { body: vehicle('A') });
    expect(duplicate.status).toBe(409);
    const bad = await api.call('acme-manager', 'POST', '/api/v1/vehicles', { body: { ...vehicle('F'), capacityKg: '24t', vehicleType: 'BLIMP', colour: 'red' } });
    expect(bad.status).toBe(422);
    const errors = ((await bad.json()) as { errors: Array<{ path: string }> }).errors.map((error) => error.path).sort();
    expect(errors).toEqual(['capacityKg', 'colour', 'vehicleType']);
    expect((await owner.query('SELECT count(*)::int AS n FROM vehicles WHERE registration = $1', [`T${run.slice(-6)}F`])).rows[0].n).toBe(0);
  });

  it('stores SQL and HTML in strings as text, and answers them as JSON, never as markup or SQL', async () => {
    const name = `<script>alert(1)</script>'; DROP TABLE vehicles; --`;
    const response = await api.call('acme-manager', 'POST', '/api/v1/emergency-contacts', { body: { name, available24h: true, phone: '+61 3 9000 0000' } });
    expect(response.status).toBe(201);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(((await response.json()) as { name: string }).name).toBe(name);
    expect((await owner.query(`SELECT to_regclass('public.vehicles') IS NOT NULL AS present`)).rows[0].present).toBe(true);
  });

  it('cursor pagination walks a collection once, in order, with filters', async () => {
    for (const suffix of ['P1', 'P2', 'P3', 'P4', 'P5']) await api.call('acme-manager', 'POST', '/api/v1/vehicles', { body: { ...vehicle(suffix), vehicleType: 'VAN' } });
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: Response = await api.call('acme-viewer', 'GET', `/api/v1/vehicles?vehicleType=VAN&order=registration&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      const body = (await page.json()) as { items: Array<{ registration: string; vehicleType: string }>; nextCursor: string | null };
      expect(body.items.every((item) => item.vehicleType === 'VAN')).toBe(true);
      seen.push(...body.items.map((item) => item.registration));
      cursor = body.nextCursor;
    } while (cursor);
    const mine = seen.filter((registration) => registration.startsWith(`T${run.slice(-6)}P`));
    expect(mine).toEqual(['P1', 'P2', 'P3', 'P4', 'P5'].map((suffix) => `T${run.slice(-6)}${suffix}`));
    expect(seen).toEqual([...seen].sort());
    const badOrder = await api.call('acme-viewer', 'GET', '/api/v1/vehicles?order=capacityKg');
    expect(badOrder.status).toBe(400);
  });

  it('DELETE answers 204 and the row is gone; a referenced row is a 409, not a dangling reference', async () => {
    const created = (await (await api.call('acme-manager', 'POST', '/api/v1/vehicles', { body: vehicle('G') })).json()) as { id: string };
    const shipment = await api.call('acme-operator', 'POST', '/api/v1/shipments', {
      body: { shipmentNumber: `SH-${run}-G`, origin: { address: 'Laverton North VIC', location: [144.77, -37.86] }, destination: { address: 'Dandenong VIC', location: [145.21, -37.99] }, pickupAt: '2026-12-01T08:00:00+11:00', deliverBy: '2026-12-01T12:00:00+11:00', vehicleId: created.id },
    });
    expect(shipment.status).toBe(201);
    expect((await api.call('acme-manager', 'DELETE', `/api/v1/vehicles/${created.id}`)).status).toBe(409);
    const spare = (await (await api.call('acme-manager', 'POST', '/api/v1/vehicles', { body: vehicle('H') })).json()) as { id: string };
    expect((await api.call('acme-manager', 'DELETE', `/api/v1/vehicles/${spare.id}`)).status).toBe(204);
    expect((await api.call('acme-manager', 'GET', `/api/v1/vehicles/${spare.id}`)).status).toBe(404);
  });

  it('emergency contact details are encrypted at rest and redacted in the audit log', async () => {
    const response = await api.call('acme-manager', 'POST', '/api/v1/emergency-contacts', { body: { name: 'Chemtrec AU', available24h: true, phone: '+61 1800 000 111', email: 'response@example.test', details: 'Chlorine kit at depot 4' } });
    const body = (await response.json()) as { id: string; phone: string; details: string };
    expect(body).toMatchObject({ phone: '+61 1800 000 111', details: 'Chlorine kit at depot 4' });
    const raw = await owner.query('SELECT phone, email, details FROM emergency_contacts WHERE id = $1', [body.id]);
    for (const value of Object.values(raw.rows[0] as Record<string, string>)) {
      expect(value).toMatch(/^v2:[0-9a-f]{8}:/);
      expect(value).not.toContain('1800');
      expect(value).not.toContain('Chlorine');
      expect(value).not.toContain('example.test');
    }
    const audit = await owner.query(`SELECT after FROM audit_log WHERE entity_id = $1`, [body.id]);
    expect(audit.rows[0].after).toMatchObject({ phone: '[encrypted]', email: '[encrypted]', details: '[encrypted]' });
  });

  it('shipment consignment items: catalogue entries in force only, technical names for G entries, the parent must be ours', async () => {
    const shipment = (await (
      await api.call('acme-operator', 'POST', '/api/v1/shipments', {
        body: { shipmentNumber: `SH-${run}-CI`, origin: { address: 'A', location: [144.9, -37.8] }, destination: { address: 'B', location: [145.0, -37.9] }, pickupAt: '2026-12-02T08:00:00Z', deliverBy: '2026-12-02T10:00:00Z' },
      })
    ).json()) as { id: string; status: string };
    expect(shipment.status).toBe('DRAFT');
    const dg = async (un: string) => ((await owner.query('SELECT id FROM dangerous_goods WHERE un_number = $1 ORDER BY row_index LIMIT 1', [un])).rows[0] as { id: string }).id;
    const items = `/api/v1/shipments/${shipment.id}/consignment-items`;
    const gasoline = await api.call('acme-operator', 'POST', items, { body: { dangerousGoodId: await dg('UN1203'), quantity: 2000, unit: 'L', packages: 10 } });
    expect(gasoline.status).toBe(201);
    expect(await gasoline.json()).toMatchObject({ quantity: 2000, unit: 'L', packages: 10, technicalName: null });
    const nos = await api.call('acme-operator', 'POST', items, { body: { dangerousGoodId: await dg('UN1993'), quantity: 100, unit: 'L' } });
    expect(nos.status).toBe(422);
    expect(await nos.json()).toMatchObject({ errors: [{ path: 'technicalName' }] });
    const forbiddenId = ((await owner.query(`SELECT id FROM dangerous_goods WHERE forbidden LIMIT 1`)).rows[0] as { id: string }).id;
    const forbidden = await api.call('acme-operator', 'POST', items, { body: { dangerousGoodId: forbiddenId, quantity: 1, unit: 'kg' } });
    expect(forbidden.status).toBe(422);
    expect(((await forbidden.json()) as { errors: Array<{ message: string }> }).errors[0]!.message).toMatch(/Forbidden for transportation \(49 CFR 172\.101\(d\)\(1\)\)/);
    const list = (await (await api.call('acme-viewer', 'GET', items)).json()) as { items: unknown[] };
    expect(list.items).toHaveLength(1);
  });

  it('status is not a field: a shipment cannot be moved along its lifecycle by PATCH', async () => {
    const created = await api.call('acme-operator', 'POST', '/api/v1/shipments', {
      body: { shipmentNumber: `SH-${run}-ST`, origin: { address: 'A', location: [144.9, -37.8] }, destination: { address: 'B', location: [145.0, -37.9] }, pickupAt: '2026-12-02T08:00:00Z', deliverBy: '2026-12-02T10:00:00Z' },
    });
    const { id } = (await created.json()) as { id: string };
    const patch = await api.call('acme-operator', 'PATCH', `/api/v1/shipments/${id}`, { body: { status: 'DELIVERED' }, headers: { 'If-Match': '"v1"' } });
    expect(patch.status).toBe(422);
    expect(((await patch.json()) as { errors: unknown }).errors).toEqual([{ path: 'status', message: 'is not a recognised field' }]);
  });

  it('devices: the MQTT secret is shown once at provisioning and rotation, stored only hashed; revoke', async () => {
    const response = await api.call('acme-manager', 'POST', '/api/v1/devices', { body: { name: 'Tank sensor', mqttUsername: `dev-${run.toLowerCase()}` } });
    expect(response.status).toBe(201);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const device = (await response.json()) as { id: string; mqtt: { username: string; secret: string; topic: string } };
    expect(device.mqtt.topic).toBe(`safeshipper/v1/devices/dev-${run.toLowerCase()}/telemetry`);
    const stored = (await owner.query('SELECT secret_hash FROM devices WHERE id = $1', [device.id])).rows[0] as { secret_hash: string };
    expect(stored.secret_hash).toMatch(/^hmac-sha256\$/);
    expect(stored.secret_hash).not.toContain(device.mqtt.secret);
    const read = (await (await api.call('acme-viewer', 'GET', `/api/v1/devices/${device.id}`)).json()) as Record<string, unknown>;
    expect(read).not.toHaveProperty('mqtt');
    expect(JSON.stringify(read)).not.toContain(device.mqtt.secret);
    const rotated = (await (await api.call('acme-manager', 'POST', `/api/v1/devices/${device.id}/rotate-secret`)).json()) as { mqtt: { secret: string } };
    expect(rotated.mqtt.secret).not.toBe(device.mqtt.secret);
    const revoked = (await (await api.call('acme-manager', 'POST', `/api/v1/devices/${device.id}/revoke`)).json()) as { status: string };
    expect(revoked.status).toBe('REVOKED');
    const events = await owner.query(`SELECT action FROM audit_log WHERE entity_id = $1 ORDER BY id`, [device.id]);
    expect(events.rows.map((row) => row.action)).toEqual(['create', 'security.device_secret_issued', 'security.device_secret_issued', 'security.device_revoked']);
  });

  it('the audit chain verifies, and an edit made directly in SQL breaks it where it happened', async () => {
    const before = (await (await api.call('acme-admin', 'GET', '/api/v1/audit-log/verify')).json()) as { valid: boolean; entries: number };
    expect(before.valid).toBe(true);
    expect(before.entries).toBeGreaterThan(5);
    const target = (await owner.query(`SELECT id, after FROM audit_log WHERE company_id = $1 AND action = 'create' ORDER BY id DESC LIMIT 1`, [ACME])).rows[0] as { id: string; after: unknown };
    await owner.query(`UPDATE audit_log SET after = '{"registration":"FORGED"}' WHERE id = $1`, [target.id]);
    try {
      const after = (await (await api.call('acme-admin', 'GET', '/api/v1/audit-log/verify')).json()) as { valid: boolean; firstBreak: { id: number; reason: string } };
      expect(after).toMatchObject({ valid: false, firstBreak: { id: Number(target.id), reason: 'hash-mismatch' } });
    } finally {
      // Put the entry back (the owner can; the app role cannot): the chain verifies again.
      await owner.query(`UPDATE audit_log SET after = $2 WHERE id = $1`, [target.id, JSON.stringify(target.after)]);
      expect(((await (await api.call('acme-admin', 'GET', '/api/v1/audit-log/verify')).json()) as { valid: boolean }).valid).toBe(true);
    }
  });

  it('the app role cannot rewrite or delete audit entries', async () => {
    const app = new pg.Client({ connectionString: testEnv().DATABASE_URL });
    await app.connect();
    try {
      await app.query(`SELECT set_config('app.current_company_id', $1, false)`, [ACME]);
      await expect(app.query(`UPDATE audit_log SET action = 'x'`)).rejects.toThrow(/permission denied/);
      await expect(app.query(`DELETE FROM audit_log`)).rejects.toThrow(/permission denied/);
    } finally {
      await app.end();
    }
  });
});
