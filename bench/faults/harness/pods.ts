/**
 * Fake model-server pods on distinct loopback addresses (127.0.0.x makes a distinct pod), whose
 * `/metrics` can be told to misbehave: die (connections refused), hang, answer 500 or garbage, reset,
 * stream a 50 MB page, or dribble one byte a second (slowloris).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { listen } from '../../../src/util/net.js';

export type MetricsMode = 'ok' | 'dead' | 'hang' | 'http-500' | 'garbage' | 'reset' | 'huge' | 'slowloris';

/** What an `ok` pod reports. */
export interface PodLoad {
  readonly waiting: number;
  readonly running: number;
  readonly kv: number;
}

const HUGE_BYTES = 50_000_000;
const HUGE_LINE = Buffer.from('vllm:num_requests_waiting{engine="0",model_name="m"} 5.0\n'.repeat(1170)); // ~64 KiB

function page(load: PodLoad): string {
  return (
    `vllm:num_requests_waiting{engine="0",model_name="m"} ${load.waiting}\n` +
    `vllm:num_requests_running{engine="0",model_name="m"} ${load.running}\n` +
    `vllm:kv_cache_usage_perc{engine="0",model_name="m"} ${load.kv}\n`
  );
}

export class FakePod {
  #server: Server;
  readonly #sockets = new Set<Socket>();
  readonly #timers = new Set<NodeJS.Timeout>();
  #mode: MetricsMode = 'ok';
  load: PodLoad;
  /** `/metrics` requests received. */
  scrapes = 0;
  /** `/metrics` requests being answered now, and the most at once (a scraper keeps one in flight). */
  inFlight = 0;
  maxInFlight = 0;
  /** Bytes of 50 MB pages written so far (what the scraper took before giving up). */
  hugeBytesWritten = 0;

  private constructor(
    readonly host: string,
    public port: number,
    load: PodLoad,
  ) {
    this.load = load;
    this.#server = this.#create();
  }

  /** Starts a pod at `host:port` (0 = any free port) reporting `load`. */
  static async start(host: string, port = 0, load: PodLoad = { waiting: 0, running: 0, kv: 0.1 }): Promise<FakePod> {
    const pod = new FakePod(host, port, load);
    pod.port = await listen(pod.#server, host, port);
    return pod;
  }

  get hostPort(): string {
    return `${this.host}:${this.port}`;
  }

  get mode(): MetricsMode {
    return this.#mode;
  }

  /** Switches behaviour; `dead` closes the listener and every connection, leaving `dead` listens again on the same port. */
  async setMode(mode: MetricsMode): Promise<void> {
    const was = this.#mode;
    this.#mode = mode;
    if (mode === 'dead' && was !== 'dead') await this.#shut();
    if (mode !== 'dead' && was === 'dead') {
      this.#server = this.#create();
      await listen(this.#server, this.host, this.port);
    }
  }

  async close(): Promise<void> {
    this.#mode = 'dead';
    await this.#shut();
  }

  #create(): Server {
    const server = createServer((req, res) => this.#handle(req, res));
    server.on('connection', (s) => {
      this.#sockets.add(s);
      s.on('close', () => this.#sockets.delete(s));
    });
    return server;
  }

  #shut(): Promise<void> {
    for (const t of this.#timers) clearInterval(t);
    this.#timers.clear();
    for (const s of this.#sockets) s.destroy();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    if (!(req.url ?? '').startsWith('/metrics')) {
      res.writeHead(404).end();
      return;
    }
    this.scrapes++;
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    res.on('close', () => this.inFlight--);
    switch (this.#mode) {
      case 'ok':
      case 'dead':
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(page(this.load));
        return;
      case 'hang':
        return; // accepted, never answered
      case 'http-500':
        res.writeHead(500, { 'content-type': 'text/plain' }).end('internal error');
        return;
      case 'garbage':
        res.writeHead(200).end('<html><body>\n<h1>502 Bad Gateway</h1>\n\u0000\u00ff{{{ vllm:num_requests_waiting{engine="0" 12\n</body></html>\n');
        return;
      case 'reset':
        req.socket.resetAndDestroy();
        return;
      case 'huge': {
        let written = 0;
        const pump = (): void => {
          while (written < HUGE_BYTES) {
            written += HUGE_LINE.length;
            this.hugeBytesWritten += HUGE_LINE.length;
            if (!res.write(HUGE_LINE)) {
              res.once('drain', pump);
              return;
            }
          }
          res.end();
        };
        res.on('close', () => res.removeAllListeners('drain'));
        res.writeHead(200, { 'content-type': 'text/plain' });
        pump();
        return;
      }
      case 'slowloris': {
        // Headers at once, then one byte of a valid page per second.
        const text = page(this.load);
        let at = 0;
        res.writeHead(200, { 'content-type': 'text/plain' });
        const t = setInterval(() => {
          if (at >= text.length || res.destroyed) {
            clearInterval(t);
            this.#timers.delete(t);
            if (!res.destroyed) res.end();
            return;
          }
          res.write(text.charAt(at++));
        }, 1000);
        this.#timers.add(t);
        res.on('close', () => {
          clearInterval(t);
          this.#timers.delete(t);
        });
        return;
      }
    }
  }
}

/** Starts `count` ok pods on 127.0.<block>.1…, all on the first pod's port. */
export async function startPods(count: number, block: number, load?: PodLoad): Promise<FakePod[]> {
  const first = await FakePod.start(`127.0.${block}.1`, 0, load);
  const pods = [first];
  for (let i = 2; i <= count; i++) pods.push(await FakePod.start(`127.0.${block}.${i}`, first.port, load));
  return pods;
}
