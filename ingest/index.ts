import type { Config } from '../config/env.js';
import type { Logger } from '../config/logger.js';
import type { Database } from '../db/orm.js';
import { listenForCredentialChanges } from '../db/devices.js';
import { DeviceAuth } from './device-auth.js';
import { startPipeline, type Detector } from './pipeline.js';
import { startAedes, type Listening } from './transports/aedes.js';
import { startExternal } from './transports/external.js';

export interface RunningIngest extends Listening {
  /** The mqtts listener, when a certificate is configured. */
  tls?: Listening;
  /** MQTT over WebSocket, when MQTT_WS_PORT is set. */
  ws?: Listening;
  close(): Promise<void>;
}

export interface IngestOptions {
  /** Detection, called in every commit (ingest/detection). */
  detector?: Detector;
}

/**
 * Ingest: the telemetry pipeline (ingest/pipeline.ts) behind the embedded MQTT broker
 * (ingest/transports/aedes.ts). Credential changes are heard once here and reach both the
 * broker's sessions and the pipeline's device directory. Closing stops the transport first
 * (no new messages), then commits what the pipeline holds.
 */
export async function startIngest(config: Config, db: Database, log: Logger, options: IngestOptions = {}): Promise<RunningIngest> {
  let listener: { up: boolean } = { up: false };
  const hearingChanges = () => listener.up;
  const auth = new DeviceAuth(db, log, {
    failuresPerUsername: config.MQTT_AUTH_FAILURES_PER_USERNAME_PER_MINUTE,
    failuresPerAddress: config.MQTT_AUTH_FAILURES_PER_ADDRESS_PER_MINUTE,
    hearingChanges,
  });
  const pipeline = startPipeline(db, log, {
    batchMaxPoints: config.INGEST_BATCH_MAX_POINTS,
    maxConcurrentCommits: config.INGEST_MAX_CONCURRENT_COMMITS,
    maxInFlightPoints: config.INGEST_MAX_IN_FLIGHT_POINTS,
    deviceMessagesPerSecond: config.MQTT_DEVICE_MESSAGES_PER_SECOND,
    deviceMessageBurst: config.MQTT_DEVICE_MESSAGE_BURST,
    hearingChanges,
    ...(options.detector ? { detector: options.detector } : {}),
  });
  const credentialChanges = await listenForCredentialChanges(config.DATABASE_URL, {
    changed: (username) => {
      pipeline.credentialsChanged(username);
      void auth.credentialsChanged(username);
    },
    listening: (reconnected) => {
      if (!reconnected) return;
      log.info('device credential changes heard again; re-checking every session');
      pipeline.everythingMayHaveChanged();
      void auth.everythingMayHaveChanged();
    },
    lost: (error) => log.error({ err: error }, 'device credential changes not heard; every publish re-reads its credentials until back'),
  }).catch(async (error: unknown) => {
    await pipeline.close();
    throw error;
  });
  listener = credentialChanges;

  let transport: RunningIngest;
  try {
    transport = config.MQTT_MODE === 'external' ? await startExternal(config, db, log, pipeline) : await startAedes(config, log, auth, pipeline);
  } catch (error) {
    await pipeline.close();
    await credentialChanges.close();
    throw error;
  }
  return {
    port: transport.port,
    url: transport.url,
    ...(transport.tls ? { tls: transport.tls } : {}),
    ...(transport.ws ? { ws: transport.ws } : {}),
    async close() {
      await transport.close();
      await pipeline.close();
      await credentialChanges.close();
    },
  };
}
