import ipaddr from 'ipaddr.js';

/**
 * Which customer-given URLs the platform calls (ERP endpoints, webhook receivers). A URL a
 * company admin types is one the worker will send requests to from inside our network, so it is
 * server-side request forgery waiting to happen unless the destination is checked:
 *
 * - `https:` only; the one exception is `http:` to a loopback host, and only when loopback is allowed.
 * - The host may not be (or resolve to) a private, loopback, link-local (cloud metadata at
 *   169.254.169.254), carrier-grade NAT, multicast, reserved or otherwise non-public address:
 *   only globally routable unicast addresses are called. The check runs on the literal here and
 *   on every address DNS answers at connect time (integrations/outbound-http.ts), so a name that
 *   later resolves somewhere private (DNS rebinding) is refused too.
 * - Loopback is allowed only outside production (NODE_ENV development or test), where the local
 *   servers that play the ERP and the receivers listen on 127.0.0.1.
 * - No credentials in the URL (they go in the connection's encrypted credentials), no fragment.
 */
export interface OutboundPolicy {
  /** Loopback destinations (127.0.0.0/8, ::1, localhost) may be called, over http: too. */
  allowLoopback: boolean;
}

/** Production refuses loopback; development and test allow it (the local stack's fakes listen there). */
export function outboundPolicyFor(nodeEnv: 'development' | 'test' | 'production'): OutboundPolicy {
  return { allowLoopback: nodeEnv !== 'production' };
}

export const MAX_URL_LENGTH = 2048;

/** Why an address may not be called under `policy`, or undefined when it may. */
export function addressProblem(address: string, policy: OutboundPolicy): string | undefined {
  if (!ipaddr.isValid(address)) return `${address} is not an IP address`;
  const range = ipaddr.process(address).range();
  if (range === 'unicast') return undefined;
  if (range === 'loopback') return policy.allowLoopback ? undefined : `${address} is a loopback address, refused in production`;
  return `${address} is not a public address (${range})`;
}

const bare = (hostname: string) => hostname.replace(/^\[(.*)\]$/, '$1');
/** RFC 6761: `localhost` and every name under it are loopback, whatever a resolver says. */
const isLocalhostName = (hostname: string) => /^(.+\.)?localhost\.?$/i.test(hostname);

export function isLoopbackHost(hostname: string): boolean {
  const host = bare(hostname);
  if (isLocalhostName(host)) return true;
  return ipaddr.isValid(host) && ipaddr.process(host).range() === 'loopback';
}

/**
 * Why `value` may not be configured as an endpoint under `policy`, or undefined. `allowQuery`:
 * a webhook receiver may carry its own token in the query; an ERP base URL gets paths appended
 * and takes none.
 */
export function endpointUrlProblem(value: string, policy: OutboundPolicy, options: { allowQuery: boolean } = { allowQuery: true }): string | undefined {
  if (value.length > MAX_URL_LENGTH) return `must be at most ${MAX_URL_LENGTH} characters`;
  if (!URL.canParse(value)) return 'must be an absolute URL';
  const url = new URL(value);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'must be an https: URL';
  if (url.username || url.password) return 'must not carry credentials (give them as the connection\'s credentials, which are encrypted at rest)';
  if (url.hash) return 'must not have a fragment (#…)';
  if (!options.allowQuery && url.search) return 'must not have a query string';
  const loopback = isLoopbackHost(url.hostname);
  if (loopback && !policy.allowLoopback) return 'must not point at this machine (loopback is refused in production)';
  if (url.protocol === 'http:' && !loopback) return 'must be an https: URL (http: only to a loopback host, for local testing)';
  const host = bare(url.hostname);
  if (!loopback && ipaddr.isValid(host)) {
    const problem = addressProblem(host, policy);
    if (problem) return `must point at a public address: ${problem}`;
  }
  return undefined;
}
