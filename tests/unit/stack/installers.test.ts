import { spawn } from 'node:child_process';
import { access, appendFile, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createAptInstaller, type CommandRunner } from '../../../infra/stack/apt.js';
import type { Component } from '../../../infra/stack/component.js';
import { StackError } from '../../../infra/stack/progress.js';
import { loadSecrets } from '../../../infra/stack/secrets.js';
import { ensureDebianPackages } from '../../../infra/stack/stack.js';

/** A fake apt: records every command; packages become installed when `apt-get install` runs. */
function fakeApt(options: { installed?: string[]; listsLockedFor?: number } = {}) {
  const installed = new Set(options.installed ?? []);
  const calls: string[][] = [];
  let lockedUpdates = options.listsLockedFor ?? 0;
  const run: CommandRunner = async (command, args) => {
    calls.push([command, ...args]);
    await new Promise((resolve) => setTimeout(resolve, 5));
    if (command === 'dpkg-query') return { code: 0, output: installed.has(args.at(-1)!) ? 'install ok installed' : 'unknown ok not-installed' };
    if (args[0] === 'update' && lockedUpdates > 0) {
      lockedUpdates -= 1;
      return { code: 100, output: 'E: Could not get lock /var/lib/apt/lists/lock. It is held by process 42 (apt-get)' };
    }
    if (args[0] === 'install') for (const name of args.filter((arg) => !arg.startsWith('-') && arg !== 'install' && !arg.includes('='))) installed.add(name);
    return { code: 0, output: '' };
  };
  const apt = (verb: string) => calls.filter(([command, first]) => command === 'apt-get' && first === verb);
  return { run, calls, apt, installed };
}

async function scratch(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'safeshipper-installers-'));
}

describe('Debian packages: one apt transaction however many components need them', () => {
  it('joins concurrent requests from several components into one update and one install', async () => {
    const dir = await scratch();
    const fake = fakeApt();
    const aptInstall = createAptInstaller({ run: fake.run, lockPath: join(dir, 'apt'), isRoot: true });
    const log = join(dir, 'apt.log');
    await Promise.all([
      aptInstall(['postgresql-15', 'postgresql-15-postgis-3', 'postgresql-15-partman'], log),
      aptInstall(['redis-server'], log),
      aptInstall(['mosquitto'], log),
    ]);
    expect(fake.apt('update')).toHaveLength(1);
    expect(fake.apt('install')).toHaveLength(1);
    expect(fake.apt('install')[0]).toEqual([
      'apt-get', 'install', '-y', '-q', '--no-install-recommends', '-o', 'DPkg::Lock::Timeout=600',
      'mosquitto', 'postgresql-15', 'postgresql-15-partman', 'postgresql-15-postgis-3', 'redis-server',
    ]);
    expect(fake.apt('update')[0]).toContain('DPkg::Lock::Timeout=600');
  });

  it('gathers what every component lacks before installing anything (the stack start)', async () => {
    const dir = await scratch();
    const present = join(dir, 'present');
    await writeFile(present, '');
    const component = (name: string, packages: string[], files: string[]): Component => ({
      name, title: name, log: '', url: () => '', debian: { packages, files },
      running: async () => false, start: async () => undefined, stop: async () => false, health: async () => ({ ok: true, detail: '' }),
    });
    const requests: string[][] = [];
    const packages = await ensureDebianPackages(
      [
        component('postgres', ['postgresql-15', 'postgresql-15-postgis-3'], [present, join(dir, 'missing-postgis')]),
        component('redis', ['redis-server'], [join(dir, 'missing-redis')]),
        component('temporal', ['unused'], [present]),
      ],
      join(dir, 'apt.log'),
      async (wanted) => {
        requests.push(wanted);
      },
    );
    expect(requests).toEqual([['postgresql-15', 'postgresql-15-postgis-3', 'redis-server']]);
    expect(packages).toEqual(['postgresql-15', 'postgresql-15-postgis-3', 'redis-server']);
  });

  it('waits for another apt holding the package lists instead of failing', async () => {
    const dir = await scratch();
    const fake = fakeApt({ listsLockedFor: 2 });
    const aptInstall = createAptInstaller({ run: fake.run, lockPath: join(dir, 'apt'), isRoot: true, retryMs: 10 });
    await aptInstall(['redis-server'], join(dir, 'apt.log'));
    expect(fake.apt('update')).toHaveLength(3);
    expect(fake.apt('install')).toHaveLength(1);
    expect(await readFile(join(dir, 'apt.log'), 'utf8')).toContain('Could not get lock');
  });

  it('installs nothing when another process installed the packages while this one waited', async () => {
    const dir = await scratch();
    const fake = fakeApt({ installed: ['redis-server'] });
    const aptInstall = createAptInstaller({ run: fake.run, lockPath: join(dir, 'apt'), isRoot: true });
    await aptInstall(['redis-server'], join(dir, 'apt.log'));
    expect(fake.apt('update')).toHaveLength(0);
    expect(fake.apt('install')).toHaveLength(0);
  });

  it('names the packages and the command to run when not root', async () => {
    const dir = await scratch();
    const fake = fakeApt();
    const aptInstall = createAptInstaller({ run: fake.run, lockPath: join(dir, 'apt'), isRoot: false });
    const failure = await aptInstall(['redis-server'], join(dir, 'apt.log')).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(StackError);
    expect((failure as StackError).message).toBe('missing Debian packages: redis-server');
    expect((failure as StackError).fix).toContain('sudo apt-get install -y redis-server');
    expect(fake.calls).toHaveLength(0);
  });

  it('a failed install fails every component waiting on it, with the log named', async () => {
    const dir = await scratch();
    const run: CommandRunner = async (command, args) =>
      command === 'apt-get' && args[0] === 'install' ? { code: 100, output: 'E: Unable to locate package nosuch' } : { code: 0, output: '' };
    const aptInstall = createAptInstaller({ run, lockPath: join(dir, 'apt'), isRoot: true });
    const results = await Promise.allSettled([aptInstall(['nosuch'], join(dir, 'apt.log')), aptInstall(['redis-server'], join(dir, 'apt.log'))]);
    for (const result of results) {
      expect(result.status).toBe('rejected');
      expect(((result as PromiseRejectedResult).reason as StackError).logFile).toBe(join(dir, 'apt.log'));
    }
  });
});

/** Runs a small script in its own Node process (the way two `npm start`s are two processes). */
function processRun(script: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, '--', ...args], { stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`child exited ${code}`))));
  });
}

// Each test starts three or four Node processes with tsx: seconds on a busy 2-core machine, past the unit project's 5 s default.
describe('installers started side by side in separate processes', { timeout: 60_000 }, () => {
  const locksModule = new URL('../../../infra/stack/locks.ts', import.meta.url).href;
  const secretsModule = new URL('../../../infra/stack/secrets.ts', import.meta.url).href;

  it('run an install once: the second process waits, then finds it done', async () => {
    const dir = await scratch();
    // Each process: under the lock, install (slowly) only when the stamp is missing — as the venv and Keycloak installers do.
    const script = `
      import { access, appendFile, writeFile } from 'node:fs/promises';
      const { withLock } = await import(${JSON.stringify(locksModule)});
      const [dir] = process.argv.slice(-1);
      await withLock(dir + '/install', 'test install', async () => {
        const done = await access(dir + '/stamp').then(() => true, () => false);
        if (done) return;
        await appendFile(dir + '/installs', 'x');
        await new Promise((r) => setTimeout(r, 400));
        await writeFile(dir + '/stamp', 'done');
      });`;
    await Promise.all([processRun(script, [dir]), processRun(script, [dir]), processRun(script, [dir])]);
    expect(await readFile(join(dir, 'installs'), 'utf8')).toBe('x');
    await access(join(dir, 'stamp'));
  });

  it('agree on one set of stack secrets', async () => {
    const dir = await scratch();
    const script = `
      import { appendFile } from 'node:fs/promises';
      const { loadSecrets } = await import(${JSON.stringify(secretsModule)});
      const [dir] = process.argv.slice(-1);
      const secrets = await loadSecrets(dir + '/secrets.json');
      await appendFile(dir + '/seen', secrets.appPassword + '\\n');`;
    await Promise.all([processRun(script, [dir]), processRun(script, [dir]), processRun(script, [dir]), processRun(script, [dir])]);
    const seen = (await readFile(join(dir, 'seen'), 'utf8')).trim().split('\n');
    expect(seen).toHaveLength(4);
    expect(new Set(seen).size).toBe(1);
    expect((await loadSecrets(join(dir, 'secrets.json'))).appPassword).toBe(seen[0]);
  });

  it('a lock held by a process that died is taken over', async () => {
    const dir = await scratch();
    const script = `
      const { withLock } = await import(${JSON.stringify(locksModule)});
      const [dir] = process.argv.slice(-1);
      await withLock(dir + '/install', 'test', async () => process.kill(process.pid, 'SIGKILL'));`;
    await expect(processRun(script, [dir])).rejects.toThrow(/child exited/);
    await access(join(dir, 'install.lock'));
    const { withLock } = await import('../../../infra/stack/locks.js');
    await withLock(join(dir, 'install'), 'test', async () => appendFile(join(dir, 'after'), 'ok'), 60_000);
    expect(await readFile(join(dir, 'after'), 'utf8')).toBe('ok');
  }, 90_000);
});
