import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../../bin/safeshipper.js', import.meta.url));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the real CLI through the bin shim, from another directory, feeding `stdin`. */
function cli(args: string[], stdin: string | null, env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: tmpdir(), stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    if (stdin !== null) child.stdin.end(stdin);
    else child.stdin.end();
  });
}

const EXAMPLE = { items: [{ unNumber: 'UN1203', packingGroup: 'II', quantity: 200, unit: 'L', state: 'liquid', food: false, limitedQuantity: false, receptacleCapacity: 20 }] };
// Generous: each case spawns a Node process, and on a 2-core machine other test files run beside this one.
const T = 90_000;

describe.concurrent('safeshipper dg (spawned CLI)', () => {
  it('check-compatibility --regime 49cfr: the documented example, exit 0, JSON on stdout, nothing on stderr', async () => {
    const r = await cli(['dg', 'check-compatibility', '--regime', '49cfr'], JSON.stringify(EXAMPLE));
    const basis = [
      { rule: 'class-segregation', applies: true, message: 'every pair, on primary and subsidiary hazards, at any quantity', citation: '49 CFR 177.848' },
      { rule: 'food', applies: false, message: 'no food, feed or edible material in the load', citation: '49 CFR 177.841(e)' },
    ];
    expect(r).toEqual({ code: 0, stdout: `${JSON.stringify({ regime: '49cfr', compatible: true, verdict: 'COMPATIBLE', conflicts: [], indeterminate: [], notes: [], basis }, null, 2)}\n`, stderr: '' });
  }, T);

  it('check-compatibility: an incompatible load is still exit 0; the answer is in the JSON (177.848(d))', async () => {
    const r = await cli(['dg', 'check-compatibility', '--regime', '49cfr'], JSON.stringify({ items: [{ unNumber: 'UN1017' }, { unNumber: 'UN0081' }] }));
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout) as { verdict: string; conflicts: { items: number[]; code: string; citation: string }[] };
    expect(out.verdict).toBe('INCOMPATIBLE');
    expect(out.conflicts.map((c) => [c.items, c.code, c.citation])).toEqual([[[0, 1], 'X', '49 CFR 177.848(d)']]);
  }, T);

  it('unknown UN number: exit 2, message on stderr, nothing on stdout', async () => {
    expect(await cli(['dg', 'check-compatibility', '--regime', 'adg'], JSON.stringify({ items: [{ unNumber: 'UN9999' }] }))).toEqual({
      code: 2,
      stdout: '',
      stderr: 'safeshipper: items could not be resolved against 49 CFR 172.101\n  items[0].unNumber: UN9999 is not in the 49 CFR 172.101 Hazardous Materials Table\n',
    });
  }, T);

  it('ambiguous UN number: exit 2 and what would pick one', async () => {
    const r = await cli(['dg', 'check-compatibility', '--regime', 'adg'], JSON.stringify({ items: [{ unNumber: 'UN1005' }] }));
    expect([r.code, r.stdout]).toEqual([2, '']);
    expect(r.stderr).toContain('items[0].unNumber: UN1005 has 2 172.101 entries that differ in hazardClass, subsidiaryRisks, inhalationHazardZone; give hazardClass or variant to pick one');
  }, T);

  it('malformed JSON: exit 2', async () => {
    const r = await cli(['dg', 'check-compatibility'], '{"items": [');
    expect([r.code, r.stdout]).toEqual([2, '']);
    expect(r.stderr).toMatch(/^safeshipper: stdin is not valid JSON: /);
  }, T);

  it('empty stdin: exit 2', async () => {
    expect(await cli(['dg', 'check-compatibility'], '')).toEqual({ code: 2, stdout: '', stderr: 'safeshipper: expected JSON on stdin, got nothing\n' });
  }, T);

  it('bad input: exit 2 with field-level errors', async () => {
    const r = await cli(['dg', 'check-compatibility'], JSON.stringify({ items: [{ unNumber: 'UN1203', quantity: -5, unit: 'lb', extra: 1 }] }));
    expect(r).toEqual({
      code: 2,
      stdout: '',
      stderr: 'safeshipper: invalid load\n  items[0].quantity: Too small: expected number to be >0\n  items[0].unit: Invalid option: expected one of "kg"|"L"\n  items[0].extra: is not a recognised field\n',
    });
  }, T);

  it('10,000 items: refused cleanly, exit 2', async () => {
    const items = Array.from({ length: 10_000 }, () => ({ unNumber: 'UN1203' }));
    expect(await cli(['dg', 'check-compatibility'], JSON.stringify({ items }))).toEqual({ code: 2, stdout: '', stderr: 'safeshipper: invalid load\n  items: must hold at most 1000 items (got 10000)\n' });
  }, T);

  it('placards --regime adg: exit 0', async () => {
    const load = { items: [{ unNumber: 'UN1830', packingGroup: 'II', quantity: 1000, unit: 'L', receptacleCapacity: 200 }] };
    const r = await cli(['dg', 'placards', '--regime', 'adg'], JSON.stringify(load));
    expect([r.code, r.stderr]).toEqual([0, '']);
    const out = JSON.parse(r.stdout) as { regime: string; placardLoad: boolean; placards: { placard: string }[] };
    expect([out.regime, out.placardLoad, out.placards.map((x) => x.placard)]).toEqual(['adg', true, ['CLASS 8 LABEL']]);
  }, T);

  it('placards --regime 49cfr: Table 1 at any quantity, exit 0', async () => {
    const r = await cli(['dg', 'placards', '--regime', '49cfr'], JSON.stringify({ items: [{ unNumber: 'UN1017', quantity: 1, unit: 'kg', grossMass: 6, bulk: false }] }));
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { placardLoad: boolean; placards: { placard: string; citation: string }[] };
    expect([out.placardLoad, out.placards]).toEqual([true, [{ placard: 'POISON GAS', hazardClass: '2.3', items: [0], required: true, citation: '49 CFR 172.504(e) Table 1' }]]);
  }, T);

  it('placards without --regime: exit 2', async () => {
    expect(await cli(['dg', 'placards'], JSON.stringify(EXAMPLE))).toEqual({ code: 2, stdout: '', stderr: 'safeshipper: --regime must be "adg" or "49cfr"\n' });
  }, T);

  it('unknown option: exit 2', async () => {
    const r = await cli(['dg', 'check-compatibility', '--verbose'], JSON.stringify(EXAMPLE));
    expect([r.code, r.stdout]).toEqual([2, '']);
    expect(r.stderr).toContain("Unknown option '--verbose'");
  }, T);

  it('unknown command: exit 2 with usage', async () => {
    const r = await cli(['dg', 'frobnicate'], '{}');
    expect([r.code, r.stdout]).toEqual([2, '']);
    expect(r.stderr).toMatch(/^safeshipper: unknown command "dg frobnicate"\n\nusage:\n/);
  }, T);

  it('dg sync: an http: source is refused before any connection, exit 2', async () => {
    const nowhere = 'postgresql://nobody:x@127.0.0.1:1/none';
    const r = await cli(['dg', 'sync', '--hmt-url', 'http://regulator.example/hmt.jsonl'], null, { DATABASE_CATALOGUE_URL: nowhere });
    expect(r).toEqual({ code: 2, stdout: '', stderr: 'safeshipper: http://regulator.example/hmt.jsonl: only https: URLs are accepted (file: for local copies); http: can be altered in transit\n' });
  }, T);

  it('data: an unknown command or an option of another command is refused, exit 2', async () => {
    expect(await cli(['data', 'rotate'], null)).toMatchObject({ code: 2, stdout: '', stderr: expect.stringMatching(/^safeshipper: unknown command "data rotate"\n/) });
    expect(await cli(['data', 'reencrypt', '--regime', 'adg'], null)).toEqual({ code: 2, stdout: '', stderr: 'safeshipper: --regime does not apply to "data reencrypt"\n' });
    expect(await cli(['dg', 'sync', '--batch-size', '10'], null)).toEqual({ code: 2, stdout: '', stderr: 'safeshipper: --batch-size applies to "data reencrypt" only\n' });
  }, T);

  it('--help: usage on stdout, exit 0', async () => {
    const r = await cli(['--help'], null);
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(r.stdout).toMatch(/^usage:\n {2}safeshipper dg check-compatibility --regime adg\|49cfr < load.json\n/);
  }, T);

  const SMALL_AU_LOAD = { items: [{ unNumber: 'UN1203', quantity: 100, unit: 'kg', receptacleCapacity: 20 }, { unNumber: 'UN2067', quantity: 50, unit: 'kg', receptacleCapacity: 25 }] };

  it('check-compatibility --regime adg: the small Australian load needs no class segregation below the placard threshold', async () => {
    const r = await cli(['dg', 'check-compatibility', '--regime', 'adg'], JSON.stringify(SMALL_AU_LOAD));
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect((JSON.parse(r.stdout) as { regime: string; verdict: string })).toMatchObject({ regime: 'adg', verdict: 'COMPATIBLE' });
  }, T);

  it('check-compatibility with "regime" in the input: the same load under 49 CFR is "O"', async () => {
    const r = await cli(['dg', 'check-compatibility'], JSON.stringify({ regime: '49cfr', ...SMALL_AU_LOAD }));
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect((JSON.parse(r.stdout) as { regime: string; verdict: string })).toMatchObject({ regime: '49cfr', verdict: 'CONDITIONAL' });
  }, T);

  it('check-compatibility without a regime: exit 2, nothing on stdout', async () => {
    expect(await cli(['dg', 'check-compatibility'], JSON.stringify(EXAMPLE))).toEqual({ code: 2, stdout: '', stderr: 'safeshipper: --regime must be "adg" or "49cfr" (or "regime" given in the input)\n' });
  }, T);

  it('check-compatibility --regime uk: exit 2', async () => {
    expect(await cli(['dg', 'check-compatibility', '--regime', 'uk'], JSON.stringify(EXAMPLE))).toEqual({ code: 2, stdout: '', stderr: 'safeshipper: --regime must be "adg" or "49cfr"\n' });
  }, T);

  it('check-compatibility --regime contradicting the input: exit 2', async () => {
    expect(await cli(['dg', 'check-compatibility', '--regime', 'adg'], JSON.stringify({ ...EXAMPLE, regime: '49cfr' }))).toEqual({
      code: 2,
      stdout: '',
      stderr: 'safeshipper: --regime adg contradicts "regime": "49cfr" in the input\n',
    });
  }, T);

  it('check-compatibility with an unknown regime in the input: exit 2, the field named', async () => {
    expect(await cli(['dg', 'check-compatibility'], JSON.stringify({ ...EXAMPLE, regime: 'uk' }))).toEqual({
      code: 2,
      stdout: '',
      stderr: 'safeshipper: invalid load\n  regime: Invalid option: expected one of "adg"|"49cfr"\n',
    });
  }, T);

  it('compliance --regime fills the regime of the input', async () => {
    const shipment = { asOf: '2026-06-15', load: { items: [{ unNumber: 'UN1203', packingGroup: 'II', properShippingName: 'Gasoline', quantity: 10, unit: 'L', receptacleCapacity: 10, receptacleCount: 1 }] } };
    const r = await cli(['dg', 'compliance', '--regime', 'adg'], JSON.stringify(shipment));
    expect([r.code, r.stderr, (JSON.parse(r.stdout) as { regime: string }).regime]).toEqual([0, '', 'adg']);
  }, T);

  it('compliance: a report on stdout, exit 0', async () => {
    const shipment = {
      regime: '49cfr',
      asOf: '2026-06-15',
      load: { items: [{ unNumber: 'UN1203', packingGroup: 'II', properShippingName: 'Gasoline', quantity: 10, unit: 'L', grossMass: 12, receptacleCapacity: 10, receptacleCount: 1 }] },
    };
    const r = await cli(['dg', 'compliance'], JSON.stringify(shipment));
    expect([r.code, r.stderr]).toEqual([0, '']);
    const out = JSON.parse(r.stdout) as { status: string; checks: { id: string }[] };
    expect(out.status).toBe('INCOMPLETE');
    expect(out.checks.map((c) => c.id)).toEqual(['dg-descriptions', 'forbidden', 'segregation', 'placards', 'quantity-limits', 'driver-licence', 'driver-training', 'vehicle-inspection', 'emergency-information', 'emergency-contact']);
  }, T);
});
