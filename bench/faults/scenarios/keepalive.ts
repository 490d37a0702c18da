/**
 * Row 27: connections that die quietly, and PING floods. A peer that stops answering (no reads, no
 * PING ACK) is closed by the transport's keepalive (a PING after `keepaliveTimeMs` idle, the close
 * after `keepaliveTimeoutMs`); a peer flooding PINGs gets GOAWAY(ENHANCE_YOUR_CALM) while a
 * well-behaved connection beside it keeps being served and the event loop stays responsive. Runs on
 * the real request path with the transport's default limits at bench scale (30 s + 10 s) and
 * shortened ones in CI.
 */
import { ENHANCE_YOUR_CALM, errorCodeName, FRAME_PING } from '../../../src/h2/constants.js';
import { DEFAULT_H2_LIMITS } from '../../../src/h2/h2-connection.js';
import { BarePicker } from '../harness/bare-picker.js';
import { FakeEnvoyPool } from '../harness/extproc-client.js';
import { FrameConnection } from '../harness/frame-client.js';
import { loopbackEndpoints, writeEndpointsFile } from '../harness/in-process-picker.js';
import { completionBody } from '../harness/messages.js';
import { runOpenLoop } from '../harness/open-loop.js';
import { PickerProcess } from '../harness/picker-process.js';
import { ScenarioReport } from '../harness/report.js';
import type { FaultScenario } from '../harness/scenario.js';
import { pollUntil } from '../harness/wait.js';

const SIZES = {
  ci: { keepaliveTimeMs: 300, keepaliveTimeoutMs: 300, pings: 10_000 },
  bench: { keepaliveTimeMs: DEFAULT_H2_LIMITS.keepaliveTimeMs, keepaliveTimeoutMs: DEFAULT_H2_LIMITS.keepaliveTimeoutMs, pings: 10_000 },
};

export const keepaliveScenario: FaultScenario = {
  id: 'keepalive',
  title: 'dead peers and PING floods',
  rows: ['27'],
  async run(ctx) {
    const sizes = SIZES[ctx.scale];
    const report = new ScenarioReport('keepalive', ctx.scale);
    const bound = sizes.keepaliveTimeMs + sizes.keepaliveTimeoutMs;
    const row = report.row('27', `keepalive: a dead peer (keepalive ${sizes.keepaliveTimeMs} ms + timeout ${sizes.keepaliveTimeoutMs} ms), and a flood of ${sizes.pings} PINGs beside Envoy-shaped traffic`, 'dead connection closed ≤ keepalive time + timeout; ping flood does not starve the event loop (p99 < 20 ms)');
    const endpoints = loopbackEndpoints(2, 8000, 221);
    const picker = await PickerProcess.start({ endpointsFile: writeEndpointsFile(endpoints), args: ['--drain-timeout=1s'] });
    const bare = ctx.scale === 'ci' ? await BarePicker.start({ endpoints, limits: { keepaliveTimeMs: sizes.keepaliveTimeMs, keepaliveTimeoutMs: sizes.keepaliveTimeoutMs } }) : undefined;
    try {
      // A dead peer: connected, one request, then silence (PINGs unanswered).
      const dead = await FrameConnection.connect({ port: bare?.port ?? picker.grpcPort, answerPings: false });
      try {
        const s = dead.open();
        s.send({ request_headers: { headers: { headers: [{ key: ':path', raw_value: Buffer.from('/v1/models') }] }, end_of_stream: true } });
        await s.until((x) => x.responses.length > 0, 5000);
        const closedMs = await pollUntil(() => dead.closed, bound + 10_000, 20);
        row.figure(`dead peer (${bare === undefined ? 'epp serve, default limits' : 'the request path with shortened limits'}): last activity → connection closed by the picker`, Math.round(closedMs), 'ms');
        row.timing(`dead connection closed within keepalive time + timeout (${bound} ms, +250 ms timer slack)`, closedMs, bound + 250);
        if (bare !== undefined) row.check('its stream released', bare.tracker.active === 0, `${bare.tracker.active} live`);
        else row.check('its stream released (in-flight gauge 0)', (await picker.runningRequests()) === 0);
      } finally {
        dead.destroy();
      }

      // A PING flood beside Envoy-shaped traffic, at epp serve.
      const bystanders = await FakeEnvoyPool.open({ port: picker.grpcPort }, 1);
      const flooder = await FrameConnection.connect({ port: picker.grpcPort });
      try {
        const load = (durationMs: number, firstSeq: number): ReturnType<typeof runOpenLoop> =>
          runOpenLoop({
            pool: bystanders,
            rate: 200,
            durationMs,
            maxInFlight: 1000,
            firstSeq,
            spec: (seq) => ({ seq, body: completionBody(seq, 512, 'ka'), chunkBytes: 0, responseChunks: 4, chunkIntervalMs: 20, endpoints: new Set(endpoints), timeoutMs: 10_000 }),
          });
        // A fresh picker compiles its request path on its first requests: not the flood's doing.
        await load(1000, 0);
        // The same traffic without the flood: what the machine alone does to the picker's event loop.
        await picker.processFigures(); // starts a fresh event-loop window
        await load(2000, 50_000);
        const quiet = await picker.processFigures();
        const traffic = load(2000, 100_000);
        const f0 = performance.now();
        let sent = 0;
        const payload = Buffer.alloc(8);
        for (; sent < sizes.pings && !flooder.closed && flooder.goaways.length === 0; sent++) {
          payload.writeUInt32BE(sent, 4);
          flooder.frame(FRAME_PING, 0, 0, payload);
          if (sent % 200 === 199) await new Promise((r) => setImmediate(r));
        }
        await pollUntil(() => flooder.goaways.length > 0 || flooder.closed, 5000);
        const goawayMs = (flooder.goaways[0]?.at ?? Number.NaN) - f0;
        const stats = await traffic;
        const l = await picker.processFigures();
        const code = flooder.goaways[0]?.code;
        row.figure('ping flood: PINGs sent before GOAWAY / GOAWAY code / after', `${sent} / ${code === undefined ? 'none' : errorCodeName(code)} / ${Math.round(goawayMs)} ms`);
        row.figure('picker event-loop lag p99 / max (prom-client, beyond its 10 ms sampling): same traffic without the flood → during the flood', `${quiet.eventLoopP99Ms.toFixed(1)} / ${quiet.eventLoopMaxMs.toFixed(1)} → ${l.eventLoopP99Ms.toFixed(1)} / ${l.eventLoopMaxMs.toFixed(1)}`, 'ms');
        row.figure('Envoy-shaped connection beside it: started / ok / failed / cut / GOAWAYs', `${stats.started} / ${stats.ok} / ${stats.failed} / ${stats.cut} / ${bystanders.goaways}`);
        row.check('the flooding connection gets GOAWAY(ENHANCE_YOUR_CALM)', code === ENHANCE_YOUR_CALM, String(code));
        // On a shared machine the loop also waits for the CPU: the flood must add nothing to what the same traffic sees without it.
        row.timing('picker event-loop p99 < 20 ms during the flood (or no worse than without it, +5 ms, when the machine is the cause)', l.eventLoopP99Ms, Math.max(20, quiet.eventLoopP99Ms + 5), `${l.eventLoopP99Ms.toFixed(1)} ms with the flood, ${quiet.eventLoopP99Ms.toFixed(1)} ms without`);
        row.check('the connection beside it is unaffected', stats.failed === 0 && stats.cut === 0 && bystanders.goaways === 0 && stats.started > 0, `${stats.failed} failed, ${bystanders.goaways} GOAWAYs`);
        row.see('test/h2/h2-transport.test.ts "pings an idle connection and closes it when the ping goes unanswered", "ends PING, SETTINGS, empty-frame and CONTINUATION floods"');
      } finally {
        bystanders.destroy();
        flooder.destroy();
      }
    } finally {
      await bare?.close();
      await picker.stop(3000);
    }
    return report.result();
  },
};
