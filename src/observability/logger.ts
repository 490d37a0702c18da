import { pino, type DestinationStream, type Logger } from 'pino';
import { boundedText } from '../util/bounded-text.js';

/**
 * Longest top-level string field of any log line, in characters: a backstop behind the call sites'
 * own `boundedText` (256) for client-controlled values, generous enough for operator-side text
 * (Kubernetes API errors, config problems) to pass whole.
 */
export const LOG_FIELD_MAX = 2048;

/**
 * The root pino logger. `-v` follows the reference's verbosity numbers: 0–1 warn, 2 info (default),
 * 3 debug (one line per routed request), 4+ trace. Output is JSON on stdout (or `destination`),
 * written asynchronously so logging never blocks the request path on a slow terminal or pipe. Every
 * top-level string field is cut to LOG_FIELD_MAX characters (`boundedText`).
 */
export function createLogger(verbosity: number, name = 'epp', destination?: DestinationStream): Logger {
  const level = verbosity <= 1 ? 'warn' : verbosity === 2 ? 'info' : verbosity === 3 ? 'debug' : 'trace';
  return pino({ name, level, base: { pid: process.pid }, formatters: { log: boundLogFields } }, destination ?? pino.destination({ dest: 1, sync: false }));
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
