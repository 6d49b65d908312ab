import { pino, type Logger } from 'pino';

export type { Logger };

/** Structured JSON logs; every process tags its lines with its name. */
export function createLogger(process: string, level = 'info'): Logger {
  return pino({ level, base: { process }, timestamp: pino.stdTimeFunctions.isoTime });
}
