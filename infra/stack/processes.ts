import { spawn, type SpawnOptions } from 'node:child_process';
import { createConnection } from 'node:net';
import { mkdir, open, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { StackError } from './progress.js';

/** Runs a command to completion, appending its output to a log; rejects with the log named. */
export async function run(command: string, args: string[], options: SpawnOptions & { log: string }): Promise<void> {
  await mkdir(dirname(options.log), { recursive: true });
  const log = await open(options.log, 'a');
  try {
    await log.write(`\n$ ${command} ${args.join(' ')}\n`);
    const code = await new Promise<number | null>((resolvePromise, reject) => {
      const child = spawn(command, args, { ...options, stdio: ['ignore', log.fd, log.fd] });
      child.on('error', reject);
      child.on('exit', resolvePromise);
    });
    if (code !== 0) throw new StackError(`\`${command} ${args.join(' ')}\` exited with code ${code}`, undefined, options.log);
  } finally {
    await log.close();
  }
}

/** Runs a command and returns its stdout (for version probes and health commands). */
export function capture(command: string, args: string[], options: SpawnOptions = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolvePromise) => {
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk) => (stdout += chunk));
    child.stderr?.on('data', (chunk) => (stderr += chunk));
    child.on('error', (error) => resolvePromise({ code: -1, stdout, stderr: String(error) }));
    child.on('exit', (code) => resolvePromise({ code: code ?? -1, stdout, stderr }));
  });
}

/** Starts a long-running server that outlives this command; its pid goes to a pid file. */
export async function daemon(command: string, args: string[], options: { log: string; pidFile: string; env?: NodeJS.ProcessEnv; cwd?: string }): Promise<number> {
  await mkdir(dirname(options.log), { recursive: true });
  await mkdir(dirname(options.pidFile), { recursive: true });
  const log = await open(options.log, 'a');
  try {
    await log.write(`\n$ ${command} ${args.join(' ')}   (started ${new Date().toISOString()})\n`);
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, detached: true, stdio: ['ignore', log.fd, log.fd] });
    const pid = await new Promise<number>((resolvePromise, reject) => {
      child.on('error', reject);
      child.on('spawn', () => resolvePromise(child.pid as number));
    });
    child.unref();
    await writeFile(options.pidFile, String(pid));
    return pid;
  } finally {
    await log.close();
  }
}

export async function readPid(pidFile: string): Promise<number | undefined> {
  try {
    const pid = Number((await readFile(pidFile, 'utf8')).trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

export function alive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Stops a daemon and its children (it was started as a process-group leader). */
export async function stopDaemon(pidFile: string, graceMs = 20_000): Promise<boolean> {
  const pid = await readPid(pidFile);
  if (!alive(pid)) {
    await rm(pidFile, { force: true });
    return false;
  }
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-(pid as number), signal);
    } catch {
      try {
        process.kill(pid as number, signal);
      } catch {
        /* already gone */
      }
    }
  };
  signalGroup('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (alive(pid) && Date.now() < deadline) await sleep(200);
  if (alive(pid)) signalGroup('SIGKILL');
  await rm(pidFile, { force: true });
  return true;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolvePromise) => setTimeout(resolvePromise, ms));
}

export function portOpen(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const socket = createConnection({ port, host });
    socket.setTimeout(1000);
    socket.once('connect', () => {
      socket.destroy();
      resolvePromise(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolvePromise(false);
    });
    socket.once('error', () => resolvePromise(false));
  });
}

/** Names who holds a port (best effort through `ss`), for the "occupied port" message. */
export async function portHolder(port: number): Promise<string> {
  const { stdout } = await capture('ss', ['-Hltnp', `sport = :${port}`]);
  const match = /users:\(\("([^"]+)",pid=(\d+)/.exec(stdout);
  return match ? `${match[1]} (pid ${match[2]})` : 'another process';
}

/** Fails fast when a port we are about to bind is taken by something that is not ours. */
export async function ensurePortFree(port: number, what: string, envVar: string): Promise<void> {
  if (await portOpen(port)) {
    throw new StackError(
      `port ${port} (${what}) is already in use by ${await portHolder(port)}`,
      `stop that process, or move SafeShipper's ${what} with ${envVar}=<free port>`,
    );
  }
}

export async function httpOk(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(3000) });
    await response.arrayBuffer();
    return response.ok;
  } catch {
    return false;
  }
}

/** Polls until `check` holds; fails naming the component, its log, and whether it died. */
export async function waitFor(what: string, check: () => Promise<boolean>, options: { timeoutMs: number; pid?: number; log: string }): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    if (options.pid !== undefined && !alive(options.pid)) {
      throw new StackError(`${what} exited during start-up`, `read the log below; \`npm run stack -- down\` then retry`, options.log);
    }
    await sleep(500);
  }
  throw new StackError(`${what} did not become healthy within ${options.timeoutMs / 1000}s`, 'read the log below', options.log);
}
