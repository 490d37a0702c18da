/**
 * The server-side session bindings of session affinity's `session_id` strategy: session identifier →
 * the endpoint that served it and when it was last used. Identifiers are client-controlled, so the
 * table is bounded twice: identifiers longer than `maxKeyLength` are never stored (the request is
 * treated as carrying none), and beyond `maxSessions` bindings the least recently used ones are
 * dropped — a sixteenth of the bound at once, because removing the oldest entry of a large Map one at
 * a time makes each removal walk past the holes the previous ones left (quadratic under a flood).
 *
 * Bindings unused for longer than the TTL are swept at most every `sweepMs`, on the next access after
 * that interval (reads included), with the injected clock: the effect of llm-d's periodic sweeper
 * without a timer to own. Map order is least recently used first, so a sweep stops at the first
 * binding still alive.
 */

/** Bindings kept at most; a new session beyond it displaces the least recently used one. */
export const MAX_SESSIONS = 100_000;
/** Longest session identifier stored, in UTF-16 units. */
export const MAX_SESSION_ID_LENGTH = 256;

interface Binding {
  readonly endpoint: string;
  readonly lastSeen: number;
}

export interface SessionTableOptions {
  readonly ttlMs: number;
  readonly sweepMs: number;
  readonly now: () => number;
  readonly maxSessions?: number;
  readonly maxKeyLength?: number;
}

export class SessionTable {
  readonly #bindings = new Map<string, Binding>();
  readonly #maxSessions: number;
  readonly maxKeyLength: number;
  #lastSweep: number;

  constructor(private readonly options: SessionTableOptions) {
    this.#maxSessions = options.maxSessions ?? MAX_SESSIONS;
    this.maxKeyLength = options.maxKeyLength ?? MAX_SESSION_ID_LENGTH;
    this.#lastSweep = options.now();
  }

  get size(): number {
    return this.#bindings.size;
  }

  /** The endpoint name `session` is bound to, if any. */
  boundEndpoint(session: string): string | undefined {
    this.#sweepIfDue();
    return this.#bindings.get(session)?.endpoint;
  }

  /** Binds `session` to `endpoint` (or refreshes the binding), as the most recently used. */
  bind(session: string, endpoint: string): void {
    if (session.length > this.maxKeyLength) return;
    this.#sweepIfDue();
    this.#bindings.delete(session);
    this.#bindings.set(session, { endpoint, lastSeen: this.options.now() });
    if (this.#bindings.size > this.#maxSessions) {
      const keep = this.#maxSessions + 1 - Math.max(1, this.#maxSessions >>> 4);
      for (const oldest of this.#bindings.keys()) {
        if (this.#bindings.size <= keep) break;
        this.#bindings.delete(oldest);
      }
    }
  }

  #sweepIfDue(): void {
    const now = this.options.now();
    if (now - this.#lastSweep < this.options.sweepMs) return;
    this.#lastSweep = now;
    for (const [session, b] of this.#bindings) {
      if (now - b.lastSeen <= this.options.ttlMs) break;
      this.#bindings.delete(session);
    }
  }
}
