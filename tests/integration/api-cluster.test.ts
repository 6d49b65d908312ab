import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { get } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { passwordToken, testEnv } from '../support/stack.js';

// `services/main.ts api` with API_WORKERS=2, as production runs it: a primary and two workers sharing one port.
interface LogLine {
  msg: string;
  pid?: number;
  requestId?: string;
  url?: string;
  workers?: number[];
  replaced?: number;
}

let primary: ChildProcess;
const lines: LogLine[] = [];
let base = '';
let workers: number[] = [];

/** Polls the primary's log (every process writes to it) until a line matches; the test's own timeout bounds the wait. */
async function logLine(matches: (line: LogLine) => boolean): Promise<LogLine> {
  for (;;) {
    const found = lines.find(matches);
    if (found) return found;
    if (primary.exitCode !== null) throw new Error(`the API exited (${primary.exitCode}); log:\n${lines.map((line) => JSON.stringify(line)).join('\n')}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** One request on a connection of its own (the cluster hands out connections, not requests); answers its status. */
const healthOnNewConnection = (requestId: string) =>
  new Promise<number>((resolve, reject) => {
    get(`${base}/health`, { agent: false, headers: { 'X-Request-Id': requestId } }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode!));
    }).on('error', reject);
  });

/** Sends `count` requests and answers the pids of the workers that served them, from the workers' request logs. */
async function servedBy(prefix: string, count: number): Promise<Set<number>> {
  const ids = Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
  const statuses = await Promise.all(ids.map(healthOnNewConnection));
  expect(statuses).toEqual(ids.map(() => 200));
  const served = await Promise.all(ids.map((id) => logLine((line) => line.msg === 'request' && line.requestId === id)));
  return new Set(served.map((line) => line.pid!));
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

beforeAll(async () => {
  primary = spawn(process.execPath, ['--import', 'tsx', 'services/main.ts', 'api'], {
    env: { ...process.env, ...testEnv(), API_WORKERS: '2', API_PORT: '0', API_HOST: '127.0.0.1', LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let pending = '';
  primary.stdout!.on('data', (chunk: Buffer) => {
    pending += chunk.toString('utf8');
    const complete = pending.split('\n');
    pending = complete.pop()!;
    for (const line of complete) if (line.startsWith('{')) lines.push(JSON.parse(line) as LogLine);
  });
  const listening = await logLine((line) => line.msg === 'api cluster listening');
  base = listening.url!.replace('localhost', '127.0.0.1');
  workers = listening.workers!;
});

afterAll(async () => {
  if (primary.exitCode === null) {
    primary.kill('SIGKILL');
    await new Promise((resolve) => primary.once('exit', resolve));
  }
  for (const line of lines) if (line.pid && alive(line.pid)) process.kill(line.pid, 'SIGKILL');
});

describe('the API as a cluster (API_WORKERS=2)', () => {
  it('serves requests from both worker processes', async () => {
    expect(workers).toHaveLength(2);
    expect(workers).not.toContain(primary.pid);
    expect(await servedBy('spread', 20)).toEqual(new Set(workers));
  });

  it('answers GET /shipments/{id} (no ORM) exactly as the create answered it, and only within the company', async () => {
    const operator = await passwordToken('acme-operator');
    const created = await fetch(`${base}/api/v1/shipments`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${operator}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({
        shipmentNumber: `CL-${randomUUID().slice(0, 8)}`,
        origin: { address: 'Laverton North VIC', location: [144.7689123, -37.8591456] },
        destination: { address: 'Dandenong VIC', location: [145.21, -37.99] },
        pickupAt: '2026-12-01T08:00:00.123Z',
        deliverBy: '2026-12-01T22:30:00.5+10:00',
      }),
    });
    expect(created.status, await created.clone().text()).toBe(201);
    const shipment = (await created.json()) as { id: string };
    const read = await fetch(`${base}/api/v1/shipments/${shipment.id}`, { headers: { Authorization: `Bearer ${await passwordToken('acme-viewer')}` } });
    expect(read.status).toBe(200);
    expect(read.headers.get('etag')).toBe(created.headers.get('etag'));
    expect(await read.json()).toEqual(shipment);
    const foreign = await fetch(`${base}/api/v1/shipments/${shipment.id}`, { headers: { Authorization: `Bearer ${await passwordToken('boreal-viewer')}` } });
    expect(foreign.status).toBe(404);
  });

  it('replaces a worker that dies and keeps serving', async () => {
    const [killed, survivor] = workers as [number, number];
    process.kill(killed, 'SIGKILL');
    const replaced = await logLine((line) => line.msg === 'api worker replaced' && line.replaced === killed);
    expect(alive(killed)).toBe(false);
    expect(replaced.pid).not.toBe(killed);
    workers = [survivor, replaced.pid!];
    expect(await servedBy('after-kill', 20)).toEqual(new Set(workers));
  });

  it('stops every worker and exits cleanly on SIGTERM', async () => {
    const exited = new Promise<number | null>((resolve) => primary.once('exit', (code) => resolve(code)));
    primary.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(workers.filter(alive)).toEqual([]);
    expect(lines.filter((line) => line.msg === 'api worker draining').map((line) => line.pid).sort()).toEqual([...workers].sort());
  });
});
