import { createServer, type Server } from 'node:net';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadStackSettings } from '../../../infra/stack/settings.js';
import { ensurePortFree } from '../../../infra/stack/processes.js';
import { findJavaHome } from '../../../infra/stack/java.js';
import { StackError } from '../../../infra/stack/progress.js';

describe('a misconfigured machine fails fast, naming the problem and the fix', () => {
  it('rejects a port that is not a port, naming the variable', () => {
    expect(() => loadStackSettings({ SAFESHIPPER_PG_PORT: 'five' })).toThrow(/SAFESHIPPER_PG_PORT: SAFESHIPPER_PG_PORT must be a TCP port number/);
    expect(() => loadStackSettings({ SAFESHIPPER_KEYCLOAK_PORT: '70000' })).toThrow(/SAFESHIPPER_KEYCLOAK_PORT must be between 1024 and 65535/);
    expect(() => loadStackSettings({ SAFESHIPPER_API_PORT: '80' })).toThrow(/unprivileged/);
    expect(() => loadStackSettings({ SAFESHIPPER_API_PORT: '7233' })).toThrow(/two SAFESHIPPER_\*_PORT values are equal/);
  });

  it('uses the documented default ports when nothing is set', () => {
    const settings = loadStackSettings({});
    expect([settings.pgPort, settings.temporalPort, settings.temporalUiPort, settings.keycloakPort, settings.apiPort, settings.mqttPort]).toEqual([55432, 7233, 8233, 8180, 3100, 1883]);
  });

  describe('an occupied port', () => {
    let server: Server;
    let port: number;
    beforeAll(async () => {
      server = createServer().listen(0, '127.0.0.1');
      await new Promise((resolve) => server.once('listening', resolve));
      port = (server.address() as { port: number }).port;
    });
    afterAll(() => {
      server.close();
    });

    it('is refused before anything starts, with who holds it and which variable moves ours', async () => {
      const error = await ensurePortFree(port, 'Keycloak HTTP', 'SAFESHIPPER_KEYCLOAK_PORT').catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(StackError);
      expect((error as StackError).message).toMatch(new RegExp(`^port ${port} \\(Keycloak HTTP\\) is already in use by (node \\(pid ${process.pid}\\)|another process)$`));
      expect((error as StackError).fix).toBe("stop that process, or move SafeShipper's Keycloak HTTP with SAFESHIPPER_KEYCLOAK_PORT=<free port>");
    });

    it('a free port passes', async () => {
      await expect(ensurePortFree(1, 'nothing', 'X')).resolves.toBeUndefined();
    });
  });

  it('refuses a JAVA_HOME too old for Keycloak 26, saying what to do', async () => {
    const fakeJdk = await mkdtemp(join(tmpdir(), 'jdk17-'));
    await writeFile(join(fakeJdk, 'release'), 'JAVA_VERSION="17.0.15"\n');
    const error = (await findJavaHome(fakeJdk).catch((caught: unknown) => caught)) as StackError;
    expect(error.message).toBe(`JAVA_HOME=${fakeJdk} is Java 17; Keycloak 26 needs Java 21+`);
    expect(error.fix).toMatch(/point JAVA_HOME at a JDK 21\+/);
  });

  it('accepts a JAVA_HOME of Java 21 or newer', async () => {
    const jdk = await mkdtemp(join(tmpdir(), 'jdk25-'));
    await writeFile(join(jdk, 'release'), 'JAVA_VERSION="25.0.3"\n');
    await expect(findJavaHome(jdk)).resolves.toBe(jdk);
  });
});
