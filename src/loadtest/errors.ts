/** How the load test names, counts and raises failures. */

/**
 * A failure that ends the whole run (unreachable URL, failed health check, no model): the CLI prints
 * its message and exits non-zero.
 */
export class LoadtestError extends Error {
  override readonly name = 'LoadtestError';
}

/**
 * Counts failed requests by kind: `HTTP <status>` for an error status, otherwise a network or
 * protocol kind (`connection refused`, `timeout`, `stage deadline`, `bad response`, …).
 */
export class ErrorTally {
  private readonly counts = new Map<string, number>();

  add(kind: string): void {
    this.counts.set(kind, (this.counts.get(kind) ?? 0) + 1);
  }

  get total(): number {
    let n = 0;
    for (const v of this.counts.values()) n += v;
    return n;
  }

  /** Kinds and counts, most frequent first (ties by name). */
  toRecord(): Record<string, number> {
    const entries = [...this.counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
    return Object.fromEntries(entries);
  }
}

const CODES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host not found',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'connect timeout',
  UND_ERR_CONNECT_TIMEOUT: 'connect timeout',
  UND_ERR_SOCKET: 'connection closed',
  UND_ERR_HEADERS_TIMEOUT: 'timeout',
  UND_ERR_BODY_TIMEOUT: 'timeout',
  EPIPE: 'connection closed',
};

function innermostMessage(err: unknown): string | undefined {
  if (!(err instanceof Error)) return undefined;
  return innermostMessage(err.cause) ?? err.message;
}

function codeOf(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') return code;
  // Several addresses tried (localhost → ::1 and 127.0.0.1): the first one's code speaks for all.
  const errors = (err as { errors?: unknown }).errors;
  if (Array.isArray(errors)) return codeOf(errors[0]);
  return codeOf((err as { cause?: unknown }).cause);
}

/**
 * The tally kind of an exception thrown by `fetch` or while reading a body. `stage deadline` and
 * `timeout` come from the abort reasons the client sets; everything else is named by its error code,
 * or `network error: <innermost cause's message>` when it has none (e.g. fetch's `bad port`).
 */
export function failureKind(err: unknown): string {
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'StageDeadline')) return err.name === 'TimeoutError' ? 'timeout' : 'stage deadline';
  const code = codeOf(err);
  if (code !== undefined) return CODES[code] ?? code;
  const message = innermostMessage(err);
  return message === undefined || message === '' ? 'network error' : `network error: ${message}`;
}

/** Kinds that mean nothing answers at the address, so the run should stop at once. */
export function isUnreachable(kind: string): boolean {
  return kind === 'connection refused' || kind === 'host not found' || kind === 'host unreachable' || kind === 'network unreachable' || kind === 'connect timeout';
}
