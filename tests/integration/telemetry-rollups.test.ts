import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { telemetryActivities } from '../../activities/telemetry.js';
import { openDatabase, type Database } from '../../db/orm.js';
import { vehicleTrack } from '../../db/telemetry-read.js';
import { isolatedDatabase, testEnv } from '../support/stack.js';

const HOUR = 3_600_000;

/**
 * Rollups and retention change every company's rows and drop partitions: in a database of their
 * own, with the real activities, the workflow on the time-skipping server.
 */
describe('telemetry rollups and retention (the hourly telemetry-rollup workflow)', () => {
  let database: Awaited<ReturnType<typeof isolatedDatabase>>;
  let owner: pg.Client;
  let db: Database;
  let env: TestWorkflowEnvironment;
  let worker: Worker;
  let running: Promise<void>;
  const company = randomUUID();
  const device = randomUUID();
  const vehicle = randomUUID();
  const current = Math.floor(Date.now() / HOUR) * HOUR;
  const hour = current - 2 * HOUR;
  const at = (ms: number) => new Date(ms).toISOString();

  const insertPoint = (recordedAt: number, lon: number | null, speed: number | null, temperature: number | null, heading = 90) =>
    owner.query(
      `INSERT INTO telemetry_points (company_id, device_id, vehicle_id, recorded_at, location, speed_kmh, heading_deg, temperature_c)
       VALUES ($1, $2, $3, $4, CASE WHEN $5::float8 IS NULL THEN NULL ELSE ST_SetSRID(ST_MakePoint($5::float8, -37.8), 4326)::geography END, $6, $7, $8)`,
      [company, device, vehicle, at(recordedAt), lon, speed, heading, temperature],
    );
  const runWorkflow = () => env.client.workflow.execute('telemetryRollupWorkflow', { taskQueue: 'telemetry-rollups', workflowId: `telemetry-rollup-${randomUUID()}`, args: [] });
  const rollup = async () =>
    (
      await owner.query(
        `SELECT points, first_at AS "firstAt", last_at AS "lastAt", fix_at AS "fixAt", ST_X(fix_location::geometry) AS lon, fix_speed_kmh AS "fixSpeedKmh", fix_heading_deg AS "fixHeadingDeg",
                avg_speed_kmh AS "avgSpeedKmh", max_speed_kmh AS "maxSpeedKmh", min_temperature_c AS "minTemperatureC", max_temperature_c AS "maxTemperatureC"
           FROM telemetry_hourly WHERE device_id = $1 AND hour = $2`,
        [device, at(hour)],
      )
    ).rows;

  beforeAll(async () => {
    Runtime.install({ logger: new DefaultLogger('ERROR') });
    [database, env] = await Promise.all([
      isolatedDatabase(`rollups_${Date.now().toString(36)}`),
      TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path: testEnv().TEMPORAL_TEST_SERVER_PATH! } } }),
    ]);
    owner = new pg.Client({ connectionString: database.ownerUrl });
    await owner.connect();
    db = await openDatabase({ url: database.url, poolSize: 2 });
    await owner.query(`INSERT INTO companies (id, name) VALUES ($1, 'Rollup Co')`, [company]);
    worker = await Worker.create({ connection: env.nativeConnection, taskQueue: 'telemetry-rollups', workflowBundle: inject('workflowBundle'), activities: telemetryActivities(db, { rawDays: 2, rollupDays: 30, lookbackHours: 4 }) });
    running = worker.run();
  });
  afterAll(async () => {
    worker?.shutdown();
    await running;
    await env?.teardown();
    await db?.close();
    await owner?.end();
    await database?.drop();
  });

  it('rolls each ended hour up (a late point counted on the next run), drops what is past retention, and long tracks read the rollups', async () => {
    await insertPoint(hour + 10 * 60_000, 144.1, 50, 4);
    await insertPoint(hour + 20 * 60_000, null, null, 9);
    await insertPoint(hour + 30 * 60_000, 144.3, 70, 5, 180);
    await insertPoint(current + 1000, 144.9, 20, 5); // the current hour: still filling, not rolled up
    await insertPoint(Date.now() - 30 * 86_400_000, 140, 10, 5); // older than every partition (the default one), and than 2 days
    await owner.query(`INSERT INTO telemetry_hourly (company_id, device_id, hour, points, first_at, last_at) VALUES ($1, $2, $3, 1, $3, $3)`, [company, device, at(current - 40 * 86_400_000)]);

    // Road events: one sent long ago (aged out with its points), one sent today, one never sent (kept whatever its age: it is not delivered yet).
    const event = (occurredAt: number, sentAt: number | null) =>
      owner.query(`INSERT INTO telemetry_events (company_id, kind, device_id, vehicle_id, occurred_at, workflow_id, sent_at, outcome) VALUES ($1, 'shipment.position', $2, $3, $4, 'shipment-x', $5, $6) RETURNING id`, [company, device, vehicle, at(occurredAt), sentAt === null ? null : at(sentAt), sentAt === null ? null : 'signalled']);
    const sentLongAgo = (await event(Date.now() - 30 * 86_400_000, Date.now() - 30 * 86_400_000)).rows[0].id as string;
    await event(Date.now() - 60_000, Date.now() - 30_000);
    await event(Date.now() - 30 * 86_400_000, null);

    expect(await runWorkflow()).toEqual({ rollupRows: 1, partitionsDropped: 1, rollupRowsDeleted: 1, sentEventsDeleted: 1 });
    const events = await owner.query(`SELECT id, sent_at IS NULL AS unsent FROM telemetry_events WHERE device_id = $1 ORDER BY id`, [device]);
    expect(events.rows.map((row) => row.unsent)).toEqual([false, true]);
    expect(events.rows.map((row) => row.id)).not.toContain(sentLongAgo);
    expect(await rollup()).toEqual([
      { points: 3, firstAt: new Date(hour + 10 * 60_000), lastAt: new Date(hour + 30 * 60_000), fixAt: new Date(hour + 30 * 60_000), lon: 144.3, fixSpeedKmh: 70, fixHeadingDeg: 180, avgSpeedKmh: 60, maxSpeedKmh: 70, minTemperatureC: 4, maxTemperatureC: 9 },
    ]);
    const remaining = await owner.query(`SELECT (SELECT count(*)::int FROM telemetry_points WHERE device_id = $1) AS points, (SELECT count(*)::int FROM telemetry_hourly WHERE device_id = $1) AS rollups, (SELECT rolled_until FROM telemetry_rollup_state) AS "rolledUntil"`, [device]);
    expect(remaining.rows).toEqual([{ points: 4, rollups: 1, rolledUntil: new Date(current) }]);

    // A point that arrives late for its hour is counted when the window is rolled again; nothing else changes.
    await insertPoint(hour + 40 * 60_000, 144.4, 100, 3, 270);
    expect(await runWorkflow()).toEqual({ rollupRows: 1, partitionsDropped: 0, rollupRowsDeleted: 0, sentEventsDeleted: 0 });
    expect(await rollup()).toEqual([expect.objectContaining({ points: 4, lastAt: new Date(hour + 40 * 60_000), fixAt: new Date(hour + 40 * 60_000), lon: 144.4, fixSpeedKmh: 100, fixHeadingDeg: 270, avgSpeedKmh: expect.closeTo(220 / 3, 4), maxSpeedKmh: 100, minTemperatureC: 3, maxTemperatureC: 9 })]);

    // Ten days and an hour in two points: buckets of 121 hours (whole hours), the rolled-up hours from the rollups, the hour still filling from its points.
    const track = await vehicleTrack(db, company, vehicle, new Date(current - 10 * 86_400_000), new Date(current + HOUR), 2);
    expect(track).toEqual({
      resolution: 'hourly',
      bucketSeconds: 121 * 3600,
      points: [
        { at: at(hour + 40 * 60_000), lat: -37.8, lon: 144.4, speedKmh: 100, headingDeg: 270 },
        { at: at(current + 1000), lat: -37.8, lon: 144.9, speedKmh: 20, headingDeg: 90 },
      ],
    });
  });
});
