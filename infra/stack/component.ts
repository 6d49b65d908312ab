import type { StackSettings } from './settings.js';
import type { StackSecrets } from './secrets.js';

export interface StackContext {
  settings: StackSettings;
  secrets: StackSecrets;
}

/** One real component of the local stack: installed once, started once, health-checked always. */
export interface Component {
  name: string;
  title: string;
  log: string;
  url(): string;
  /** Debian packages it needs, and the files that prove each set is installed (installed together, before any `install`). */
  debian?: { packages: string[]; files: string[] };
  /** Installs what is missing (beyond Debian packages); true when it had to install something. */
  install?(): Promise<boolean>;
  running(): Promise<boolean>;
  /** Brings a component that is already running up to date with this checkout (idempotent). */
  reconcile?(): Promise<void>;
  /** Starts the component and returns once it is healthy. */
  start(): Promise<void>;
  /** Stops the component; true when it was running. */
  stop(): Promise<boolean>;
  health(): Promise<{ ok: boolean; detail: string }>;
}
