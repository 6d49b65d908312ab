import { createServer, type Server } from 'node:net';
import { Aedes, type AuthenticateError, type Client } from 'aedes';
import type { Config } from '../config/env.js';
import type { Logger } from '../config/logger.js';
import type { Database } from '../db/orm.js';
import { deviceCredentials, type DeviceCredentials } from '../db/devices.js';
import { commitTelemetry, type TelemetryPoint } from '../db/telemetry.js';
import { verifyDeviceSecret } from '../security/device-secrets.js';
import { Batcher } from './batcher.js';
import { decodeTelemetry } from './telemetry-message.js';
import { commandsTopic, telemetryTopic } from '../domain/telemetry-topics.js';

export interface RunningIngest {
  port: number;
  url: string;
  close(): Promise<void>;
}

const BAD_CREDENTIALS = 4;

function authError(message: string): AuthenticateError {
  return Object.assign(new Error(message), { returnCode: BAD_CREDENTIALS }) as AuthenticateError;
}

/**
 * The embedded MQTT broker. Devices authenticate with their provisioned username and secret;
 * a QoS 1 PUBACK is sent only after the point is committed in PostgreSQL: aedes calls
 * `authorizePublish` before it acknowledges, and we hold its callback until the batch commits.
 */
export async function startIngest(config: Config, db: Database, log: Logger): Promise<RunningIngest> {
  const devices = new WeakMap<Client, DeviceCredentials & { username: string }>();
  const batcher = new Batcher<TelemetryPoint>(async (points) => {
    await commitTelemetry(db, points);
  }, { maxSize: 500, maxWaitMs: 20 });

  const broker = await Aedes.createBroker({
    authenticate: (client, username, password, done) => {
      if (!username || !password) return done(authError('username and password are required'), false);
      deviceCredentials(db, username)
        .then(async (credentials) => {
          if (!credentials || !(await verifyDeviceSecret(password.toString('utf8'), credentials.secretHash))) {
            log.warn({ username, clientId: client.id }, 'mqtt authentication refused');
            return done(authError('bad username or secret'), false);
          }
          devices.set(client, { ...credentials, username });
          done(null, true);
        })
        .catch((error: unknown) => {
          log.error({ err: error }, 'mqtt authentication failed');
          done(Object.assign(new Error('server unavailable'), { returnCode: 3 }) as AuthenticateError, false);
        });
    },
    authorizeSubscribe: (client, subscription, done) => {
      const device = devices.get(client);
      if (device && subscription.topic === commandsTopic(device.username)) return done(null, subscription);
      done(new Error(`not allowed to subscribe to ${subscription.topic}`));
    },
    authorizePublish: (client, packet, done) => {
      const device = client && devices.get(client);
      if (!device || packet.topic !== telemetryTopic(device.username)) return done(new Error(`not allowed to publish to ${packet.topic}`));
      const decoded = decodeTelemetry(packet.payload as Buffer, new Date());
      // Without MQTT 5 reason codes there is no per-message refusal: the broker drops the
      // connection instead of acknowledging a point it did not store.
      if (!decoded.ok) {
        log.warn({ device: device.username, reason: decoded.reason }, 'telemetry refused');
        return done(new Error(decoded.reason));
      }
      const { message } = decoded;
      batcher
        .add({
          companyId: device.companyId,
          deviceId: device.deviceId,
          vehicleId: device.vehicleId,
          recordedAt: message.ts,
          lon: message.lon ?? null,
          lat: message.lat ?? null,
          speedKmh: message.speedKmh ?? null,
          headingDeg: message.headingDeg ?? null,
          temperatureC: message.temperatureC ?? null,
          payload: message.sensors ?? {},
        })
        .then(
          () => done(null),
          (error: unknown) => {
            log.error({ err: error, device: device.username }, 'telemetry commit failed; not acknowledged');
            done(error as Error);
          },
        );
    },
  });

  const server: Server = createServer(broker.handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.MQTT_PORT, config.MQTT_HOST, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.MQTT_PORT;
  log.info({ port }, 'mqtt broker listening');

  return {
    port,
    url: `mqtt://localhost:${port}`,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await batcher.drain();
    },
  };
}
