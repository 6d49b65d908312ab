import { readFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type Server } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { Aedes, type AuthenticateError, type Client } from 'aedes';
import { WebSocketServer, createWebSocketStream } from 'ws';
import type { Config } from '../../config/env.js';
import type { Logger } from '../../config/logger.js';
import { publishKind } from '../../domain/telemetry-topics.js';
import { CONNACK, type DeviceAuth } from '../device-auth.js';
import type { RunningPipeline } from '../pipeline.js';

export interface Listening {
  port: number;
  url: string;
}

export interface RunningAedes extends Listening {
  /** The mqtts listener, when a certificate is configured. */
  tls?: Listening;
  /** MQTT over WebSocket, when MQTT_WS_PORT is set. */
  ws?: Listening;
  close(): Promise<void>;
}

function listen(server: Server | ReturnType<typeof createHttpServer>, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : port);
    });
  });
}

/**
 * The embedded MQTT broker (aedes, MQTT 3.1.1): TCP, TLS when a certificate is configured,
 * WebSocket when MQTT_WS_PORT is set. Devices authenticate with their provisioned username and
 * secret (ingest/device-auth.ts). A QoS 1 PUBACK is sent only after the pipeline committed the
 * message: aedes calls `authorizePublish` before it acknowledges, and we hold its callback until
 * the pipeline's outcome. aedes reads a connection's next chunk only when every packet of the
 * last one is handled, so a held callback is also backpressure on that socket.
 * A refused message (invalid, not its topic, rate limited) gets no PUBACK: MQTT 3.1.1 has no
 * negative acknowledgement, so its sender's connection is closed (MQTT-3.3.5-2), only that
 * device's; a point refused for good is counted (telemetry_rejections), not redelivered forever
 * in vain by a well-behaved device, which drops it once refused.
 */
export async function startAedes(config: Config, log: Logger, auth: DeviceAuth, pipeline: RunningPipeline): Promise<RunningAedes> {
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
      const receivedAt = new Date();
      const refuse = (reason: string, error?: unknown) => {
        log.warn({ err: error, clientId: client?.id, topic: packet.topic, reason }, 'mqtt publish refused; closing the connection');
        done(new Error(reason));
      };
      auth.publisher(client).then((session) => {
        if (!session) return refuse(`not allowed to publish to ${packet.topic}`);
        const kind = publishKind(packet.topic, session.username);
        if (!kind) {
          pipeline.refused(session, 'topic_not_allowed', receivedAt);
          return refuse(`not allowed to publish to ${packet.topic}`);
        }
        pipeline.accept({ username: session.username, kind, payload: packet.payload as Buffer, receivedAt, device: session }).then(
          (outcome) => (outcome.ok ? done(null) : refuse(outcome.reason)),
          (error: unknown) => refuse('telemetry could not be handled; not acknowledged', error),
        );
      }, (error: unknown) => refuse('device credentials could not be checked', error));
    },
  });

  const sessionOf = (client: Client) => auth.session(client);
  broker.on('clientReady', (client) => {
    const session = sessionOf(client);
    if (session) pipeline.presence(session, true, new Date());
  });
  // A clean DISCONNECT sends no will: the device is offline all the same. (An unclean one publishes its will, a status message, through the pipeline.)
  broker.on('clientDisconnect', (client) => {
    const session = sessionOf(client);
    if (session && !auth.hasOtherConnections(client)) pipeline.presence(session, false, new Date());
  });

  const servers: Array<Server | ReturnType<typeof createHttpServer>> = [createServer(broker.handle)];
  const port = await listen(servers[0]!, config.MQTT_PORT, config.MQTT_HOST);
  log.info({ port }, 'mqtt broker listening');
  let tls: Listening | undefined;
  if (config.MQTT_TLS_CERT_FILE && config.MQTT_TLS_KEY_FILE) {
    const server = createTlsServer({ cert: readFileSync(config.MQTT_TLS_CERT_FILE), key: readFileSync(config.MQTT_TLS_KEY_FILE), minVersion: 'TLSv1.2' }, broker.handle);
    servers.push(server);
    const tlsPort = await listen(server, config.MQTT_TLS_PORT, config.MQTT_HOST);
    tls = { port: tlsPort, url: `mqtts://localhost:${tlsPort}` };
    log.info({ port: tlsPort }, 'mqtts (TLS) listening');
  }
  let ws: Listening | undefined;
  let wss: WebSocketServer | undefined;
  if (config.MQTT_WS_PORT !== undefined) {
    const server = createHttpServer((_req, res) => res.writeHead(426).end());
    wss = new WebSocketServer({ server, handleProtocols: (protocols) => (protocols.has('mqtt') ? 'mqtt' : false) });
    wss.on('connection', (socket, req) => {
      const stream = createWebSocketStream(socket);
      // aedes reads the client address from the connection; a WebSocket stream has none of its own.
      Object.assign(stream, { remoteAddress: req.socket.remoteAddress });
      broker.handle(stream as never, req as never);
    });
    servers.push(server);
    const wsPort = await listen(server, config.MQTT_WS_PORT, config.MQTT_HOST);
    ws = { port: wsPort, url: `ws://localhost:${wsPort}` };
    log.info({ port: wsPort }, 'mqtt over WebSocket listening');
  }

  return {
    port,
    url: `mqtt://localhost:${port}`,
    ...(tls ? { tls } : {}),
    ...(ws ? { ws } : {}),
    async close() {
      // Stop accepting first; a server's close waits for its open connections, which the broker's close ends.
      const closed = Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
      for (const socket of wss?.clients ?? []) socket.terminate();
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await closed;
    },
  };
}
