/**
 * How fast a faulty replica stops receiving picks, and how fast it gets them back. Two replicas serve
 * identical, loaded metrics (queue 5, KV 0.9); requests are routed continuously through the real
 * picker (in-process, real gRPC, default flags: scrape every 50 ms, staleness 2 s, scrape deadline
 * 1 s, 16 MiB cap), cycling over conversations cached on either replica, so prefix affinity alone
 * would keep the faulty replica's conversations on it. Then replica A's /metrics fails in one way
 * — the process dies (port refuses), hangs (accepts, never answers), resets the connection,
 * answers 500, answers garbage, or streams a 50 MB page — for 2.5–3.5 s (long enough for the retry
 * backoff to reach its 1 s cap; the length is drawn per trial, from a fixed seed, so recovery lands
 * anywhere in the backoff window), then recovers (a dead one restarts on the same port).
 *
 * Reported per fault, over the trials: fault → A marked unreachable, fault → last request routed to
 * A, recovery → A reachable again, recovery → first request routed to A (all ms), and the requests
 * routed to A between its exclusion and its recovery (must be 0).
 *
 * Usage: npx tsx bench/scrape/failover.ts [--trials 5] [--faults dies,hangs,...]
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { parseArgs } from 'node:util';
import { startPicker } from '../../src/app.js';
import type { Endpoint } from '../../src/datastore/endpoint.js';
import { silentLogger } from '../../src/observability/logger.js';
import { listen } from '../../src/util/net.js';
import { Prng } from '../../src/util/prng.js';
import { RawExtProcClient, requestBody, requestHeaders } from '../../test/helpers/raw-extproc-client.js';

const FAULTS = ['dies', 'hangs', 'resets', 'http-500', 'garbage', 'page-50MB'] as const;
type Fault = (typeof FAULTS)[number];

const { values } = parseArgs({ options: { trials: { type: 'string', default: '5' }, faults: { type: 'string', default: FAULTS.join(',') } } });
const trials = Math.min(20, Number(values.trials));
const faults = (values.faults ?? '').split(',').filter((f): f is Fault => (FAULTS as readonly string[]).includes(f));
const PAGE = 'vllm:num_requests_waiting{engine="0"} 5.0\nvllm:num_requests_running{engine="0"} 4.0\nvllm:kv_cache_usage_perc{engine="0"} 0.9\n';
const FILLER = Buffer.from('vllm:num_requests_waiting{engine="0"} 5.0\n'.repeat(1560)); // ~64 KiB
const faultLengths = new Prng(7);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A replica's /metrics, healthy until `fault` is set; `heal()` ends the fault (restarting a dead one on its port). */
async function replica(host: string): Promise<{ port: number; fault: (f: Fault) => void; heal: () => Promise<void>; close: () => void }> {
  let mode: Fault | 'ok' = 'ok';
  const sockets = new Set<Socket>();
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    if (mode === 'ok') res.end(PAGE);
    else if (mode === 'resets') req.socket.resetAndDestroy();
    else if (mode === 'http-500') res.writeHead(500).end('internal error');
    else if (mode === 'garbage') res.end('<html><body><h1>502 Bad Gateway</h1>\n\u0000\u00ff{{{ not metrics\n</body></html>\n');
    else if (mode === 'page-50MB') {
      let sent = 0;
      const pump = (): void => {
        while (sent < 50_000_000) {
          sent += FILLER.length;
          if (!res.write(FILLER)) {
            res.once('drain', pump);
            return;
          }
        }
        res.end();
      };
      res.on('close', () => res.removeAllListeners('drain'));
      pump();
    }
    // 'hangs': accept, never answer
  };
  const start = async (port: number): Promise<Server> => {
    const server = createServer(handler);
    server.on('connection', (s) => {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => sockets.delete(s));
    });
    await listen(server, host, port);
    return server;
  };
  let server = await start(0);
  const port = (server.address() as { port: number }).port;
  const kill = (): void => {
    server.close();
    for (const s of sockets) s.destroy();
  };
  return {
    port,
    fault: (f) => {
      mode = f;
      if (f === 'dies') kill();
    },
    heal: async () => {
      if (mode === 'dies') server = await start(port);
      mode = 'ok';
    },
    close: kill,
  };
}

interface Trial {
  readonly unreachableMs: number;
  readonly lastPickMs: number;
  readonly picksWhileExcluded: number;
  readonly reachableMs: number;
  readonly firstPickMs: number;
  readonly peakArrayBuffersMiB: number;
}

async function trial(fault: Fault, n: number): Promise<Trial> {
  const hostA = `127.0.3.${2 * n + 1}`;
  const hostB = `127.0.3.${2 * n + 2}`;
  const a = await replica(hostA);
  const b = await replica(hostB);
  const picker = await startPicker({
    host: '127.0.0.1', grpcPort: 0, grpcHealthPort: 0, metricsPort: -1, secureServing: false, certPath: '', config: 'default',
    discovery: { endpoints: [{ name: 'a', address: hostA, port: a.port, labels: {} }, { name: 'b', address: hostB, port: b.port, labels: {} }] },
    maxRequestBodyBytes: 1 << 20, decisionTimeoutMs: 5000, requestBodyMode: 'full-duplex', disableSubsetFilter: false, healthChecking: false,
    refreshMetricsIntervalMs: 50, metricsStalenessMs: 2000, poolName: 'bench', logger: silentLogger(),
  });
  const client = new RawExtProcClient(`127.0.0.1:${picker.grpcPort}`);
  const endpointA = picker.datastore.snapshot.endpoints.find((e) => e.name === 'a') as Endpoint;
  const dest = `${hostA}:${a.port}`;
  const route = async (prompt: string): Promise<string> => {
    const s = client.open();
    s.send(requestHeaders({ ':path': '/v1/completions' }));
    s.send(requestBody(JSON.stringify({ model: 'm', prompt }), true));
    await s.until((x) => x.responses.length >= 1, 5000);
    s.halfClose();
    return s.responses[0]?.msg.request_headers?.response?.header_mutation?.set_headers?.[0]?.header?.raw_value?.toString() ?? '';
  };
  // Flags flip on the collector's schedule; sample them every millisecond, off the routing loop.
  let unreachableAt = 0;
  let reachableAt = 0;
  let healedAt = 0;
  let peakArrayBuffers = 0;
  const baseArrayBuffers = process.memoryUsage().arrayBuffers;
  const sampler = setInterval(() => {
    const now = performance.now();
    if (!endpointA.reachable && unreachableAt === 0) unreachableAt = now;
    if (endpointA.reachable && unreachableAt !== 0 && reachableAt === 0 && healedAt !== 0) reachableAt = now;
    peakArrayBuffers = Math.max(peakArrayBuffers, process.memoryUsage().arrayBuffers - baseArrayBuffers);
  }, 1);
  try {
    while (!picker.datastore.snapshot.endpoints.every((e) => e.metrics.known)) await sleep(10);
    // Conversations cached on each replica (new prompts alternate: ties rotate).
    const conversations: string[] = [];
    for (let i = 0; i < 8; i++) {
      const prompt = `Conversation ${n}-${i}: you are a helpful assistant for topic ${i}. `.repeat(6);
      await route(prompt);
      conversations.push(prompt);
    }
    let next = 0;
    const routeNext = (): Promise<string> => route(conversations[next++ % conversations.length] as string);
    for (let i = 0; i < 50; i++) await routeNext();
    const faultMs = 2500 + faultLengths.int(1000);
    const faultAt = performance.now();
    a.fault(fault);
    let lastPick = 0;
    let picksWhileExcluded = 0;
    while (performance.now() - faultAt < faultMs) {
      const sentAt = performance.now();
      if ((await routeNext()) === dest) {
        lastPick = performance.now();
        // Sent once the flag was seen down (the sampler lags it by at most ~1 ms).
        if (unreachableAt !== 0 && sentAt > unreachableAt + 1) picksWhileExcluded++;
      }
      await sleep(2);
    }
    await a.heal();
    healedAt = performance.now();
    let firstPick = 0;
    while (firstPick === 0 && performance.now() - healedAt < 4000) {
      if ((await routeNext()) === dest) firstPick = performance.now();
      await sleep(2);
    }
    const since = (t: number, from: number): number => (t === 0 ? NaN : t - from);
    return {
      unreachableMs: since(unreachableAt, faultAt),
      lastPickMs: lastPick === 0 ? 0 : lastPick - faultAt,
      picksWhileExcluded,
      reachableMs: since(reachableAt, healedAt),
      firstPickMs: since(firstPick, healedAt),
      peakArrayBuffersMiB: peakArrayBuffers / (1 << 20),
    };
  } finally {
    clearInterval(sampler);
    client.close();
    await picker.shutdown(500);
    a.close();
    b.close();
  }
}

const median = (xs: number[]): number => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] ?? NaN;
const cell = (xs: number[]): string => `${median(xs).toFixed(0)} / ${Math.max(...xs).toFixed(0)}`;
process.stdout.write(`## failover: 2 replicas (loaded: queue 5, KV 0.9), default flags (scrape 50 ms, staleness 2 s, deadline 1 s), ${trials} trials each, node ${process.version}\n\n`);
process.stdout.write('Times in ms, median / max over the trials.\n\n');
process.stdout.write('| fault | fault → unreachable | fault → last pick | picks while excluded | recovery → reachable | recovery → first pick | peak extra ArrayBuffer MiB |\n|---|---|---|---|---|---|---|\n');
let n = 0;
for (const fault of faults) {
  const results: Trial[] = [];
  for (let i = 0; i < trials; i++) results.push(await trial(fault, n++));
  process.stdout.write(
    `| ${fault} | ${cell(results.map((r) => r.unreachableMs))} | ${cell(results.map((r) => r.lastPickMs))} | ${results.reduce((s, r) => s + r.picksWhileExcluded, 0)} | ${cell(results.map((r) => r.reachableMs))} | ${cell(results.map((r) => r.firstPickMs))} | ${Math.max(...results.map((r) => r.peakArrayBuffersMiB)).toFixed(0)} |\n`,
  );
}
