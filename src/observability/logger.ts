import { pino, type Logger } from 'pino';

/**
 * The root pino logger. `-v` follows the reference's verbosity numbers: 0–1 warn, 2 info (default),
 * 3 debug (one line per routed request), 4+ trace. Output is JSON on stdout, written asynchronously so
 * logging never blocks the request path on a slow terminal or pipe.
 */
export function createLogger(verbosity: number, name = 'epp'): Logger {
  const level = verbosity <= 1 ? 'warn' : verbosity === 2 ? 'info' : verbosity === 3 ? 'debug' : 'trace';
  return pino({ name, level, base: { pid: process.pid } }, pino.destination({ dest: 1, sync: false }));
}

/** A logger that drops everything, for tests and embedded use. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

export type { Logger };
