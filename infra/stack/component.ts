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
  /** Installs what is missing; true when it had to install something. */
  install(): Promise<boolean>;
  running(): Promise<boolean>;
  /** Starts the component and returns once it is healthy. */
  start(): Promise<void>;
  /** Stops the component; true when it was running. */
  stop(): Promise<boolean>;
  health(): Promise<{ ok: boolean; detail: string }>;
}
