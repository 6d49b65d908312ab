import type { Client } from 'aedes';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import type { Logger } from '../config/logger.js';
import type { Database } from '../db/orm.js';
import { deviceCredentials, upgradeDeviceSecretHash, type DeviceCredentials } from '../db/devices.js';
import { secretIdentity, verifyDeviceSecret } from '../security/device-secrets.js';
import { clientIdBelongsTo, commandsTopic } from '../domain/telemetry-topics.js';

/** A device's live session: who it is, and the credentials it proved, to compare after a change. */
export interface DeviceSession extends DeviceCredentials {
  username: string;
  /** `changeCount(username)` when these credentials were read; another value means "read them again". */
  seen: number;
  revoked: boolean;
}

/** MQTT 3.1.1 CONNACK return codes. */
export const CONNACK = { IDENTIFIER_REJECTED: 2, SERVER_UNAVAILABLE: 3, BAD_CREDENTIALS: 4 } as const;

export type AuthResult = { ok: true } | { ok: false; returnCode: number; reason: string };

export interface DeviceAuthOptions {
  /** Failed CONNECTs per minute for one username, and for one client address, before either is refused unchecked. */
  failuresPerUsername: number;
  failuresPerAddress: number;
  /** Whether credential changes are being heard (the LISTEN connection is up); while not, every publish re-reads them. */
  hearingChanges: () => boolean;
}

/**
 * How many CONNECTs of one username, and of one client address, are checked at the same time;
 * the others wait their turn (they are not refused). One per username: a device has few
 * connections, and a guess at its secret is checked only after the previous guess's failure
 * was counted. A few per address: a fleet behind one NAT is checked at this many times the
 * speed of one check (a lookup and a hash: well under a millisecond of CPU each).
 */
export const CHECKS_IN_FLIGHT = { perUsername: 1, perAddress: 8 } as const;

/** At most `limit` tasks at a time for each key, the rest queued in arrival order; an idle key holds no memory. */
class KeyedGate {
  private readonly queues = new Map<string, { running: number; waiting: Array<() => void> }>();

  constructor(private readonly limit: number) {}

  async run<T>(key: string, task: () => Promise<T>): Promise<T> {
    let queue = this.queues.get(key);
    if (!queue) this.queues.set(key, (queue = { running: 0, waiting: [] }));
    if (queue.running >= this.limit) await new Promise<void>((resolve) => queue.waiting.push(resolve));
    else queue.running += 1;
    try {
      return await task();
    } finally {
      // The slot passes straight to the next waiter, so a newcomer cannot overtake the queue.
      const next = queue.waiting.shift();
      if (next) next();
      else if ((queue.running -= 1) === 0) this.queues.delete(key);
    }
  }
}

/**
 * Device authentication and authorisation for the broker: CONNECT (secret, client id, throttling),
 * the topic ACL, and the sessions' fate when their credentials change. Transport-agnostic: it
 * sees aedes clients only as keys and as something to close.
 */
export class DeviceAuth {
  private readonly sessions = new WeakMap<Client, DeviceSession>();
  private readonly byUsername = new Map<string, Set<Client>>();
  private readonly changes = new Map<string, number>();
  private everyoneChanged = 0;
  private readonly usernameFailures: RateLimiterMemory;
  private readonly addressFailures: RateLimiterMemory;
  private readonly usernameChecks = new KeyedGate(CHECKS_IN_FLIGHT.perUsername);
  private readonly addressChecks = new KeyedGate(CHECKS_IN_FLIGHT.perAddress);

  constructor(
    private readonly db: Database,
    private readonly log: Logger,
    private readonly options: DeviceAuthOptions,
  ) {
    this.usernameFailures = new RateLimiterMemory({ points: options.failuresPerUsername, duration: 60 });
    this.addressFailures = new RateLimiterMemory({ points: options.failuresPerAddress, duration: 60 });
  }

  private changeCount(username: string): number {
    return this.everyoneChanged + (this.changes.get(username) ?? 0);
  }

  /**
   * The budgets count failed checks only: a device that proves its secret never spends them, so
   * a fleet behind one NAT reconnecting all at once (an ingest restart) is never refused for its
   * numbers. Counting failures only after a check would let a burst of parallel guesses all be
   * checked before any failure is counted; the gates bound that instead: a username is checked
   * one CONNECT at a time and an address CHECKS_IN_FLIGHT.perAddress at a time, and each check
   * starts only while the budgets have room. So at most budget guesses per minute are checked
   * for a username, and at most budget + perAddress - 1 from an address. Past either budget,
   * CONNECT is refused without checking the secret (even the right one: a guess made then could
   * not succeed, so guessing gains nothing); such refusals are not counted again, so a device
   * retrying with a stale secret does not lock out its NAT's other devices for longer.
   * PostgreSQL unreachable is not a failed guess: nothing is counted.
   */
  async authenticate(client: Client, username: string | undefined, password: Buffer | undefined): Promise<AuthResult> {
    const address = client.conn && 'remoteAddress' in client.conn ? String(client.conn.remoteAddress) : 'unknown';
    if (!username || !password) return { ok: false, returnCode: CONNACK.BAD_CREDENTIALS, reason: 'username and password are required' };
    // Always address first, then username: no two CONNECTs can each hold a slot the other waits for.
    return this.addressChecks.run(address, () => this.usernameChecks.run(username, () => this.check(client, username, password, address)));
  }

  private async check(client: Client, username: string, password: Buffer, address: string): Promise<AuthResult> {
    // Gone while it waited for its turn: not worth a check.
    if (client.conn.destroyed) return { ok: false, returnCode: CONNACK.SERVER_UNAVAILABLE, reason: 'connection closed before authentication' };
    const spent = async (limiter: RateLimiterMemory, key: string) => ((await limiter.get(key))?.consumedPoints ?? 0) >= limiter.points;
    if ((await spent(this.usernameFailures, username)) || (await spent(this.addressFailures, address))) return { ok: false, returnCode: CONNACK.SERVER_UNAVAILABLE, reason: 'too many failed CONNECTs; try again later' };
    const seen = this.changeCount(username);
    let credentials = await deviceCredentials(this.db, username);
    // An unknown or revoked username is verified against a dummy hash: the same work as a wrong secret.
    const secret = await verifyDeviceSecret(password.toString('utf8'), credentials?.secretHash);
    if (!secret.ok || !credentials) {
      await Promise.all([this.usernameFailures.penalty(username, 1), this.addressFailures.penalty(address, 1)]);
      return { ok: false, returnCode: CONNACK.BAD_CREDENTIALS, reason: 'bad username or secret' };
    }
    if (!clientIdBelongsTo(client.id, username)) return { ok: false, returnCode: CONNACK.IDENTIFIER_REJECTED, reason: `client id must be "${username}" or start with "${username}:"` };
    if (secret.upgraded) credentials = await this.upgrade(credentials, secret.upgraded);
    // Rotated or revoked while the secret was being checked: the change was announced before
    // this session was known, so it is read again here.
    if (this.changeCount(username) !== seen) {
      const now = await deviceCredentials(this.db, username);
      if (!now || !sameSecret(now, credentials)) return { ok: false, returnCode: CONNACK.BAD_CREDENTIALS, reason: 'credentials changed' };
      credentials = now;
    }
    // Gone while we checked: its 'close' has fired already and would never unregister it.
    if (client.conn.destroyed) return { ok: false, returnCode: CONNACK.SERVER_UNAVAILABLE, reason: 'connection closed during authentication' };
    this.sessions.set(client, { ...credentials, username, seen, revoked: false });
    let clients = this.byUsername.get(username);
    if (!clients) this.byUsername.set(username, (clients = new Set()));
    clients.add(client);
    client.conn.once('close', () => this.forget(client, username));
    return { ok: true };
  }

  /** A legacy hash just matched: the current form of it is stored, once; failing that, the device is let in all the same and upgraded next time. */
  private async upgrade(credentials: DeviceCredentials, upgraded: string): Promise<DeviceCredentials> {
    try {
      return (await upgradeDeviceSecretHash(this.db, credentials, upgraded)) ? { ...credentials, secretHash: upgraded } : credentials;
    } catch (error) {
      this.log.warn({ err: error, deviceId: credentials.deviceId }, 'device secret hash could not be upgraded; trying again at its next CONNECT');
      return credentials;
    }
  }

  private forget(client: Client, username: string): void {
    const clients = this.byUsername.get(username);
    clients?.delete(client);
    if (clients?.size === 0) this.byUsername.delete(username);
  }

  /**
   * The client's session while it may publish (to its own topics: ingest/transports/aedes.ts checks
   * which), or undefined. Credentials changed since they were read (or changes cannot be heard
   * right now) are read again first.
   */
  async publisher(client: Client | null): Promise<DeviceSession | undefined> {
    const session = client ? this.sessions.get(client) : undefined;
    if (!client || !session || session.revoked) return undefined;
    if (!this.options.hearingChanges() || session.seen !== this.changeCount(session.username)) {
      // PostgreSQL unreachable: the publish waits (unacknowledged) until the credentials can be read, as its points would wait for their commit.
      for (let attempt = 0; ; attempt += 1) {
        try {
          await this.recheck(client, session);
          break;
        } catch (error) {
          if (client.conn.destroyed) return undefined;
          if (attempt === 0) this.log.warn({ err: error, device: session.username }, 'device credentials could not be re-read; holding its publish');
          await new Promise((resolve) => setTimeout(resolve, Math.min(2000, 50 * 2 ** Math.min(attempt, 6))));
        }
      }
    }
    return session.revoked ? undefined : session;
  }

  /** The client's authenticated session, if any. */
  session(client: Client): DeviceSession | undefined {
    return this.sessions.get(client);
  }

  /** Whether the client's device has another connection open (one device, several client ids). */
  hasOtherConnections(client: Client): boolean {
    const session = this.sessions.get(client);
    const clients = session && this.byUsername.get(session.username);
    return !!clients && [...clients].some((other) => other !== client);
  }

  maySubscribe(client: Client, topic: string): boolean {
    const session = this.sessions.get(client);
    return !!session && !session.revoked && topic === commandsTopic(session.username);
  }

  /** A committed change to this username's device: each live session is checked now, and closed unless still valid. */
  credentialsChanged(username: string): Promise<void> {
    this.changes.set(username, (this.changes.get(username) ?? 0) + 1);
    return this.recheckAll([username]);
  }

  /** Changes may have been missed (the listener reconnected): every live session is checked again. */
  everythingMayHaveChanged(): Promise<void> {
    this.everyoneChanged += 1;
    return this.recheckAll([...this.byUsername.keys()]);
  }

  private async recheckAll(usernames: string[]): Promise<void> {
    // A few at a time: after a reconnect this is every connected device.
    const queue = [...usernames];
    const worker = async () => {
      for (let username = queue.shift(); username !== undefined; username = queue.shift()) {
        for (const client of this.byUsername.get(username) ?? []) {
          const session = this.sessions.get(client);
          // On failure the session stays marked as not re-read: its next publish tries again.
          if (session && !session.revoked) await this.recheck(client, session).catch((error: unknown) => this.log.error({ err: error, device: username }, 'device credentials re-check failed'));
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
  }

  private async recheck(client: Client, session: DeviceSession): Promise<void> {
    const seen = this.changeCount(session.username);
    const now = await deviceCredentials(this.db, session.username);
    if (!now || !sameSecret(now, session)) {
      session.revoked = true;
      this.log.warn({ device: session.username, clientId: client.id }, 'device credentials revoked or changed; closing its session');
      client.close();
      return;
    }
    Object.assign(session, { companyId: now.companyId, vehicleId: now.vehicleId, secretHash: now.secretHash, seen });
  }
}

/**
 * Whether the device's stored credentials are still the ones a session proved: the same device,
 * and the same issued secret. Not the same hash text: a legacy hash upgraded in place (on any
 * ingest process) keeps its identity and must not close the sessions that proved it.
 */
function sameSecret(now: DeviceCredentials, proved: DeviceCredentials): boolean {
  return now.deviceId === proved.deviceId && secretIdentity(now.secretHash) === secretIdentity(proved.secretHash);
}
