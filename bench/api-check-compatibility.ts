// Throughput of POST /api/v1/dangerous-goods/check-compatibility with auth, as a client sees it:
// the API runs in its own process (as `npm run api` does), autocannon drives it from this one.
// Needs the local stack (npm run stack -- up) with the catalogue loaded (npm start once).
// Run: npx tsx bench/api-check-compatibility.ts
import { spawn } from 'node:child_process';
import autocannon from 'autocannon';
import { stackContext, stackEnvironment } from '../infra/stack/stack.js';

const env = stackEnvironment(await stackContext());
const port = 3190;
const api = spawn(process.execPath, ['--import', 'tsx', 'services/main.ts', 'api'], { env: { ...process.env, ...env, API_PORT: String(port), API_HOST: '127.0.0.1', LOG_LEVEL: 'warn', RATE_LIMIT_READ_PER_MINUTE: '1000000', RATE_LIMIT_COMPUTE_PER_MINUTE: '1000000', RATE_LIMIT_KEY_PREFIX: `bench:${Date.now()}` }, stdio: 'inherit' });

async function waitForApi(): Promise<void> {
  for (let i = 0; i < 100; i += 1) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/health`)).ok) return;
    } catch {
      /* not yet */
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error('API did not start');
}

const tokenResponse = await fetch(`${env.OIDC_ISSUER}/protocol/openid-connect/token`, {
  method: 'POST',
  body: new URLSearchParams({ grant_type: 'password', client_id: 'safeshipper-dev', username: 'acme-operator', password: 'demo-password' }),
});
const { access_token: token } = (await tokenResponse.json()) as { access_token: string };

const catalogueSample = ['UN1203', 'UN1017', 'UN1090', 'UN1830', 'UN1114', 'UN1942', 'UN2067', 'UN1428', 'UN1823', 'UN3381', 'UN1805', 'UN1495', 'UN2794', 'UN1075', 'UN1072'];
// Mixed: 15 entries from many classes, repeated (a 100-item load has ~2,300 conflicts, a 0.9 MB answer).
// Flammable: 100 Class 3 lines, the usual shape of a tanker or drum load (compatible, small answer).
const FLAMMABLE = ['UN1203', 'UN1090', 'UN1114', 'UN1170', 'UN1219', 'UN1268', 'UN1294', 'UN1307'];
const load = (size: number, kind: 'mixed' | 'flammable') => {
  const sample = kind === 'mixed' ? catalogueSample : FLAMMABLE;
  return { items: Array.from({ length: size }, (_, i) => ({ unNumber: sample[i % sample.length], state: 'liquid' })) };
};

try {
  await waitForApi();
  for (const [size, kind, connections] of [[2, 'mixed', 20], [10, 'mixed', 20], [100, 'flammable', 20], [100, 'mixed', 20]] as const) {
    const body = JSON.stringify(load(size, kind));
    const check = await fetch(`http://127.0.0.1:${port}/api/v1/dangerous-goods/check-compatibility`, { method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, body });
    if (check.status !== 200) throw new Error(`warm-up answered ${check.status}: ${await check.text()}`);
    const result = await autocannon({
      url: `http://127.0.0.1:${port}/api/v1/dangerous-goods/check-compatibility`,
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body,
      connections,
      duration: 10,
    });
    const non2xx = result.non2xx + result.errors;
    console.log(
      `${String(size).padStart(3)} items (${kind.padEnd(9)}), ${connections} connections: ${result.requests.average.toFixed(0)} checks/s  ` +
        `latency p50 ${result.latency.p50} ms  p99 ${result.latency.p99} ms  (${result.requests.total} requests, ${non2xx} not 2xx)`,
    );
  }
} finally {
  api.kill('SIGTERM');
}
