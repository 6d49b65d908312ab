import type { ServerResponse } from 'node:http';
import type { Logger } from '../../config/logger.js';
import type { LiveEnvelope, LiveEvent, LiveEventType } from '../../domain/live-events.js';
import type { LiveListener, LiveListenerHandlers } from '../../db/live-feed.js';

export interface LiveHubOptions {
  /** Starts the one LISTEN of this process (db/live-feed.ts listenLive). */
  listen: (handlers: LiveListenerHandlers) => LiveListener;
  heartbeatMs: number;
  /** A stream whose unsent bytes pass this is too slow for the feed: it is cut off (the client reconnects and reloads its state). */
  clientBufferBytes: number;
  maxStreams: number;
  log: Logger;
  /** The server is stopping: every stream ends with `shutdown` now (a stream never ends by itself, and the server's close waits for it). */
  stopping?: AbortSignal;
}

export interface LiveFilter {
  types: ReadonlySet<LiveEventType>;
  vehicleId: string | undefined;
}

export interface LiveStream {
  /** Ends the stream with a last event (a token that expired). */
  end(event: string, data: unknown): void;
}

interface Subscriber {
  companyId: string;
  filter: LiveFilter;
  res: ServerResponse;
  listening: boolean;
}

const frame = (event: string, data: unknown) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

/**
 * The API process's side of the live feed: one LISTEN for the whole process, opened with the
 * first stream and closed with the last, and each committed batch fanned out to the streams of
 * its company only. Nothing waits for a slow client: each write goes to the socket's buffer, and
 * a stream whose buffer passes its bound is cut, so memory stays bounded whatever the clients do.
 * A comment line on every stream at each heartbeat keeps proxies from closing an idle one.
 */
export class LiveHub {
  private readonly byCompany = new Map<string, Set<Subscriber>>();
  private count = 0;
  private listener: LiveListener | undefined;
  private listening = false;
  private heartbeat: NodeJS.Timeout | undefined;

  constructor(private readonly options: LiveHubOptions) {
    options.stopping?.addEventListener('abort', () => {
      const at = new Date().toISOString();
      for (const company of this.byCompany.values()) for (const subscriber of company) subscriber.res.end(frame('shutdown', { at }));
    }, { once: true });
  }

  /** Whether this process already serves as many streams as it may. */
  get full(): boolean {
    return this.count >= this.options.maxStreams;
  }

  /** Adds a stream whose headers are sent (check `full` first). */
  subscribe(companyId: string, filter: LiveFilter, res: ServerResponse): LiveStream {
    if (this.options.stopping?.aborted) {
      res.end(frame('shutdown', { at: new Date().toISOString() }));
      return { end: () => undefined };
    }
    const subscriber: Subscriber = { companyId, filter, res, listening: false };
    let company = this.byCompany.get(companyId);
    if (!company) this.byCompany.set(companyId, (company = new Set()));
    company.add(subscriber);
    this.count += 1;
    res.once('close', () => this.remove(subscriber));
    if (!this.listener) this.start();
    else if (this.listening) this.announce(subscriber, false);
    return {
      end: (event, data) => {
        if (!res.writableEnded) res.end(frame(event, data));
      },
    };
  }

  private start(): void {
    this.listener = this.options.listen({
      onEnvelope: (envelope) => this.deliver(envelope),
      onListening: (reconnected) => {
        this.listening = true;
        for (const company of this.byCompany.values()) for (const subscriber of company) this.announce(subscriber, reconnected);
      },
      onLost: (error) => {
        this.listening = false;
        this.options.log.warn({ err: error }, 'live feed: LISTEN connection lost, reconnecting');
      },
    });
    this.heartbeat = setInterval(() => {
      for (const company of this.byCompany.values()) {
        for (const subscriber of company) this.write(subscriber, ': heartbeat\n\n');
      }
    }, this.options.heartbeatMs);
    this.heartbeat.unref();
  }

  private async stop(): Promise<void> {
    clearInterval(this.heartbeat);
    this.heartbeat = undefined;
    const listener = this.listener;
    this.listener = undefined;
    this.listening = false;
    await listener?.close();
  }

  /** `ready`: every commit from now on reaches the stream; `resync`: the feed was interrupted, so events may have been missed: reload. */
  private announce(subscriber: Subscriber, reconnected: boolean): void {
    const event = subscriber.listening && reconnected ? 'resync' : subscriber.listening ? undefined : 'ready';
    subscriber.listening = true;
    if (event) this.write(subscriber, frame(event, { at: new Date().toISOString() }));
  }

  private deliver(envelope: LiveEnvelope): void {
    const company = this.byCompany.get(envelope.companyId);
    if (!company) return;
    // Each event is serialised once, whatever the number of streams.
    const frames = envelope.events.map((event) => ({ event, text: frame(event.type, event) }));
    for (const subscriber of company) {
      if (!subscriber.listening) continue;
      const text = frames
        .filter(({ event }) => matches(subscriber.filter, event))
        .map((f) => f.text)
        .join('');
      if (text) this.write(subscriber, text);
    }
  }

  private write(subscriber: Subscriber, text: string): void {
    const { res } = subscriber;
    if (res.writableEnded || res.destroyed) return;
    res.write(text);
    if (res.writableLength > this.options.clientBufferBytes) {
      this.options.log.info({ companyId: subscriber.companyId, buffered: res.writableLength }, 'live feed: a stream fell too far behind and was cut off');
      res.destroy();
    }
  }

  private remove(subscriber: Subscriber): void {
    const company = this.byCompany.get(subscriber.companyId);
    if (!company?.delete(subscriber)) return;
    this.count -= 1;
    if (company.size === 0) this.byCompany.delete(subscriber.companyId);
    if (this.count === 0) void this.stop();
  }
}

function matches(filter: LiveFilter, event: LiveEvent): boolean {
  return filter.types.has(event.type) && (filter.vehicleId === undefined || event.vehicleId === filter.vehicleId);
}
