import { hostname } from 'node:os';
import mqtt, { type IPublishPacket } from 'mqtt';
import { generate } from 'mqtt-packet';
import type { Config } from '../../config/env.js';
import type { Logger } from '../../config/logger.js';
import { parsePublishTopic, PUBLISH_KINDS, TOPIC_ROOT } from '../../domain/telemetry-topics.js';
import type { Database } from '../../db/orm.js';
import type { Pipeline } from '../pipeline.js';
import { syncBrokerPasswords, type BrokerPasswordSync } from './broker-credentials.js';

/** MQTT 5 PUBACK reason codes sent to the broker. */
const PUBACK = { SUCCESS: 0, IMPLEMENTATION_SPECIFIC_ERROR: 131 } as const;
/** How long a closing transport waits for messages still being committed, to acknowledge them before it disconnects. */
const CLOSE_WAIT_MS = 5000;
/** After a transient refusal, the session is resumed this much later, so the broker sends what is unacknowledged again. */
const REDELIVER_AFTER_MS = 1000;

export interface RunningExternal {
  port: number;
  url: string;
  clientId: string;
  close(): Promise<void>;
}

/** Told to mqtt.js instead of an acknowledgement: "not now", so it reads the next packet (see below). */
class Deferred extends Error {}
const DEFERRED = new Deferred('acknowledged after commit');

/** The shared subscriptions of one share group: every device's telemetry, events and status. */
export const sharedTopics = (group: string) => PUBLISH_KINDS.map((kind) => `$share/${group}/${TOPIC_ROOT}/+/${kind}`);

/**
 * Ingest through an external broker (mosquitto here; EMQX, HiveMQ or VerneMQ in production).
 * The broker authenticates devices and enforces their topic ACL; this process subscribes with a
 * persistent MQTT 5 session (a fixed client id, a session that never expires) to the shared
 * subscriptions of its group, so several ingest processes split the work, and a restarted one
 * resumes its session: whatever it had not acknowledged is sent again.
 *
 * Each message is acknowledged only when the pipeline's outcome says so: committed (or a
 * duplicate of a committed point), or refused for good (a poison message must not come back
 * forever). A transient refusal is not acknowledged; the session is resumed shortly after, which
 * makes the broker send it again.
 *
 * mqtt.js hands over incoming packets one at a time: it reads the next only after the current
 * one's acknowledgement callback ran, which would make one commit per message the throughput.
 * So its `customHandleAcks` callback is answered at once with a sentinel error (mqtt.js then
 * sends nothing and moves on), and the PUBACK is written later on the same connection with
 * mqtt-packet, mqtt.js's own codec. An acknowledgement whose connection has gone is dropped:
 * the broker sends that message again on the resumed session and the pipeline stores it once.
 */
export async function startExternal(config: Config, db: Database, log: Logger, pipeline: Pipeline): Promise<RunningExternal> {
  // Devices must be able to authenticate before their messages can arrive.
  const passwords =
    config.MQTT_BROKER_PASSWORD_FILE && config.MQTT_BROKER_PID_FILE
      ? await syncBrokerPasswords(db, log, { databaseUrl: config.DATABASE_URL, passwordFile: config.MQTT_BROKER_PASSWORD_FILE, pidFile: config.MQTT_BROKER_PID_FILE })
      : undefined;
  try {
    return await subscribe(config, log, pipeline, passwords);
  } catch (error) {
    await passwords?.close();
    throw error;
  }
}

async function subscribe(config: Config, log: Logger, pipeline: Pipeline, passwords: BrokerPasswordSync | undefined): Promise<RunningExternal> {
  const url = config.MQTT_BROKER_URL!;
  const clientId = config.MQTT_BROKER_CLIENT_ID ?? `ingest-${hostname()}`;
  const inFlight = new Set<Promise<void>>();
  let closing = false;
  let redeliver: NodeJS.Timeout | undefined;

  const client = mqtt.connect(url, {
    clientId,
    username: config.MQTT_BROKER_USERNAME!,
    password: config.MQTT_BROKER_PASSWORD!,
    protocolVersion: 5,
    clean: false,
    // Never expires: while this instance is away, the broker keeps its share of the group's messages for it.
    properties: { sessionExpiryInterval: 0xffffffff, receiveMaximum: config.MQTT_BROKER_RECEIVE_MAXIMUM },
    reconnectPeriod: 1000,
    connectTimeout: 10_000,
    resubscribe: true,
    customHandleAcks: (topic: string, payload: Buffer, packet: IPublishPacket, done: (error: Error | number, code?: number) => void) => {
      done(DEFERRED);
      if (!closing) handle(topic, payload, packet);
    },
  });

  let acknowledged = 0;
  const acknowledge = (stream: typeof client.stream, messageId: number, reasonCode: number) => {
    // Only on the connection the message came on: a resumed session redelivers what that one left unacknowledged.
    if (stream !== client.stream || stream.destroyed || !client.connected) return;
    stream.write(generate({ cmd: 'puback', messageId, reasonCode }, { protocolVersion: 5 }));
    acknowledged += 1;
  };

  /** Drops the connection so that the resumed session brings back what is unacknowledged. */
  const resumeSoon = () => {
    if (redeliver || closing) return;
    redeliver = setTimeout(() => {
      redeliver = undefined;
      if (!closing) client.stream.destroy();
    }, REDELIVER_AFTER_MS);
  };

  function handle(topic: string, payload: Buffer, packet: IPublishPacket) {
    const stream = client.stream;
    const messageId = packet.messageId;
    const parsed = parsePublishTopic(topic);
    if (!parsed) {
      // The subscriptions match only device topics; anything else is not ours to keep.
      log.warn({ topic }, 'message on an unexpected topic; acknowledged and dropped');
      if (messageId !== undefined) acknowledge(stream, messageId, PUBACK.IMPLEMENTATION_SPECIFIC_ERROR);
      return;
    }
    const work = pipeline
      .accept({ username: parsed.username, kind: parsed.kind, payload, receivedAt: new Date() })
      .then(
        (outcome) => {
          if (messageId === undefined) return;
          if (outcome.ok) return acknowledge(stream, messageId, PUBACK.SUCCESS);
          if (outcome.permanent) return acknowledge(stream, messageId, PUBACK.IMPLEMENTATION_SPECIFIC_ERROR);
          log.warn({ topic, reason: outcome.reason }, 'message not committed; the broker will send it again');
          resumeSoon();
        },
        (error: unknown) => {
          log.error({ err: error, topic }, 'pipeline failed on a message; the broker will send it again');
          resumeSoon();
        },
      )
      .finally(() => inFlight.delete(work));
    inFlight.add(work);
  }

  // QoS 0 (a device's choice) bypasses customHandleAcks: nothing to acknowledge, stored all the same.
  client.on('message', (topic, payload, packet) => {
    if (packet.qos === 0 && !closing) handle(topic, payload, packet);
  });
  client.on('error', (error) => {
    if (error !== DEFERRED) log.error({ err: error }, 'external broker connection error');
  });
  client.on('offline', () => log.warn({ url, clientId }, 'external broker unreachable; reconnecting'));

  await new Promise<void>((resolve, reject) => {
    const failed = (error: Error) => {
      client.end(true);
      reject(error);
    };
    client.once('error', failed);
    client.once('connect', (connack) => {
      client.off('error', failed);
      log.info({ url, clientId, sessionPresent: connack.sessionPresent }, 'external broker connected');
      resolve();
    });
  });
  const granted = await client.subscribeAsync(sharedTopics(config.MQTT_SHARE_GROUP), { qos: 1 });
  const refused = granted.filter((grant) => grant.qos !== 1);
  if (refused.length > 0) {
    client.end(true);
    throw new Error(`external broker refused the subscriptions ${refused.map((grant) => grant.topic).join(', ')} (check the ingest account's ACL)`);
  }
  log.info({ topics: granted.map((grant) => grant.topic) }, 'subscribed to the shared subscriptions');

  const { port: explicit, protocol } = new URL(url);
  const port = Number(explicit) || ({ 'mqtt:': 1883, 'mqtts:': 8883, 'ws:': 80, 'wss:': 443 } as Record<string, number>)[protocol]!;
  return {
    port,
    url,
    clientId,
    async close() {
      closing = true;
      clearTimeout(redeliver);
      // Acknowledge what is being committed, if it commits soon; anything left comes again to the next session.
      const waited = Promise.allSettled([...inFlight]);
      await Promise.race([waited, new Promise((resolve) => setTimeout(resolve, CLOSE_WAIT_MS).unref())]);
      await client.endAsync();
      await passwords?.close();
      log.info({ clientId, acknowledged }, 'external broker disconnected');
    },
  };
}
