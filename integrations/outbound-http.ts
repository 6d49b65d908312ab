import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions, type LookupOptions } from 'node:dns';
import { Agent, errors, request } from 'undici';
import { addressProblem, endpointUrlProblem, type OutboundPolicy } from './outbound-url.js';

/**
 * HTTP to customers' systems (ERP endpoints, webhook receivers), through undici with the
 * guards a customer-given URL needs: the destination checked before the request and every
 * address DNS answers checked at connect time (outbound-url.ts), one deadline for the whole
 * exchange, the answer's size capped, and redirects never followed (undici follows none unless
 * asked: a 3xx is answered as it is, so a redirect cannot lead a request somewhere unchecked).
 */
export interface OutboundSettings {
  policy: OutboundPolicy;
  /** One deadline for connecting, sending and reading the whole answer. */
  timeoutMs: number;
  /** Larger answers are cut off and refused (an ERP or receiver answers a few kilobytes). */
  maxResponseBytes: number;
}

export interface OutboundRequest {
  method: 'GET' | 'POST';
  url: string;
  headers?: Record<string, string>;
  body?: string;
}

export interface OutboundResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/**
 * The exchange did not complete. `refused`: the destination is not one we call (never retried);
 * `timeout` and `network`: the other side may be back later (retried); `too-large`: the answer
 * exceeded the cap (a misconfigured endpoint: retrying gets the same).
 */
export type OutboundFailureKind = 'refused' | 'timeout' | 'network' | 'too-large';

export class OutboundFailure extends Error {
  constructor(
    readonly kind: OutboundFailureKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  get retryable(): boolean {
    return this.kind === 'timeout' || this.kind === 'network';
  }
}

type Resolve = (hostname: string, options: LookupAllOptions, callback: (error: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void) => void;
type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `lookup` for net/tls.connect that resolves as usual and refuses the connection when any
 * address the name resolves to may not be called: a name pointing at both a public and a private
 * address is refused, whichever one the connection would have used.
 */
export function guardedLookup(policy: OutboundPolicy, resolve: Resolve = dnsLookup) {
  return (hostname: string, options: LookupOptions, callback: LookupCallback): void => {
    resolve(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, []);
      const refused = addresses.map((entry) => addressProblem(entry.address, policy)).find((problem) => problem !== undefined);
      if (refused) return callback(Object.assign(new OutboundFailure('refused', `${hostname} resolves to an address that is not called: ${refused}`), { code: 'EOUTBOUNDREFUSED' }), []);
      if (addresses.length === 0) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), []);
      if (options.all) return callback(null, addresses);
      return callback(null, addresses[0]!.address, addresses[0]!.family);
    });
  };
}

function classify(error: unknown, url: string, settings: OutboundSettings): OutboundFailure {
  if (error instanceof OutboundFailure) return error;
  const cause = (error as { cause?: unknown }).cause;
  if (cause instanceof OutboundFailure) return cause;
  const origin = new URL(url).origin;
  if (error instanceof errors.ResponseExceededMaxSizeError) return new OutboundFailure('too-large', `${origin} answered more than ${settings.maxResponseBytes} bytes`, { cause: error });
  const name = (error as { name?: string }).name;
  if (error instanceof errors.HeadersTimeoutError || error instanceof errors.BodyTimeoutError || error instanceof errors.ConnectTimeoutError || name === 'TimeoutError' || name === 'AbortError') {
    return new OutboundFailure('timeout', `${origin} did not answer within ${settings.timeoutMs} ms`, { cause: error });
  }
  const code = (error as { code?: string }).code ?? (cause as { code?: string } | undefined)?.code;
  return new OutboundFailure('network', `${origin} could not be reached${code ? ` (${code})` : ''}: ${(error as Error).message}`, { cause: error });
}

/** One client per activity run: its connections (and any session an ERP opens on them) live as long as the run. */
export class OutboundHttp {
  private readonly agent: Agent;

  constructor(private readonly settings: OutboundSettings) {
    this.agent = new Agent({
      connect: { lookup: guardedLookup(settings.policy), timeout: settings.timeoutMs },
      headersTimeout: settings.timeoutMs,
      bodyTimeout: settings.timeoutMs,
      maxResponseSize: settings.maxResponseBytes,
    });
  }

  async send(outbound: OutboundRequest): Promise<OutboundResponse> {
    const refused = endpointUrlProblem(outbound.url, this.settings.policy);
    if (refused) throw new OutboundFailure('refused', `${outbound.url} is not called: it ${refused}`);
    try {
      const response = await request(outbound.url, {
        method: outbound.method,
        headers: outbound.headers ?? {},
        ...(outbound.body !== undefined ? { body: outbound.body } : {}),
        dispatcher: this.agent,
        signal: AbortSignal.timeout(this.settings.timeoutMs),
      });
      return { status: response.statusCode, headers: response.headers, text: await response.body.text() };
    } catch (error) {
      throw classify(error, outbound.url, this.settings);
    }
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}

/** A header's single value (undici answers repeated headers as arrays). */
export const headerValue = (headers: OutboundResponse['headers'], name: string): string | undefined => {
  const value = headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
};

/** `Retry-After` in seconds or as an HTTP date, capped: a server may ask us to wait, not to stop. */
export function retryAfterMs(header: string | undefined, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const ms = /^\d+$/.test(header.trim()) ? Number(header.trim()) * 1000 : Date.parse(header) - now;
  if (!Number.isFinite(ms) || ms < 0) return undefined;
  return Math.min(ms, 10 * 60_000);
}

export const USER_AGENT = 'SafeShipper-Integrations/1.0';
