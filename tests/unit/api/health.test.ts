import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import Koa from 'koa';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { healthRoutes } from '../../../api/routes/health.js';
import type { ApiState } from '../../../api/routing.js';

/** Readiness through a real Koa server; the log lines are captured to check where the detail goes. */
async function ready(checks: Parameters<typeof healthRoutes>[0]) {
  const lines: Array<Record<string, unknown>> = [];
  const log = pino({ level: 'info' }, new Writable({ write: (chunk: Buffer, _encoding, done) => { lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>); done(); } }));
  const app = new Koa<ApiState>();
  app.use(healthRoutes(checks, log, { timeoutMs: 200 }).routes());
  const server = app.listen(0, '127.0.0.1');
  servers.push(server);
  await new Promise((resolve) => server.once('listening', resolve));
  const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/health/ready`);
  return { status: response.status, body: (await response.json()) as unknown, text: JSON.stringify(lines), lines };
}
const servers: Array<ReturnType<Koa['listen']>> = [];
afterEach(() => {
  for (const server of servers.splice(0)) server.close();
});

describe('/health/ready', () => {
  it('names the failing part in fixed words and keeps the error text out of the answer (it goes to the log)', async () => {
    const secretish = 'password authentication failed for user "safeshipper_app" at 10.20.30.40:5432';
    const result = await ready({
      postgres: () => Promise.reject(new Error(secretish)),
      temporal: () => new Promise(() => undefined),
      keycloak: () => Promise.resolve(),
    });
    expect(result.status).toBe(503);
    expect(result.body).toEqual({
      status: 'not ready',
      failing: ['postgres', 'temporal'],
      components: { postgres: { status: 'down', reason: 'check failed' }, temporal: { status: 'down', reason: 'no answer in time' }, keycloak: { status: 'up' } },
    });
    expect(result.lines).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ level: 50, component: 'postgres', msg: 'readiness check failed', err: expect.objectContaining({ message: secretish }) }),
        expect.objectContaining({ level: 50, component: 'temporal', msg: 'readiness check failed', err: expect.objectContaining({ message: 'no answer within 200 ms' }) }),
      ]),
    );
  });

  it('answers ready when every part answers, and logs nothing', async () => {
    const result = await ready({ postgres: () => Promise.resolve(), keycloak: () => Promise.resolve() });
    expect(result).toMatchObject({ status: 200, body: { status: 'ready', components: { postgres: { status: 'up' }, keycloak: { status: 'up' } } }, lines: [] });
  });
});
