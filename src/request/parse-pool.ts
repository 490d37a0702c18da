/**
 * Parses large request bodies on worker threads, so that one body never stalls the other streams: a
 * 16 MB body of a million keys takes seconds to decode, and the event loop would do nothing else
 * meanwhile. Bodies below `LARGE_BODY_BYTES` are parsed inline (microseconds; a worker round trip
 * costs more). The body crosses in a SharedArrayBuffer the session filled while assembling it, so it
 * is not copied again; the worker answers with a summary (request-summary.ts), never the decoded body.
 *
 * Bounded: at most `maxQueuedBytes` of bodies wait for a worker (beyond it: 429); a worker that dies
 * fails its task (500) and is replaced.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { BadRequestError, InternalError, ResourceExhaustedError } from '../errors/errors.js';
import type { RequestSummary } from './request-summary.js';

/** Bodies at least this large are parsed off the event loop. */
export const LARGE_BODY_BYTES = 256 * 1024;

/** Characters of prompt text a summary carries: more than any prefix configuration hashes (131,072 tokens × 4). */
export const PROMPT_PREFIX_LIMIT = 4 * 1024 * 1024;

/** A task as posted to a worker. */
export interface ParseTask {
  readonly id: number;
  readonly path: string;
  readonly body: SharedArrayBuffer | ArrayBuffer;
  readonly offset: number;
  readonly length: number;
  readonly promptLimit: number;
}

/** A worker's answer. */
export type ParseReply =
  | { readonly id: number; readonly summary: RequestSummary; readonly error?: undefined }
  | { readonly id: number; readonly summary?: undefined; readonly error: { readonly badRequest: boolean; readonly message: string } };

interface Pending {
  readonly task: ParseTask;
  readonly resolve: (summary: RequestSummary) => void;
  readonly reject: (err: Error) => void;
}

class PoolWorker {
  readonly worker: Worker;
  current: Pending | undefined;
  constructor(onReply: (w: PoolWorker, reply: ParseReply) => void, onFailure: (w: PoolWorker, err: Error) => void) {
    this.worker = spawn();
    this.worker.on('message', (reply: ParseReply) => onReply(this, reply));
    this.worker.on('error', (err: Error) => onFailure(this, err));
    this.worker.on('exit', (code) => onFailure(this, new Error(`parse worker exited with code ${code}`)));
    // Idle workers must not keep the process alive (a picker that parsed one large body never
    // exited); busy ones must. Unref after the listeners: adding a 'message' listener refs the port.
    this.worker.unref();
  }
}

/** Starts a worker on parse-worker (TypeScript through tsx in a source checkout, JavaScript in dist/). */
function spawn(): Worker {
  const source = import.meta.url.endsWith('.ts');
  const entry = new URL(source ? './parse-worker.ts' : './parse-worker.js', import.meta.url).href;
  const code = source
    ? `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(entry)}); });`
    : `import(${JSON.stringify(entry)});`;
  return new Worker(code, { eval: true });
}

export class ParsePool {
  readonly #size: number;
  readonly #maxQueuedBytes: number;
  readonly #workers: PoolWorker[] = [];
  readonly #queue: Pending[] = [];
  #queuedBytes = 0;
  #nextId = 1;
  #closed = false;

  /** `workers` defaults to one less than the cores (at least one). */
  constructor(options: { workers?: number; maxQueuedBytes?: number } = {}) {
    this.#size = options.workers ?? Math.max(1, availableParallelism() - 1);
    this.#maxQueuedBytes = options.maxQueuedBytes ?? 256 * 1024 * 1024;
  }

  /** Bodies waiting for a worker (for tests and diagnostics). */
  get queued(): number {
    return this.#queue.length;
  }

  /**
   * Parses `body` (best backed by a SharedArrayBuffer: otherwise it is copied to cross) sent to
   * `path`. Rejects with BadRequestError as the inline parser throws, ResourceExhaustedError when
   * too much waits already, InternalError when a worker fails.
   */
  parse(path: string, body: Buffer): Promise<RequestSummary> {
    if (this.#closed) return Promise.reject(new InternalError('the parse pool is closed'));
    if (this.#queuedBytes + body.length > this.#maxQueuedBytes) {
      return Promise.reject(new ResourceExhaustedError('too many large request bodies are waiting to be parsed'));
    }
    let shared = body.buffer;
    let offset = body.byteOffset;
    if (!(shared instanceof SharedArrayBuffer)) {
      const copy = new SharedArrayBuffer(body.length);
      Buffer.from(copy).set(body);
      shared = copy;
      offset = 0;
    }
    const task: ParseTask = { id: this.#nextId++, path, body: shared, offset, length: body.length, promptLimit: PROMPT_PREFIX_LIMIT };
    return new Promise((resolve, reject) => {
      this.#queue.push({ task, resolve, reject });
      this.#queuedBytes += task.length;
      this.#dispatch();
    });
  }

  /** Stops the workers; pending parses fail. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const p of this.#queue.splice(0)) p.reject(new InternalError('the parse pool is closed'));
    this.#queuedBytes = 0;
    const workers = this.#workers.splice(0);
    for (const w of workers) {
      w.current?.reject(new InternalError('the parse pool is closed'));
      w.current = undefined;
    }
    await Promise.all(workers.map((w) => w.worker.terminate()));
  }

  #dispatch(): void {
    while (this.#queue.length > 0) {
      let idle = this.#workers.find((w) => w.current === undefined);
      if (idle === undefined) {
        if (this.#workers.length >= this.#size) return;
        idle = new PoolWorker(
          (w, reply) => this.#replied(w, reply),
          (w, err) => this.#failed(w, err),
        );
        this.#workers.push(idle);
      }
      const next = this.#queue.shift() as Pending;
      this.#queuedBytes -= next.task.length;
      idle.current = next;
      idle.worker.ref();
      idle.worker.postMessage(next.task);
    }
  }

  #replied(w: PoolWorker, reply: ParseReply): void {
    const pending = w.current;
    w.current = undefined;
    w.worker.unref();
    if (pending !== undefined && pending.task.id === reply.id) {
      if (reply.error === undefined) pending.resolve(reply.summary);
      else pending.reject(reply.error.badRequest ? new BadRequestError(reply.error.message) : new InternalError(reply.error.message));
    }
    this.#dispatch();
  }

  #failed(w: PoolWorker, err: Error): void {
    const index = this.#workers.indexOf(w);
    if (index < 0) return;
    this.#workers.splice(index, 1);
    w.current?.reject(new InternalError(`request body parser failed: ${err.message}`));
    w.current = undefined;
    void w.worker.terminate();
    if (!this.#closed) this.#dispatch();
  }
}
