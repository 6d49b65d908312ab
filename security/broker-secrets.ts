import { pbkdf2, randomBytes, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

const pbkdf2Async = promisify(pbkdf2);

/**
 * An external MQTT broker checks a device's secret itself, and no broker verifies scrypt: each
 * device therefore also gets a PBKDF2-SHA512 hash, in mosquitto's `$7$iterations$salt$hash`
 * form (mosquitto_passwd's own format; EMQX's `pbkdf2` authenticator reads the same three parts).
 * A device secret is 192 random bits, so the iteration count buys no strength against guessing
 * and is kept at mosquitto_passwd's default: a reconnect storm of many devices stays cheap.
 */
export const BROKER_HASH_ITERATIONS = 101;

export async function brokerSecretHash(secret: string, iterations = BROKER_HASH_ITERATIONS): Promise<string> {
  const salt = randomBytes(12);
  const hash = await pbkdf2Async(secret, salt, iterations, 64, 'sha512');
  return `$7$${iterations}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

/** Whether `hash` (the `$7$` form) is the hash of `secret`. */
export async function brokerSecretMatches(secret: string, hash: string): Promise<boolean> {
  const [, scheme, iterations, salt, expected] = hash.split('$');
  if (scheme !== '7' || !iterations || !salt || !expected) return false;
  const wanted = Buffer.from(expected, 'base64');
  const actual = await pbkdf2Async(secret, Buffer.from(salt, 'base64'), Number(iterations), wanted.length, 'sha512');
  return timingSafeEqual(actual, wanted);
}

/**
 * The broker's password file holds service accounts (written by whoever deploys the broker)
 * above this line and the devices (kept in sync with PostgreSQL by ingest) below it.
 */
export const DEVICES_MARKER = '# devices: kept in sync with PostgreSQL by ingest; lines below are replaced';

export interface PasswordLine {
  username: string;
  hash: string;
}

const lines = (entries: PasswordLine[]) => entries.map(({ username, hash }) => `${username}:${hash}\n`).join('');

/** The file with its device section replaced (service accounts above the marker kept as they are). */
export function withDevices(file: string, devices: PasswordLine[]): string {
  const at = file.indexOf(DEVICES_MARKER);
  const head = at === -1 ? file : file.slice(0, at);
  return `${head}${head === '' || head.endsWith('\n') ? '' : '\n'}${DEVICES_MARKER}\n${lines(devices)}`;
}

/** The file with its service-account section replaced (the device section kept as it is). */
export function withServiceAccounts(file: string, accounts: PasswordLine[]): string {
  const at = file.indexOf(DEVICES_MARKER);
  return `${lines(accounts)}${at === -1 ? `${DEVICES_MARKER}\n` : file.slice(at)}`;
}
