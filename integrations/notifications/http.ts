import { PermanentDeliveryFailure } from './channel.js';

/**
 * POSTs JSON to a configured endpoint. Credentials in the URL (`https://user:secret@host/…`)
 * become a Basic Authorization header (fetch refuses URLs that carry them). A 2xx is accepted; a
 * 4xx other than 408 and 429 is the endpoint refusing this message for good; anything else, a
 * timeout included, is worth another attempt.
 */
export async function postJson(url: URL, body: unknown, headers: Record<string, string>, timeoutMs: number): Promise<{ status: number; text: string }> {
  const target = new URL(url);
  const auth: Record<string, string> = target.username || target.password ? { Authorization: `Basic ${Buffer.from(`${decodeURIComponent(target.username)}:${decodeURIComponent(target.password)}`).toString('base64')}` } : {};
  target.username = '';
  target.password = '';
  const response = await fetch(target, { method: 'POST', headers: { 'Content-Type': 'application/json', ...auth, ...headers }, body: JSON.stringify(body), signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' });
  const text = await response.text();
  if (response.ok) return { status: response.status, text };
  const problem = `${target.origin}${target.pathname} answered ${response.status}: ${text.slice(0, 200)}`;
  if (response.status >= 400 && response.status < 500 && response.status !== 408 && response.status !== 429) throw new PermanentDeliveryFailure(problem);
  throw new Error(problem);
}
