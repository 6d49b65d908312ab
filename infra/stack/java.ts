import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { StackError } from './progress.js';
import { capture } from './processes.js';

const MINIMUM = 21;

const major = (version: string) => {
  const [first, second] = version.split('.').map(Number);
  return first === 1 ? (second ?? 0) : (first ?? 0);
};

async function releaseVersion(home: string): Promise<number | undefined> {
  const text = await readFile(join(home, 'release'), 'utf8').catch(() => undefined);
  const version = text && /JAVA_VERSION="([^"]+)"/.exec(text)?.[1];
  return version ? major(version) : undefined;
}

/**
 * Keycloak 26 needs Java 21+. Order: JAVA_HOME if set (and good), the newest JDK under
 * /usr/lib/jvm, else the default `java`; a too-old Java fails here with the fix named.
 */
export async function findJavaHome(javaHome: string | undefined): Promise<string> {
  if (javaHome) {
    const version = await releaseVersion(javaHome);
    if (version !== undefined && version >= MINIMUM) return javaHome;
    throw new StackError(
      `JAVA_HOME=${javaHome} is Java ${version ?? 'unknown'}; Keycloak 26 needs Java ${MINIMUM}+`,
      `point JAVA_HOME at a JDK ${MINIMUM}+ (e.g. one under /usr/lib/jvm), or unset it to pick one automatically`,
    );
  }
  const jvmRoot = '/usr/lib/jvm';
  const candidates = await readdir(jvmRoot).catch(() => [] as string[]);
  const found: Array<{ home: string; version: number }> = [];
  for (const name of candidates) {
    const home = join(jvmRoot, name);
    const version = await releaseVersion(home);
    if (version !== undefined) found.push({ home, version });
  }
  found.sort((a, b) => b.version - a.version);
  const best = found.find((candidate) => candidate.version >= MINIMUM);
  if (best) return best.home;
  const probe = await capture('java', ['-XshowSettings:properties', '-version']);
  const home = /java\.home = (.+)/.exec(probe.stderr)?.[1]?.trim();
  const version = /java\.specification\.version = (.+)/.exec(probe.stderr)?.[1]?.trim();
  if (home && version && major(version) >= MINIMUM) return home;
  throw new StackError(
    probe.code === 0 ? `the default Java is ${version}; Keycloak 26 needs Java ${MINIMUM}+ and none was found under ${jvmRoot}` : `no Java found; Keycloak 26 needs Java ${MINIMUM}+`,
    `install a JDK ${MINIMUM}+ (for example Temurin 21/25) under ${jvmRoot}, or set JAVA_HOME to one`,
  );
}
