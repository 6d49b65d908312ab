import type { Client } from 'aedes';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import type { Logger } from '../config/logger.js';
import type { Database } from '../db/orm.js';
import { deviceCredentials, type DeviceCredentials } from '../db/devices.js';
import { verifyDeviceSecret } from '../security/device-secrets.js';
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

  async authenticate(client: Client, username: string | undefined, password: Buffer | undefined): Promise<AuthResult> {
    const address = client.conn && 'remoteAddress' in client.conn ? String(client.conn.remoteAddress) : 'unknown';
    if (!username || !password) return { ok: false, returnCode: CONNACK.BAD_CREDENTIALS, reason: 'username and password are required' };
    // Every attempt takes a point from its username's and its address's budget up front (so a
    // burst of parallel guesses cannot all pass a check before any failure is counted); a
    // success gives them back. Past either budget, CONNECT is refused without checking the
    // secret: a guess made then could not succeed, so guessing gains nothing and costs no scrypt.
    const budgets = [
      { limiter: this.usernameFailures, key: username },
      { limiter: this.addressFailures, key: address },
    ];
    const taken = await Promise.allSettled(budgets.map(({ limiter, key }) => limiter.consume(key)));
    if (taken.some((result) => result.status === 'rejected')) return { ok: false, returnCode: CONNACK.SERVER_UNAVAILABLE, reason: 'too many failed CONNECTs; try again later' };
    const seen = this.changeCount(username);
    // PostgreSQL unreachable is not a failed guess: the budgets are given back, so devices reconnect as soon as it returns.
    const giveBack = async (error: unknown): Promise<never> => {
      await Promise.all(budgets.map(({ limiter, key }) => limiter.reward(key, 1)));
      throw error;
    };
    let credentials = await deviceCredentials(this.db, username).catch(giveBack);
    // An unknown or revoked username is verified against a dummy hash: the same work as a wrong secret.
    if (!(await verifyDeviceSecret(password.toString('utf8'), credentials?.secretHash))) return { ok: false, returnCode: CONNACK.BAD_CREDENTIALS, reason: 'bad username or secret' };
    await Promise.all(budgets.map(({ limiter, key }) => limiter.reward(key, 1)));
    if (!clientIdBelongsTo(client.id, username)) return { ok: false, returnCode: CONNACK.IDENTIFIER_REJECTED, reason: `client id must be "${username}" or start with "${username}:"` };
    // Rotated or revoked while the secret was being checked: the change was announced before
    // this session was known, so it is read again here.
    if (this.changeCount(username) !== seen) {
      const now = await deviceCredentials(this.db, username).catch(giveBack);
      if (!now || now.deviceId !== credentials!.deviceId || now.secretHash !== credentials!.secretHash) return { ok: false, returnCode: CONNACK.BAD_CREDENTIALS, reason: 'credentials changed' };
      credentials = now;
    }
    // Gone while we checked: its 'close' has fired already and would never unregister it.
    if (client.conn.destroyed) return { ok: false, returnCode: CONNACK.SERVER_UNAVAILABLE, reason: 'connection closed during authentication' };
    this.sessions.set(client, { ...credentials!, username, seen, revoked: false });
    let clients = this.byUsername.get(username);
    if (!clients) this.byUsername.set(username, (clients = new Set()));
    clients.add(client);
    client.conn.once('close', () => this.forget(client, username));
    return { ok: true };
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
    if (!now || now.deviceId !== session.deviceId || now.secretHash !== session.secretHash) {
      session.revoked = true;
      this.log.warn({ device: session.username, clientId: client.id }, 'device credentials revoked or changed; closing its session');
      client.close();
      return;
    }
    Object.assign(session, { companyId: now.companyId, vehicleId: now.vehicleId, seen });
  }
}
