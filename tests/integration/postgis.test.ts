import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import type { Database } from '../../db/orm.js';
import { inTenant } from '../../db/orm.js';
import { geofencesNear } from '../../db/geofences.js';
import { GeofenceSchema } from '../../db/entities.js';
import { ACME, BOREAL, testDatabase, testEnv } from '../support/stack.js';

const BURNLEY = { lon: 145.0067, lat: -37.8277 };

describe('PostgreSQL + PostGIS through the data layer', () => {
  let db: Database;
  beforeAll(async () => {
    db = await testDatabase();
  });
  afterAll(async () => {
    await db.close();
  });

  it('finds a DG-restricted geofence with ST_DWithin, nearest first, with distances in metres', async () => {
    // A zone of this test's own, where no other test draws (other files add Acme geofences around Melbourne to this run's database):
    // the tunnel's shape (±0.006° around its centre) moved to the Simpson Desert.
    const centre = { lon: 136.5, lat: BURNLEY.lat + 12 };
    const name = `Desert zone ${Date.now().toString(36)}`;
    await inTenant(db, ACME, (em) =>
      em.execute(`INSERT INTO geofences (company_id, name, kind, area) VALUES (?, ?, 'RESTRICTED_DG', ST_Buffer(ST_SetSRID(ST_MakePoint(?, ?), 4326), 0.006, 'endcap=square join=mitre')::geography)`, [ACME, name, centre.lon, centre.lat]),
    );
    // 0.004° of longitude east of the zone's edge at this latitude is ~401 m away.
    const justEast = { lon: centre.lon + 0.006 + 0.004, lat: centre.lat };
    const within = await inTenant(db, ACME, (em) => geofencesNear(em, ACME, justEast, 500));
    expect(within.map((fence) => [fence.name, fence.kind])).toEqual([[name, 'RESTRICTED_DG']]);
    expect(within[0]!.distanceM).toBeGreaterThan(395);
    expect(within[0]!.distanceM).toBeLessThan(410);
    const tooFar = await inTenant(db, ACME, (em) => geofencesNear(em, ACME, justEast, 380));
    expect(tooFar).toEqual([]);
  });

  it('never shows one company the geofences of another', async () => {
    const fromBoreal = await inTenant(db, BOREAL, (em) => geofencesNear(em, BOREAL, BURNLEY, 50_000));
    // Other test files add Boreal geofences to this run's database: assert on Acme's, which must never appear.
    const names = fromBoreal.map((fence) => fence.name);
    expect(names).toContain('Boreal Dandenong depot');
    expect(names).not.toContain('Burnley Tunnel (DG prohibited)');
    expect(names).not.toContain('Acme Laverton depot');
    // Even asking for Acme's rows while acting as Boreal: row-level security returns nothing.
    const crossAttempt = await inTenant(db, BOREAL, (em) => geofencesNear(em, ACME, BURNLEY, 50_000));
    expect(crossAttempt).toEqual([]);
  });

  it('row-level security hides every tenant row from the app role when no company is set', async () => {
    const client = new pg.Client({ connectionString: testEnv().DATABASE_URL });
    await client.connect();
    try {
      const { rows } = await client.query('SELECT count(*)::int AS n FROM geofences');
      expect(rows[0].n).toBe(0);
      await expect(client.query(`INSERT INTO geofences (company_id, name, kind, area) VALUES ($1, 'x', 'DEPOT', ST_GeogFromText('POLYGON((0 0,0 1,1 1,1 0,0 0))'))`, [ACME])).rejects.toThrow(/row-level security/);
    } finally {
      await client.end();
    }
  });

  it('the ORM refuses a tenant-owned query made without a company', async () => {
    await expect(db.em.fork().find(GeofenceSchema, {})).rejects.toThrow(/tenant/);
  });
});
