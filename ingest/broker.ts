import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { Aedes, type AuthenticateError } from 'aedes';
import type { Config } from '../config/env.js';
import type { Logger } from '../config/logger.js';
import type { Database } from '../db/orm.js';
import { listenForCredentialChanges } from '../db/devices.js';
import { decodeTelemetry } from '../domain/telemetry-message.js';
import { CONNACK, DeviceAuth } from './device-auth.js';
import { telemetryWriter } from './telemetry-writer.js';

export interface RunningIngest {
  port: number;
  url: string;
  /** The mqtts listener, when a certificate is configured. */
  tls?: { port: number; url: string };
  close(): Promise<void>;
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : port);
    });
  });
}

/**
 * The embedded MQTT broker. Devices authenticate with their provisioned username and secret
 * (ingest/device-auth.ts); a QoS 1 PUBACK is sent only after the point is committed in
 * PostgreSQL: aedes calls `authorizePublish` before it acknowledges, and we hold its callback
 * until the batch commits. A point refused (invalid, or refused by PostgreSQL) gets no PUBACK:
 * MQTT 3.1.1 has no negative acknowledgement, so its sender's connection is closed
 * (MQTT-3.3.5-2) and only that device's; the device redelivers it after reconnecting.
 */
export async function startIngest(config: Config, db: Database, log: Logger): Promise<RunningIngest> {
  const writer = telemetryWriter(db);
  let listener: { up: boolean } = { up: false };
  const auth = new DeviceAuth(db, log, {
    failuresPerUsername: config.MQTT_AUTH_FAILURES_PER_USERNAME_PER_MINUTE,
    failuresPerAddress: config.MQTT_AUTH_FAILURES_PER_ADDRESS_PER_MINUTE,
    hearingChanges: () => listener.up,
  });
  const credentialChanges = await listenForCredentialChanges(config.DATABASE_URL, {
    changed: (username) => void auth.credentialsChanged(username),
    listening: (reconnected) => {
      if (!reconnected) return;
      log.info('device credential changes heard again; re-checking every session');
      void auth.everythingMayHaveChanged();
    },
    lost: (error) => log.error({ err: error }, 'device credential changes not heard; every publish re-reads its credentials until back'),
  });
  listener = credentialChanges;

  const broker = await Aedes.createBroker({
    authenticate: (client, username, password, done) => {
      auth.authenticate(client, username, password).then(
        (result) => {
          if (result.ok) return done(null, true);
          log.warn({ username, clientId: client.id, reason: result.reason }, 'mqtt connect refused');
          done(Object.assign(new Error(result.reason), { returnCode: result.returnCode }) as AuthenticateError, false);
        },
        (error: unknown) => {
          log.error({ err: error }, 'mqtt authentication failed');
          done(Object.assign(new Error('server unavailable'), { returnCode: CONNACK.SERVER_UNAVAILABLE }) as AuthenticateError, false);
        },
      );
    },
    authorizeSubscribe: (client, subscription, done) => {
      if (auth.maySubscribe(client, subscription.topic)) return done(null, subscription);
      done(new Error(`not allowed to subscribe to ${subscription.topic}`));
    },
    authorizePublish: (client, packet, done) => {
      const refuse = (reason: string, error?: unknown) => {
        log.warn({ err: error, clientId: client?.id, topic: packet.topic, reason }, 'telemetry refused; closing the connection');
        done(new Error(reason));
      };
      auth.publisher(client, packet.topic).then((device) => {
        if (!device) return refuse(`not allowed to publish to ${packet.topic}`);
        const decoded = decodeTelemetry(packet.payload as Buffer, new Date());
        if (!decoded.ok) return refuse(decoded.reason);
        const { message } = decoded;
        writer
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
          .then(() => done(null), (error: unknown) => refuse('telemetry commit failed; not acknowledged', error));
      }, (error: unknown) => refuse('device credentials could not be checked', error));
    },
  });

  const servers: Server[] = [createServer(broker.handle)];
  const port = await listen(servers[0]!, config.MQTT_PORT, config.MQTT_HOST);
  log.info({ port }, 'mqtt broker listening');
  let tls: RunningIngest['tls'];
  if (config.MQTT_TLS_CERT_FILE && config.MQTT_TLS_KEY_FILE) {
    const server = createTlsServer({ cert: readFileSync(config.MQTT_TLS_CERT_FILE), key: readFileSync(config.MQTT_TLS_KEY_FILE), minVersion: 'TLSv1.2' }, broker.handle);
    servers.push(server);
    const tlsPort = await listen(server, config.MQTT_TLS_PORT, config.MQTT_HOST);
    tls = { port: tlsPort, url: `mqtts://localhost:${tlsPort}` };
    log.info({ port: tlsPort }, 'mqtts (TLS) listening');
  }

  return {
    port,
    url: `mqtt://localhost:${port}`,
    ...(tls ? { tls } : {}),
    async close() {
      // Stop accepting first; a server's close waits for its open connections, which the broker's close ends.
      const closed = Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await closed;
      await writer.drain();
      await credentialChanges.close();
    },
  };
}
