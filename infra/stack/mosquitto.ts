import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { brokerSecretHash, brokerSecretMatches, DEVICES_MARKER, withServiceAccounts } from '../../security/broker-secrets.js';
import type { Component, StackContext } from './component.js';
import { alive, daemon, ensurePortFree, readPid, stopDaemon, waitFor } from './processes.js';

const MOSQUITTO = '/usr/sbin/mosquitto';
/** The service account ingest subscribes with in external-broker mode (MQTT_BROKER_USERNAME). */
export const MOSQUITTO_INGEST_USER = 'safeshipper-ingest';
/** Where the broker's files live under the stack root (config, password file, ACL, persistence). */
export const mosquittoPaths = (root: string) => {
  const dir = join(root, 'mosquitto');
  return { dir, config: join(dir, 'mosquitto.conf'), passwords: join(dir, 'passwords'), acl: join(dir, 'acl'), data: join(dir, 'data') };
};

/**
 * The topic ACL: `%u` is the connected username, so a device publishes only to its own
 * telemetry, events and status and reads only its own commands; ingest reads every device's
 * messages (through its shared subscription) and writes commands.
 */
function acl(ingestUser: string): string {
  return [
    '# written by `npm run stack -- up` (infra/stack/mosquitto.ts)',
    'pattern write safeshipper/v1/devices/%u/telemetry',
    'pattern write safeshipper/v1/devices/%u/events',
    'pattern write safeshipper/v1/devices/%u/status',
    'pattern read safeshipper/v1/devices/%u/commands',
    '',
    `user ${ingestUser}`,
    'topic read safeshipper/v1/devices/+/telemetry',
    'topic read safeshipper/v1/devices/+/events',
    'topic read safeshipper/v1/devices/+/status',
    'topic write safeshipper/v1/devices/+/commands',
    'topic read $SYS/broker/version',
    '',
  ].join('\n');
}

function config(paths: ReturnType<typeof mosquittoPaths>, ports: { devices: number; service: number }): string {
  return [
    '# written by `npm run stack -- up` (infra/stack/mosquitto.ts)',
    // Devices: the client id is replaced by the username, so no device can take over another's
    // session (or ingest's) by naming its client id.
    `listener ${ports.devices} 127.0.0.1`,
    'use_username_as_clientid true',
    // Services (ingest): several ingest processes share one account, each with a fixed client id of its own.
    // Production keeps this listener on the internal network only.
    `listener ${ports.service} 127.0.0.1`,
    // Started as root, mosquitto would switch to the `mosquitto` user, who cannot read the stack's folder.
    `user ${userInfo().username}`,
    'allow_anonymous false',
    `password_file ${paths.passwords}`,
    `acl_file ${paths.acl}`,
    // Ingest's persistent session keeps what arrives while ingest is down; the queue is bounded
    // by bytes rather than by the default 1000 messages, which a busy fleet fills in a moment.
    'persistence true',
    `persistence_location ${paths.data}/`,
    'autosave_interval 10',
    'max_queued_messages 0',
    'max_queued_bytes 1073741824',
    // Messages in flight to one subscriber (MQTT 3.1.1; an MQTT 5 client states its own receive maximum).
    'max_inflight_messages 1000',
    'log_dest stdout',
    'log_type error',
    'log_type warning',
    'log_type notice',
    'connection_messages true',
    '',
  ].join('\n');
}

/** Replaces a file in one step, so the broker never reads half of one. */
async function replace(path: string, text: string, mode: number): Promise<void> {
  const draft = `${path}.${process.pid}.tmp`;
  await writeFile(draft, text, { mode });
  await rename(draft, path);
}

/**
 * Debian's mosquitto (2.0, MQTT 5) for external-broker mode: our own instance on 127.0.0.1 with
 * its folder under the stack. The config and ACL are generated here; the password file holds
 * the ingest account (written here) and the devices (kept in sync by ingest, see
 * ingest/transports/broker-credentials.ts), which a SIGHUP makes mosquitto re-read.
 */
export function mosquitto(ctx: StackContext): Component {
  const paths = mosquittoPaths(ctx.settings.root);
  const log = join(ctx.settings.logs, 'mosquitto.log');
  const pidFile = join(ctx.settings.pids, 'mosquitto.pid');
  const port = ctx.settings.mosquittoPort;
  const servicePort = ctx.settings.mosquittoServicePort;
  const url = `mqtt://127.0.0.1:${port}`;
  const serviceUrl = `mqtt://127.0.0.1:${servicePort}`;

  /** Connects as ingest and reads the broker's retained version: the port, the password file and the ACL all work. */
  const version = async (): Promise<string | undefined> => {
    const client = mqtt.connect(serviceUrl, {
      username: MOSQUITTO_INGEST_USER,
      password: ctx.secrets.mosquittoIngestPassword,
      clientId: `safeshipper-stack-health-${process.pid}`,
      reconnectPeriod: 0,
      connectTimeout: 3000,
    });
    try {
      return await new Promise<string | undefined>((resolve) => {
        const timer = setTimeout(() => resolve(undefined), 3000);
        client.once('error', () => resolve(undefined));
        client.on('message', (_topic, payload) => {
          clearTimeout(timer);
          resolve(payload.toString());
        });
        client.once('connect', () => client.subscribe('$SYS/broker/version'));
      });
    } finally {
      client.end(true);
    }
  };

  /**
   * Config and ACL follow this checkout; the ingest account follows the stack's secret; devices
   * are kept. True when the config changed (listeners are read only at start, not on SIGHUP).
   */
  const writeFiles = async (): Promise<boolean> => {
    await mkdir(paths.data, { recursive: true });
    const wanted = config(paths, { devices: port, service: servicePort });
    const changed = (await readFile(paths.config, 'utf8').catch(() => '')) !== wanted;
    if (changed) await replace(paths.config, wanted, 0o644);
    await replace(paths.acl, acl(MOSQUITTO_INGEST_USER), 0o600);
    // Written only when the ingest account's line is missing or stale: ingest rewrites the device
    // section while running, and a rewrite here could put back a device it had just taken out.
    const current = await readFile(paths.passwords, 'utf8').catch(() => '');
    const line = current.split('\n').find((entry) => entry.startsWith(`${MOSQUITTO_INGEST_USER}:`));
    if (!line || !current.includes(DEVICES_MARKER) || !(await brokerSecretMatches(ctx.secrets.mosquittoIngestPassword, line.slice(MOSQUITTO_INGEST_USER.length + 1)))) {
      const account = { username: MOSQUITTO_INGEST_USER, hash: await brokerSecretHash(ctx.secrets.mosquittoIngestPassword) };
      await replace(paths.passwords, withServiceAccounts(current, [account]), 0o600);
    }
    return changed;
  };

  const start = async () => {
    await ensurePortFree(port, 'Mosquitto', 'SAFESHIPPER_MOSQUITTO_PORT');
    await ensurePortFree(servicePort, 'Mosquitto (service listener)', 'SAFESHIPPER_MOSQUITTO_SERVICE_PORT');
    await writeFiles();
    const pid = await daemon(MOSQUITTO, ['-c', paths.config], { log, pidFile });
    await waitFor('Mosquitto', async () => (await version()) !== undefined, { timeoutMs: 30_000, pid, log });
  };

  return {
    name: 'mosquitto',
    title: 'Mosquitto (external MQTT broker)',
    log,
    url: () => `${url} (devices), ${serviceUrl} (ingest)`,

    debian: { packages: ['mosquitto'], files: [MOSQUITTO] },

    async running() {
      return alive(await readPid(pidFile));
    },

    async reconcile() {
      if (await writeFiles()) {
        // Queued messages survive: the persistence file is written on a clean stop and read at start.
        await stopDaemon(pidFile);
        await start();
        return;
      }
      const pid = await readPid(pidFile);
      if (pid !== undefined) process.kill(pid, 'SIGHUP');
    },

    start,

    stop: () => stopDaemon(pidFile),

    async health() {
      const answer = await version();
      return answer ? { ok: true, detail: answer } : { ok: false, detail: `ingest account cannot read $SYS/broker/version at ${serviceUrl}` };
    },
  };
}
