/**
 * Rows 16 and 18: what clients put in headers. Spoofed destinations (single, repeated, comma lists,
 * IPv6, junk) and control headers never steer routing nor reach the model server; a flood of headers
 * (99 of them, 64 KiB values, CR/LF and raw bytes) is never echoed: the answer sets only the headers
 * the picker owns, all valid.
 */
import { FramePool } from '../harness/frame-client.js';
import { InProcessPicker, loopbackEndpoints } from '../harness/in-process-picker.js';
import { completionBody, postHeaders, type HeaderPairs } from '../harness/messages.js';
import { ScenarioReport, type RowReport } from '../harness/report.js';
import { outcomeKey, requestPhase } from '../harness/request-phase.js';
import type { FaultScenario } from '../harness/scenario.js';
import { mapConcurrent, pollUntil } from '../harness/wait.js';
import { Prng } from '../../../src/util/prng.js';

const SIZES = { ci: { spoofs: 1000, floods: 50 }, bench: { spoofs: 10_000, floods: 300 } };

const SPOOFED_VALUES: readonly string[] = [
  '6.6.6.6:80',
  '6.6.6.6:80,7.7.7.7:80',
  '[2001:db8::1]:8000',
  '[::1]:8000',
  '10.0.0.1',
  'evil.example.com:443',
  ' 6.6.6.6:80 ',
  '6.6.6.6:80\u0000',
  '',
  'x'.repeat(4096),
];

const CONTROL_HEADERS: readonly string[] = [
  'x-gateway-destination-endpoint-subset',
  'x-gateway-destination-endpoint-served',
  'x-gateway-inference-objective',
  'x-gateway-inference-fairness-id',
  'x-prefiller-host-port',
  'x-encoder-hosts-ports',
  'x-data-parallel-host-port',
  'x-data-parallel-rank',
];

/** A spoofing request: destination values in one or several header entries, some control headers, name case varied. */
function spoofHeaders(rng: Prng, seq: number): HeaderPairs {
  const extra: [string, string][] = [];
  const copies = 1 + rng.int(3);
  for (let i = 0; i < copies; i++) extra.push([rng.int(4) === 0 ? 'X-Gateway-Destination-Endpoint' : 'x-gateway-destination-endpoint', SPOOFED_VALUES[rng.int(SPOOFED_VALUES.length)] ?? '']);
  for (const h of CONTROL_HEADERS) if (rng.int(2) === 0) extra.push([h, SPOOFED_VALUES[rng.int(3)] ?? '']);
  return postHeaders('/v1/completions', `spoof-${seq}`, extra);
}

function floodHeaders(rng: Prng, seq: number): HeaderPairs {
  const extra: [string, string | Buffer][] = [];
  const n = 93; // with the 6 request headers: 99
  for (let i = 0; i < n; i++) {
    const kind = rng.int(4);
    const value =
      kind === 0 ? 'v'.repeat(64 * 1024) : kind === 1 ? `a\r\nx-injected: 1\r\n` : kind === 2 ? Buffer.from([0x00, 0xff, 0x0a, 0x0d, 0x80]) : `value-${i}`;
    extra.push([`x-flood-${i}`, value]);
  }
  return postHeaders('/v1/completions', `flood-${seq}`, extra);
}

export const headersScenario: FaultScenario = {
  id: 'headers',
  title: 'spoofed destinations and header floods',
  rows: ['16', '18'],
  async run(ctx) {
    const sizes = SIZES[ctx.scale];
    const report = new ScenarioReport('headers');
    const endpoints = loopbackEndpoints(4, 8000, 212);
    const picker = await InProcessPicker.start({ discovery: { endpoints: endpoints.map((hp, i) => ({ name: `e${i}`, address: hp.split(':')[0] ?? '', port: 8000, labels: {} })) } }, endpoints);
    const pool = await FramePool.open({ port: picker.grpcPort }, 2);
    const rng = new Prng(ctx.seed);
    const settled = async (row: RowReport): Promise<void> => {
      const drained = await pollUntil(() => picker.activeStreams() === 0, 5000);
      const running = await picker.runningRequests();
      row.check('live streams and the in-flight gauge back to 0', !Number.isNaN(drained) && running === 0, `${picker.activeStreams()} sessions, ${running} in flight`);
    };
    try {
      {
        const row = report.row('16', `spoofed destination and control headers: ${sizes.spoofs} requests`, '0 of N spoofed requests reach the spoofed target; header == metadata in 100 % of replies; owned headers removed, never echoed');
        const specs = Array.from({ length: sizes.spoofs }, (_, i) => spoofHeaders(rng, i));
        const results = await mapConcurrent(specs, 32, (headers, i) => requestPhase(pool, { headers, body: completionBody(i, 256, 'spoof'), endpoints: picker.endpoints }));
        const routed = results.filter((r) => r.kind === 'routed');
        const honoured = results.filter((r) => r.violations.some((v) => v.includes('spoofed') || v.includes('not a configured endpoint'))).length;
        const mismatched = results.filter((r) => r.violations.some((v) => v.includes('metadata'))).length;
        const kept = results.filter((r) => r.violations.some((v) => v.includes('owned header'))).length;
        row.figure('requests routed', `${routed.length} / ${results.length}`);
        row.figure('spoofed destinations honoured', honoured);
        row.figure('replies where header != envoy.lb metadata', mismatched);
        row.figure('replies that kept or echoed an owned header', kept);
        row.check('every spoofed request routed to a configured endpoint', routed.length === results.length, results.filter((r) => r.kind !== 'routed').slice(0, 2).map(outcomeKey).join(', '));
        row.check('0 spoofed destinations honoured', honoured === 0);
        row.check('header == metadata in 100 % of replies', mismatched === 0);
        row.check('owned headers removed, never echoed; set_headers valid', results.every((r) => r.violations.length === 0), results.flatMap((r) => r.violations).slice(0, 2).join('; '));
        await settled(row);
        row.see('test/integration/extproc-server.test.ts, test/gateway/gateway.test.ts (the data plane never routes on the client header)');
      }
      {
        const row = report.row('18', `header floods: ${sizes.floods} requests of 99 headers (64 KiB values, CR/LF, raw bytes)`, 'set_headers ≤ 4 per reply; 0 invalid values');
        const specs = Array.from({ length: sizes.floods }, (_, i) => floodHeaders(rng, i));
        const results = await mapConcurrent(specs, 8, (headers, i) => requestPhase(pool, { headers, body: completionBody(i, 256, 'flood'), endpoints: picker.endpoints }));
        const outcomes = new Map<string, number>();
        for (const r of results) outcomes.set(outcomeKey(r), (outcomes.get(outcomeKey(r)) ?? 0) + 1);
        row.figure('outcomes', [...outcomes].map(([k, v]) => `${k} ${v}`).join(', '));
        row.check('every flooded request answered (routed or 4xx), none lost', results.every((r) => r.kind === 'routed' || (r.kind === 'immediate' && (r.status ?? 0) < 500)), [...outcomes.keys()].join(', '));
        row.check('set_headers ≤ 4 per reply, 0 invalid values, nothing echoed', results.every((r) => r.violations.length === 0), results.flatMap((r) => r.violations).slice(0, 2).join('; '));
        await settled(row);
      }
    } finally {
      pool.destroy();
      await picker.stop();
    }
    return report.result();
  },
};
