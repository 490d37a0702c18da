/**
 * Child processes of the benchmark (the picker and the null server): spawning, free ports, readiness,
 * CPU accounting from /proc, and a bounded stop (SIGTERM, then SIGKILL).
 */
import { Client, credentials } from '@grpc/grpc-js';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { service as healthService } from 'grpc-health-check';

/** A free TCP port on `host` (bound then released; a small race is acceptable here). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => (port > 0 ? resolve(port) : reject(new Error('no port'))));
    });
  });
}

const TAIL_BYTES = 16 * 1024;
const live = new Set<ChildProcess>();

// Never leave children behind, whatever way the bench ends.
process.once('exit', () => {
  for (const c of live) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

export class Child {
  readonly proc: ChildProcess;
  #stdout = '';
  #stderr = '';
  #exited: Promise<void>;
  #lineWaiters: { re: RegExp; resolve: (m: RegExpMatchArray) => void }[] = [];

  constructor(
    readonly name: string,
    args: readonly string[],
    cwd: string,
  ) {
    this.proc = spawn(process.execPath, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_ENV: 'production' } });
    live.add(this.proc);
    this.proc.stdout?.setEncoding('utf8');
    this.proc.stderr?.setEncoding('utf8');
    this.proc.stdout?.on('data', (s: string) => {
      this.#stdout = (this.#stdout + s).slice(-TAIL_BYTES);
      for (const w of [...this.#lineWaiters]) {
        const m = this.#stdout.match(w.re);
        if (m !== null) {
          this.#lineWaiters.splice(this.#lineWaiters.indexOf(w), 1);
          w.resolve(m);
        }
      }
    });
    this.proc.stderr?.on('data', (s: string) => {
      this.#stderr = (this.#stderr + s).slice(-TAIL_BYTES);
    });
    this.#exited = new Promise((resolve) => {
      this.proc.once('exit', () => {
        live.delete(this.proc);
        resolve();
      });
    });
  }

  get pid(): number {
    return this.proc.pid ?? -1;
  }

  get running(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** The last output, for error messages. */
  output(): string {
    return `--- ${this.name} stdout (tail) ---\n${this.#stdout}\n--- ${this.name} stderr (tail) ---\n${this.#stderr}`;
  }

  get stderrText(): string {
    return this.#stderr;
  }

  /** Resolves with the first stdout match of `re`; rejects if the child exits or on timeout. */
  waitForStdout(re: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
    const m = this.#stdout.match(re);
    if (m !== null) return Promise.resolve(m);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`${this.name}: no ${String(re)} on stdout within ${timeoutMs} ms\n${this.output()}`)), timeoutMs);
      void this.#exited.then(() => {
        clearTimeout(t);
        reject(new Error(`${this.name} exited (code ${String(this.proc.exitCode)}, signal ${String(this.proc.signalCode)})\n${this.output()}`));
      });
      this.#lineWaiters.push({
        re,
        resolve: (match) => {
          clearTimeout(t);
          resolve(match);
        },
      });
    });
  }

  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
  async stop(graceMs: number): Promise<'exited' | 'killed'> {
    if (!this.running) return 'exited';
    this.proc.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      this.#exited.then(() => 'exited' as const),
      new Promise<'timeout'>((r) => {
        timer = setTimeout(() => r('timeout'), graceMs);
      }),
    ]);
    clearTimeout(timer);
    if (outcome === 'exited') return 'exited';
    this.proc.kill('SIGKILL');
    await this.#exited;
    return 'killed';
  }

  /** User+system CPU time of the child in ms (Linux /proc), NaN where unavailable. */
  cpuMs(): number {
    return processCpuMs(this.pid);
  }
}

let clockTicks = 100;
/** Sets the kernel clock tick rate used to read /proc/<pid>/stat (from `getconf CLK_TCK`). */
export function setClockTicks(ticks: number): void {
  if (Number.isFinite(ticks) && ticks > 0) clockTicks = ticks;
}

export function processCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(rest[11]);
    const stime = Number(rest[12]);
    return ((utime + stime) * 1000) / clockTicks;
  } catch {
    return Number.NaN;
  }
}

/** Polls grpc.health.v1 Check until SERVING; rejects after `timeoutMs` or if `child` exits. */
export async function waitForHealth(address: string, child: Child, timeoutMs: number): Promise<void> {
  const check = healthService.Check;
  if (check === undefined) throw new Error('grpc-health-check: no Check method');
  const client = new Client(address, credentials.createInsecure());
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      if (!child.running) throw new Error(`${child.name} exited before it was healthy\n${child.output()}`);
      const status = await new Promise<string>((resolve) => {
        client.makeUnaryRequest(
          check.path,
          (v: object) => check.requestSerialize(v),
          (b: Buffer) => check.responseDeserialize(b) as { status?: string | number },
          { service: '' },
          { deadline: Date.now() + 1000 },
          (err, res) => resolve(err !== null || res === undefined ? `error: ${err?.message ?? 'empty'}` : String(res.status)),
        );
      });
      if (status === 'SERVING') return;
      if (Date.now() > deadline) throw new Error(`${child.name} not SERVING within ${timeoutMs} ms (last: ${status})\n${child.output()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    client.close();
  }
}

export interface SystemCpu {
  /** Busy (non-idle, non-iowait) CPU time of the whole machine, ms. */
  readonly busyMs: number;
  /** Time stolen by the hypervisor, ms. */
  readonly stealMs: number;
}

/** Machine-wide CPU counters from /proc/stat (NaN where unavailable). */
export function systemCpu(): SystemCpu {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = f;
    const toMs = 1000 / clockTicks;
    return { busyMs: (user + nice + system + irq + softirq) * toMs, stealMs: steal * toMs };
  } catch {
    return { busyMs: Number.NaN, stealMs: Number.NaN };
  }
}
