import pg from 'pg';

export interface NotificationListener {
  readonly up: boolean;
  close(): Promise<void>;
}

/**
 * Hears NOTIFY on `channels` over a connection of its own, reconnecting every `retryMs` while it
 * is down; `listening(true)` after a reconnect says notifications may have been missed meanwhile.
 * Resolves once LISTEN is in place the first time.
 */
export async function listenForNotifications(
  url: string,
  name: string,
  channels: readonly string[],
  handlers: { notified(channel: string, payload: string): void; listening(reconnected: boolean): void; lost(error: unknown): void },
  options: { retryMs?: number } = {},
): Promise<NotificationListener> {
  const retryMs = options.retryMs ?? 1000;
  let client: pg.Client | undefined;
  let up = false;
  let closed = false;
  let retry: NodeJS.Timeout | undefined;

  const connect = async (reconnected: boolean) => {
    const next = new pg.Client({ connectionString: url, keepAlive: true, keepAliveInitialDelayMillis: 10_000, application_name: `${name} ${process.pid}` });
    client = next;
    let failed = false;
    const fail = (error: unknown) => {
      if (failed) return;
      failed = true;
      const wasUp = up;
      up = false;
      next.end().catch(() => undefined);
      if (closed) return;
      if (wasUp) handlers.lost(error);
      retry = setTimeout(() => void connect(true).catch(() => undefined), retryMs);
    };
    next.on('error', fail);
    next.on('end', () => fail(new Error(`${name} connection ended`)));
    next.on('notification', (message) => {
      if (message.payload !== undefined) handlers.notified(message.channel, message.payload);
    });
    try {
      await next.connect();
      for (const channel of channels) await next.query(`LISTEN ${channel}`);
    } catch (error) {
      fail(error);
      throw error;
    }
    up = true;
    handlers.listening(reconnected);
  };

  try {
    await connect(false);
  } catch (error) {
    closed = true;
    clearTimeout(retry);
    throw error;
  }
  return {
    get up() {
      return up;
    },
    async close() {
      closed = true;
      clearTimeout(retry);
      await client?.end().catch(() => undefined);
    },
  };
}
