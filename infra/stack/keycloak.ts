import { access, copyFile, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Component, StackContext } from './component.js';
import { findJavaHome } from './java.js';
import { alive, daemon, ensurePortFree, httpOk, readPid, run, stopDaemon, waitFor } from './processes.js';

export const KEYCLOAK_VERSION = '26.5.6';
export const REALM = 'safeshipper';
const realmDir = fileURLToPath(new URL('../keycloak/', import.meta.url));
const exists = (path: string) => access(path).then(() => true, () => false);

export function keycloak(ctx: StackContext): Component {
  const downloads = join(ctx.settings.root, 'downloads');
  const home = join(ctx.settings.root, 'keycloak', `keycloak-${KEYCLOAK_VERSION}`);
  const log = join(ctx.settings.logs, 'keycloak.log');
  const pidFile = join(ctx.settings.pids, 'keycloak.pid');
  const { keycloakPort: port, keycloakManagementPort: managementPort } = ctx.settings;
  const publicUrl = `http://localhost:${port}`;

  const ready = async () =>
    (await httpOk(`http://127.0.0.1:${managementPort}/health/ready`)) &&
    (await httpOk(`http://127.0.0.1:${port}/realms/${REALM}/.well-known/openid-configuration`));

  /** The realm is imported only into an empty Keycloak: when its file changes, the dev database is reset. */
  async function syncRealm(): Promise<void> {
    const files = (await readdir(realmDir)).filter((file) => file.endsWith('-realm.json')).sort();
    const hash = createHash('sha256');
    for (const file of files) hash.update(await readFile(join(realmDir, file)));
    const digest = hash.digest('hex');
    const stamp = join(home, 'data', '.safeshipper-realm');
    if ((await readFile(stamp, 'utf8').catch(() => '')) === digest) return;
    await rm(join(home, 'data', 'h2'), { recursive: true, force: true });
    await mkdir(join(home, 'data', 'import'), { recursive: true });
    for (const file of files) await copyFile(join(realmDir, file), join(home, 'data', 'import', file));
    await writeFile(stamp, digest);
  }

  return {
    name: 'keycloak',
    title: `Keycloak ${KEYCLOAK_VERSION}`,
    log,
    url: () => `${publicUrl} (admin console ${publicUrl}/admin, realm ${REALM})`,

    async install() {
      if (await exists(join(home, 'bin', 'kc.sh'))) return false;
      const mavenLog = join(ctx.settings.logs, 'maven.log');
      const archive = join(downloads, `keycloak-quarkus-dist-${KEYCLOAK_VERSION}.tar.gz`);
      if (!(await exists(archive))) {
        await run('mvn', ['-B', '-q', 'dependency:copy', `-Dartifact=org.keycloak:keycloak-quarkus-dist:${KEYCLOAK_VERSION}:tar.gz`, `-DoutputDirectory=${downloads}`], { log: mavenLog, cwd: ctx.settings.root });
      }
      await mkdir(join(ctx.settings.root, 'keycloak'), { recursive: true });
      await run('tar', ['-xzf', archive, '-C', join(ctx.settings.root, 'keycloak')], { log: mavenLog });
      return true;
    },

    async running() {
      return alive(await readPid(pidFile));
    },

    async start() {
      const javaHome = await findJavaHome(ctx.settings.javaHome);
      await ensurePortFree(port, 'Keycloak HTTP', 'SAFESHIPPER_KEYCLOAK_PORT');
      await ensurePortFree(managementPort, 'Keycloak management', 'SAFESHIPPER_KEYCLOAK_MANAGEMENT_PORT');
      await syncRealm();
      const pid = await daemon(
        join(home, 'bin', 'kc.sh'),
        [
          'start-dev',
          `--http-port=${port}`,
          `--http-management-port=${managementPort}`,
          '--http-host=127.0.0.1',
          // A fixed hostname keeps the token issuer identical however Keycloak is reached.
          `--hostname=${publicUrl}`,
          '--import-realm',
          '--health-enabled=true',
        ],
        {
          log,
          pidFile,
          cwd: home,
          env: {
            ...process.env,
            JAVA_HOME: javaHome,
            PATH: `${join(javaHome, 'bin')}:${process.env.PATH ?? ''}`,
            // Quiets an IllegalAccessError from jboss-threads at shutdown on Java 25.
            JAVA_OPTS_APPEND: '--add-opens=java.base/java.lang=ALL-UNNAMED',
            KC_BOOTSTRAP_ADMIN_USERNAME: 'admin',
            KC_BOOTSTRAP_ADMIN_PASSWORD: ctx.secrets.keycloakAdminPassword,
          },
        },
      );
      await waitFor('Keycloak', ready, { timeoutMs: 300_000, pid, log });
    },

    stop: () => stopDaemon(pidFile),

    async health() {
      const ok = await ready();
      return { ok, detail: ok ? `realm ${REALM} ready` : 'not ready' };
    },
  };
}
