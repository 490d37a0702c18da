import { pino, type DestinationStream, type Logger } from 'pino';
import { boundedText } from '../util/bounded-text.js';

/**
 * Longest top-level string field of any log line, in characters: a backstop behind the call sites'
 * own `boundedText` (256) for client-controlled values, generous enough for operator-side text
 * (Kubernetes API errors, config problems) to pass whole.
 */
export const LOG_FIELD_MAX = 2048;

/** pino's number for the reference's VERBOSE (`-v=3`): between info (30) and debug (20). */
export const VERBOSE_LEVEL_VALUE = 25;

/** The pino level `-v` selects. */
export function levelForVerbosity(verbosity: number): 'warn' | 'info' | 'verbose' | 'debug' | 'trace' {
  return verbosity <= 1 ? 'warn' : verbosity === 2 ? 'info' : verbosity === 3 ? 'verbose' : verbosity === 4 ? 'debug' : 'trace';
}

/**
 * The root pino logger. `-v` follows the reference's verbosity numbers (DEFAULT 2, VERBOSE 3, DEBUG 4,
 * TRACE 5): 0–1 warn, 2 info (default), 3 verbose (one line per request), 4 debug (that line with the
 * scheduling profile and the scores of the winner and the runner-up, plus the plugins' own debug
 * lines), 5+ trace (every ext_proc message and admission check). Output is JSON on stdout (or
 * `destination`), written asynchronously so logging never blocks the request path on a slow terminal
 * or pipe. Every top-level string field is cut to LOG_FIELD_MAX characters (`boundedText`).
 */
export function createLogger(verbosity: number, name = 'epp', destination?: DestinationStream): Logger {
  const level = levelForVerbosity(verbosity);
  const logger = pino(
    { name, level, customLevels: { verbose: VERBOSE_LEVEL_VALUE }, base: { pid: process.pid }, formatters: { log: boundLogFields } },
    destination ?? pino.destination({ dest: 1, sync: false }),
  );
  // A logger with one more level than pino's own: callers reach it through isVerbose / logVerbose.
  return logger as unknown as Logger;
}

/** True when `logger` writes lines at the reference's VERBOSE level (`-v=3` and up). */
export function isVerbose(logger: Logger): boolean {
  return logger.levels.values.verbose === undefined ? logger.isLevelEnabled('debug') : logger.isLevelEnabled('verbose');
}

/** Writes one line at VERBOSE (at debug on a logger made without that level). Check `isVerbose` first on hot paths. */
export function logVerbose(logger: Logger, fields: Record<string, unknown>, message: string): void {
  const verbose = (logger as Logger & { verbose?: (fields: Record<string, unknown>, message: string) => void }).verbose;
  if (typeof verbose === 'function') verbose.call(logger, fields, message);
  else logger.debug(fields, message);
}

/** The fields of a log line with every top-level string cut to LOG_FIELD_MAX; `fields` itself when none is longer. */
export function boundLogFields(fields: Record<string, unknown>): Record<string, unknown> {
  let out: Record<string, unknown> | undefined;
  for (const key in fields) {
    const value = fields[key];
    if (typeof value !== 'string' || value.length <= LOG_FIELD_MAX) continue;
    out ??= { ...fields };
    out[key] = boundedText(value, LOG_FIELD_MAX);
  }
  return out ?? fields;
}

/** A logger that drops everything, for tests and embedded use. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

export type { Logger };
