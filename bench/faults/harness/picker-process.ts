/**
 * The real picker as an operator runs it: `node bin/epp.js serve --secure-serving=false
 * --endpoints-file … --grpc-port … --grpc-health-port … --metrics-port … -v 1` in a child process.
 * Readiness is the health port answering SERVING; CPU and RSS come from /proc; heap, event-loop lag
 * and in-flight requests from its /metrics page; stdout is kept line by line (JSON logs).
 */
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { Child, freePort, waitForHealth } from '../../extproc/children.js';
import { healthStatus } from './health.js';
import { fetchMetrics, metricSum, runningRequests } from './prom-text.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** prom-client's event-loop histogram samples every 10 ms (`eventLoopMonitoringPrecision`). */
const PROM_CLIENT_RESOLUTION_MS = 10;

export interface PickerProcessOptions {
  readonly endpointsFile: string;
  /** Extra `epp serve` flags. */
  readonly args?: readonly string[];
  /** Reuse these ports (a restart); default: free ones. */
  readonly ports?: { readonly grpc: number; readonly health: number; readonly metrics: number };
  readonly startTimeoutMs?: number;
}

export interface ProcessExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly at: number;
}

export class PickerProcess {
  readonly lines: string[] = [];
  #exit: ProcessExit | undefined;
  readonly #exited: Promise<ProcessExit>;

  private constructor(
    readonly child: Child,
    readonly grpcPort: number,
    readonly healthPort: number,
    readonly metricsPort: number,
    /** The command line, for reports. */
    readonly command: string,
  ) {
    let buffered = '';
    child.proc.stdout?.on('data', (s: string) => {
      buffered += s;
      for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
        if (this.lines.length < 100_000) this.lines.push(buffered.slice(0, nl));
        buffered = buffered.slice(nl + 1);
      }
    });
    this.#exited = new Promise((resolve) =>
      child.proc.once('exit', (code, signal) => {
        this.#exit = { code, signal, at: performance.now() };
        resolve(this.#exit);
      }),
    );
  }

  /** Starts `epp serve` and waits until its health port answers SERVING. */
  static async start(options: PickerProcessOptions): Promise<PickerProcess> {
    const ports = options.ports ?? { grpc: await freePort(), health: await freePort(), metrics: await freePort() };
    const serveArgs = [
      '--secure-serving=false',
      '--grpc-port', String(ports.grpc),
      '--grpc-health-port', String(ports.health),
      '--metrics-port', String(ports.metrics),
      '--bind-address', '127.0.0.1',
      '--endpoints-file', options.endpointsFile,
      '-v', '1',
      ...(options.args ?? []),
    ];
    const launch = async (entry: readonly string[], shown: string): Promise<PickerProcess> => {
      const child = new Child('picker', [...entry, ...serveArgs], ROOT);
      const p = new PickerProcess(child, ports.grpc, ports.health, ports.metrics, `${shown} ${serveArgs.join(' ')}`);
      try {
        await waitForHealth(`127.0.0.1:${ports.health}`, child, options.startTimeoutMs ?? 30_000);
      } catch (err) {
        await child.stop(1000);
        throw err;
      }
      return p;
    };
    try {
      return await launch(['bin/epp.js', 'serve'], 'node bin/epp.js serve');
    } catch (err) {
      // Another engineer's half-edited module elsewhere in the CLI must not stop the picker from running.
      if (!(err instanceof Error && err.message.includes('ERR_MODULE_NOT_FOUND'))) throw err;
      return launch(['--import', 'tsx', 'bench/extproc/serve-child.ts'], 'node --import tsx bench/extproc/serve-child.ts');
    }
  }

  get pid(): number {
    return this.child.pid;
  }

  get running(): boolean {
    return this.#exit === undefined && this.child.running;
  }

  get exit(): ProcessExit | undefined {
    return this.#exit;
  }

  /** User + system CPU of the picker, ms. */
  cpuMs(): number {
    return this.child.cpuMs();
  }

  /** Resident set size from /proc, bytes (NaN when unavailable). */
  rssBytes(): number {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${this.pid}/status`, 'utf8'));
      return m === null ? Number.NaN : Number(m[1]) * 1024;
    } catch {
      return Number.NaN;
    }
  }

  metrics(): Promise<string> {
    return fetchMetrics(this.metricsPort);
  }

  async runningRequests(): Promise<number> {
    return runningRequests(await this.metrics());
  }

  /**
   * Heap used, RSS and event-loop lag since the previous scrape, from prom-client's process metrics;
   * lag is given beyond prom-client's 10 ms sampling period (its raw figures include it).
   */
  async processFigures(): Promise<{ heapUsedBytes: number; rssBytes: number; eventLoopP99Ms: number; eventLoopMaxMs: number }> {
    const text = await this.metrics();
    return {
      heapUsedBytes: metricSum(text, 'nodejs_heap_size_used_bytes'),
      rssBytes: metricSum(text, 'process_resident_memory_bytes'),
      eventLoopP99Ms: Math.max(0, metricSum(text, 'nodejs_eventloop_lag_p99_seconds') * 1000 - PROM_CLIENT_RESOLUTION_MS),
      eventLoopMaxMs: Math.max(0, metricSum(text, 'nodejs_eventloop_lag_max_seconds') * 1000 - PROM_CLIENT_RESOLUTION_MS),
    };
  }

  health(service = ''): Promise<string> {
    return healthStatus(`127.0.0.1:${this.healthPort}`, service);
  }

  /** Parsed JSON log lines whose `msg` is `msg`. */
  logs(msg: string): Record<string, unknown>[] {
    const out: Record<string, unknown>[] = [];
    for (const l of this.lines) {
      if (!l.includes(msg)) continue;
      try {
        const entry = JSON.parse(l) as Record<string, unknown>;
        if (entry.msg === msg) out.push(entry);
      } catch {
        // not a log line
      }
    }
    return out;
  }

  signal(sig: NodeJS.Signals): void {
    if (this.running) this.child.proc.kill(sig);
  }

  /** Resolves with the exit, or undefined after `timeoutMs`. */
  async waitExit(timeoutMs: number): Promise<ProcessExit | undefined> {
    let t: NodeJS.Timeout | undefined;
    const r = await Promise.race([this.#exited, new Promise<undefined>((resolve) => (t = setTimeout(() => resolve(undefined), timeoutMs)))]);
    clearTimeout(t);
    return r;
  }

  /** SIGTERM then SIGKILL after `graceMs`. */
  stop(graceMs = 5000): Promise<'exited' | 'killed'> {
    return this.child.stop(graceMs);
  }
}
