/**
 * Rows 11, 12, 22: the picker's limits, against `epp serve` in a child process (so its RSS is its
 * own). A body over `--max-request-body-bytes` gets 413 at the chunk that crosses the cap while the
 * client keeps streaming (as Envoy does), and costs no other stream anything; a single gRPC message
 * over the receive limit ends that stream alone (RESOURCE_EXHAUSTED); a client that stops reading
 * holds a bounded amount of the picker's memory (counted by its transport, in-process), and its
 * streams beyond that are refused.
 */
import { FramePool, type FrameStream } from '../harness/frame-client.js';
import { FakeEnvoyPool } from '../harness/extproc-client.js';
import { runExchange } from '../harness/exchange.js';
import { DEFAULT_H2_LIMITS } from '../../../src/h2/h2-connection.js';
import { InProcessPicker, writeEndpointsFile } from '../harness/in-process-picker.js';
import { completionBody, encodeRequest, FULL_DUPLEX, grpcFrame, postHeaders, requestBody, requestHeaders } from '../harness/messages.js';
import { PickerProcess } from '../harness/picker-process.js';
import { startPods } from '../harness/pods.js';
import { immediateStatus } from '../harness/reply-rules.js';
import { ScenarioReport, type RowReport } from '../harness/report.js';
import { mapConcurrent, pace, pollUntil, settle } from '../harness/wait.js';
import { requestPhase } from '../harness/request-phase.js';
import { required } from '../harness/required.js';
import type { FaultScenario } from '../harness/scenario.js';

const MIB = 1024 * 1024;
const CHUNK = 62_000;
/** RSS moves by this much between samples with no load change at all (heap growth, GC timing). */
const NOISE_MIB = 32;
/** The transport's defaults (src/h2/h2-connection.ts): output waiting for window beyond which new streams are refused, and the socket queue beyond which reads stop. */
const BLOCKED_HIGH_WATER = DEFAULT_H2_LIMITS.blockedOutputHighWater;
const SOCKET_HIGH_WATER = DEFAULT_H2_LIMITS.socketHighWater;
const SIZES = {
  ci: { capBytes: 1 * MIB, concurrency: 4, slowStreams: 60, slowBodyBytes: MIB / 2 },
  bench: { capBytes: 32 * MIB, concurrency: 8, slowStreams: 200, slowBodyBytes: 1 * MIB },
};

/** Streams `total` bytes of one request body in CHUNK-byte messages, at most ~1 MiB queued at a time. Resolves with the chunk count sent before the 413 was seen. */
async function streamOversized(s: FrameStream, capBytes: number, total: number): Promise<{ status: number | undefined; crossingAnswered: boolean; chunksSent: number }> {
  s.send(requestHeaders(postHeaders('/v1/completions', 'oversized'), false, { protocol_config: FULL_DUPLEX }));
  const chunk = Buffer.alloc(CHUNK, 0x61);
  chunk.write('{"model":"m","prompt":"');
  const framed = grpcFrame(encodeRequest(requestBody(chunk, false)));
  let sent = 0;
  let crossingAnswered = false;
  while (sent * CHUNK < total && !s.closed) {
    while (s.queuedBytes > MIB && !s.closed) await pace(1);
    s.sendFramed(framed);
    sent++;
    if (sent * CHUNK > capBytes && (sent - 1) * CHUNK <= capBytes) {
      // The chunk that crosses the cap: the 413 must come now, without any more bytes.
      crossingAnswered = await s.until((x) => immediateStatus(x.responses) !== undefined, 5000);
    }
  }
  // As Envoy, which streams on until it sees the answer: the rest races the 413.
  await s.until((x) => x.closed, 5000);
  return { status: immediateStatus(s.responses), crossingAnswered, chunksSent: sent };
}

function rssMiB(p: PickerProcess): number {
  return p.rssBytes() / MIB;
}

async function settled(row: RowReport, picker: PickerProcess): Promise<void> {
  const zero = await pollUntil(async () => (await picker.runningRequests()) === 0, 5000, 50);
  row.check('in-flight gauge back to 0; picker up', !Number.isNaN(zero) && picker.running);
}

export const limitsScenario: FaultScenario = {
  id: 'limits',
  title: 'body cap, message size limit, slow reader',
  rows: ['11', '12', '22'],
  async run(ctx) {
    const sizes = SIZES[ctx.scale];
    const report = new ScenarioReport('limits');
    const pods = await startPods(4, 215);
    const endpoints = new Set(pods.map((p) => p.hostPort));
    const picker = await PickerProcess.start({ endpointsFile: writeEndpointsFile([...endpoints]), args: ['--drain-timeout=1s', `--max-request-body-bytes=${sizes.capBytes}`] });
    try {
      {
        const row = report.row('11', `body cap: ${sizes.concurrency} bodies of ${(2 * sizes.capBytes) / MIB} MiB at once, in ${CHUNK}-byte chunks, cap ${sizes.capBytes / MIB} MiB, beside an Envoy-shaped stream`, '413 within 1 chunk after the cap; RSS growth ≤ cap × concurrency');
        const pool = await FramePool.open({ port: picker.grpcPort }, 1);
        const envoy = await FakeEnvoyPool.open({ port: picker.grpcPort }, 1);
        try {
          const rss0 = rssMiB(picker);
          let rssPeak = rss0;
          const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, rssMiB(picker))), 50);
          const bystander = runExchange(required(envoy.open(), 'a stream'), { seq: 1, body: completionBody(1, 1024), chunkBytes: 0, responseChunks: 20, chunkIntervalMs: 100, endpoints, timeoutMs: 30_000 });
          const results = await Promise.all(Array.from({ length: sizes.concurrency }, () => streamOversized(required(pool.open(), 'a stream'), sizes.capBytes, 2 * sizes.capBytes)));
          clearInterval(sampler);
          // Twice more on the same connection, one at a time: early 413s must not cost the connection.
          let rssAfter = rssMiB(picker);
          for (let i = 0; i < 2 * sizes.concurrency; i++) {
            results.push(await streamOversized(required(pool.open(), 'a stream'), sizes.capBytes, Math.min(2 * sizes.capBytes, sizes.capBytes + 4 * MIB)));
            rssAfter = Math.max(rssAfter, rssMiB(picker));
          }
          const b = await bystander;
          const capChunk = Math.floor(sizes.capBytes / CHUNK) + 1;
          row.figure('answers', [...new Set(results.map((r) => String(r.status)))].join(', '));
          row.figure('chunk crossing the cap / chunks the client sent in all (it streams on, as Envoy does)', `${capChunk} / ${Math.max(...results.map((r) => r.chunksSent))}`);
          row.figure(`picker RSS: before → peak with ${sizes.concurrency} oversized bodies at once`, `${rss0.toFixed(0)} → ${rssPeak.toFixed(0)} MiB (+${(rssPeak - rss0).toFixed(0)} MiB; cap × concurrency = ${((sizes.capBytes * sizes.concurrency) / MIB).toFixed(0)} MiB)`);
          row.figure('picker RSS peak over the sequential ones after (not collected at once, not retained)', `${rssAfter.toFixed(0)} MiB`);
          row.figure('oversized bodies on one connection / GOAWAYs', `${results.length} / ${pool.goaways}`);
          row.check('every oversized body answered 413', results.every((r) => r.status === 413), results.map((r) => String(r.status)).join(','));
          row.check('413 at the chunk that crosses the cap (within 1 chunk)', results.every((r) => r.crossingAnswered));
          row.check(`picker RSS growth ≤ cap × concurrency + ${NOISE_MIB} MiB of allocator noise`, rssPeak - rss0 <= (sizes.capBytes * sizes.concurrency) / MIB + NOISE_MIB, `+${(rssPeak - rss0).toFixed(0)} MiB`);
          row.check('the connection survives the early 413s (0 GOAWAYs)', pool.goaways === 0 && pool.closes === 0, `${pool.goaways} GOAWAYs`);
          row.check('an Envoy-shaped stream beside them is not cut', b.ok, b.reason);
          row.see('test/integration/extproc-server.test.ts "answers 413 as soon as a 40 MiB body passes the 32 MiB cap"');
          row.see('test/h2/h2-transport.test.ts "drops for free what the peer had in flight for streams it ended early"');
        } finally {
          pool.destroy();
          envoy.destroy();
        }
        await settled(row, picker);
      }
      {
        const maxMessage = sizes.capBytes + MIB;
        const row = report.row('12', `one gRPC message of ${(maxMessage + MIB) / MIB} MiB (over the ${maxMessage / MIB} MiB receive limit) among 100 normal streams on one connection`, 'only that stream ends RESOURCE_EXHAUSTED; 100/100 normal OK');
        const pool = await FramePool.open({ port: picker.grpcPort }, 1);
        try {
          const big = required(pool.open(), 'a stream');
          big.send(requestHeaders(postHeaders('/v1/completions', 'huge-message'), false, { protocol_config: FULL_DUPLEX }));
          const hugeBody = Buffer.alloc(maxMessage + MIB, 0x61);
          const normal = mapConcurrent(Array.from({ length: 100 }, (_, i) => i), 20, (i) => requestPhase(pool, { headers: postHeaders('/v1/completions', `n${i}`), body: completionBody(i, 512), endpoints }));
          big.send(requestBody(hugeBody, true));
          const ended = await big.until((x) => x.closed, 10_000);
          const results = await normal;
          row.figure('the oversized stream ended with', `grpc-status ${String(big.grpcStatus)} "${big.grpcMessage.slice(0, 80)}"`);
          row.figure('normal streams routed', `${results.filter((r) => r.kind === 'routed').length} / 100`);
          row.check('the oversized stream ends RESOURCE_EXHAUSTED (grpc-status 8)', ended && big.grpcStatus === '8', String(big.grpcStatus));
          row.check('100/100 normal streams routed', results.every((r) => r.kind === 'routed' && r.violations.length === 0));
          row.check('the connection survives (0 GOAWAYs)', pool.goaways === 0 && pool.closes === 0);
          row.see('test/h2/h2-transport.test.ts "enforces the message size before buffering the body"');
        } finally {
          pool.destroy();
        }
        await settled(row, picker);
      }
      {
        const row = report.row('22', `slow readers: ${sizes.slowStreams} streams with ${sizes.slowBodyBytes / 1024} KiB bodies from a client that grants no window, then from one that stops reading its socket, beside a well-behaved connection`, 'write() backpressure respected; memory bounded; streams beyond refused');
        // In-process, for the transport's own count of the bytes it holds for the slow reader.
        const inproc = await InProcessPicker.start({ discovery: { endpoints: [...endpoints].map((hp, i) => ({ name: `e${i}`, address: hp.split(':')[0] ?? '', port: Number(hp.split(':')[1]), labels: {} })) } }, [...endpoints]);
        const transport = inproc.server.extProc.transport;
        const bound = BLOCKED_HIGH_WATER + SOCKET_HIGH_WATER + sizes.slowBodyBytes + MIB;
        const body = Buffer.from(JSON.stringify({ model: 'm', prompt: 'y'.repeat(sizes.slowBodyBytes) }));
        try {
          for (const mode of ['grants no window', 'stops reading'] as const) {
            const slow = await FramePool.open({ port: inproc.grpcPort, grantWindow: false }, 1);
            const good = await FakeEnvoyPool.open({ port: inproc.grpcPort }, 1);
            try {
              const conn = required(slow.connections[0], 'a connection');
              if (mode === 'stops reading') conn.pauseReading();
              let peak = 0;
              const sampler = setInterval(() => (peak = Math.max(peak, transport.bufferedBytes)), 10);
              const refused0 = transport.streamsRefused;
              const running0 = await inproc.runningRequests();
              let accepted = 0;
              for (let i = 0; i < sizes.slowStreams; i++) {
                const s = slow.open();
                if (s === undefined) break;
                s.send(requestHeaders(postHeaders('/v1/completions', `slow-${i}`), false, { protocol_config: FULL_DUPLEX }));
                s.send(requestBody(body, true));
                if (mode === 'stops reading') continue;
                // One at a time: the next request comes once this one is routed (its answer backs up) or
                // refused, as requests keep arriving at a picker whose client has stopped taking answers.
                const refusedBefore = transport.streamsRefused;
                await pollUntil(async () => transport.streamsRefused > refusedBefore || (await inproc.runningRequests()) - running0 > accepted, 5000, 5);
                if (transport.streamsRefused === refusedBefore) accepted++;
              }
              if (mode === 'stops reading') {
                // A client that reads nothing never learns of new window: it sends what its windows allowed, then stalls.
                await settle(() => transport.bufferedBytes, 300, 10_000);
                accepted = (await inproc.runningRequests()) - running0;
              }
              // The well-behaved connection keeps being served while the slow one is backed up.
              const goodResults = await mapConcurrent(Array.from({ length: 50 }, (_, i) => i), 5, (i) => requestPhase(good, { headers: postHeaders('/v1/completions', `g${i}`), body: completionBody(i, 512), endpoints }));
              clearInterval(sampler);
              const refused = transport.streamsRefused - refused0;
              const unsent = slow.connections[0]?.queuedBytes ?? 0;
              row.figure(`${mode}: streams routed (answers backed up) / refused (REFUSED_STREAM) / request bytes the client could not send (windows closed)`, `${accepted} / ${refused} / ${(unsent / MIB).toFixed(1)} MiB`);
              row.figure(`${mode}: bytes the transport held for the slow reader, peak`, `${(peak / MIB).toFixed(1)} MiB (bound: ${BLOCKED_HIGH_WATER / MIB} MiB blocked output + ${SOCKET_HIGH_WATER / MIB} MiB socket queue + the stream that crossed it)`);
              row.figure(`${mode}: well-behaved connection meanwhile`, `${goodResults.filter((r) => r.kind === 'routed').length} / 50 routed`);
              row.check(`${mode}: held bytes bounded (≤ ${(bound / MIB).toFixed(1)} MiB)`, peak <= bound, `${(peak / MIB).toFixed(1)} MiB`);
              if (mode === 'grants no window') row.check(`${mode}: streams beyond the output cap refused (REFUSED_STREAM)`, refused > 0 && accepted + refused === sizes.slowStreams, `${accepted} routed, ${refused} refused`);
              else row.check(`${mode}: the client is held back by flow control (its requests wait on its side)`, unsent > 0 && accepted < sizes.slowStreams, `${accepted} routed, ${(unsent / MIB).toFixed(1)} MiB unsent`);
              row.check(`${mode}: the well-behaved connection is served meanwhile`, goodResults.every((r) => r.kind === 'routed' && r.violations.length === 0));
            } finally {
              slow.destroy();
              good.destroy();
            }
          }
          const released = await pollUntil(() => transport.bufferedBytes === 0 && inproc.activeStreams() === 0, 5000);
          row.check('everything released when the slow readers go', !Number.isNaN(released), `${transport.bufferedBytes} bytes, ${inproc.activeStreams()} streams`);
        } finally {
          await inproc.stop();
        }
        row.see('test/h2/h2-transport.test.ts "refuses new streams while output waits for a peer that grants no window"');
        row.see('row 27: a peer that reads nothing is closed by keepalive (≤ 40 s)');
      }
    } finally {
      await picker.stop(5000);
      await Promise.all(pods.map((p) => p.close()));
    }
    return report.result();
  },
};
