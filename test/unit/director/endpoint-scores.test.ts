/**
 * `--emit-endpoint-scores` and the per-request score log lines: the scheduler records the primary
 * profile's scores only when asked, the director puts them on the decision, the session sends them
 * in `envoy.lb` metadata (bounded) and logs winner and runner-up at debug; `-v` 3 / 4 / 5 each add detail.
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Datastore } from '../../../src/datastore/datastore.js';
import type { Endpoint } from '../../../src/datastore/endpoint.js';
import { Director } from '../../../src/director/director.js';
import { emittedScores, scoreBreakdown } from '../../../src/director/endpoint-scores.js';
import { ExtProcSession } from '../../../src/extproc/session.js';
import type { ProcessingResponse } from '../../../src/extproc/proto.js';
import { createLogger, silentLogger, type Logger } from '../../../src/observability/logger.js';
import { EppMetrics } from '../../../src/observability/metrics.js';
import { OpenAIParser } from '../../../src/request/request-parser.js';
import { MaxScorePicker } from '../../../src/scheduling/plugins/pickers/max-score-picker.js';
import { SingleProfileHandler } from '../../../src/scheduling/plugins/profile-handlers/single-profile-handler.js';
import { Scheduler } from '../../../src/scheduling/scheduler.js';
import type { ProfileScores, Scorer } from '../../../src/scheduling/types.js';
import { endpoint } from '../../helpers/endpoints.js';

/** A scorer giving endpoint i the i-th value (by position in the candidate list). */
function fixed(name: string, values: readonly number[]): Scorer {
  return { typedName: { type: 'fixed', name }, score: (_r, c, out) => c.forEach((_, i) => (out[i] = values[i] ?? 0)) };
}

function setup(recordScores: boolean, logger: Logger = silentLogger()) {
  const datastore = new Datastore();
  datastore.setEndpoints([0, 1, 2].map((i) => ({ name: `p${i}`, address: `10.0.0.${i + 1}`, port: 8000, labels: {} })));
  const scheduler = new Scheduler(new SingleProfileHandler('h'), [
    {
      name: 'default',
      filters: [],
      // Totals: p0 = 0.2 + 2×0.1 = 0.4, p1 = 0.9 + 2×0.3 = 1.5 (winner), p2 = 1 (1.7 clamped) + 2×0.2 = 1.4 (runner-up).
      scorers: [
        { scorer: fixed('queue', [0.2, 0.9, 1.7]), weight: 1 },
        { scorer: fixed('kv', [0.1, 0.3, 0.2]), weight: 2 },
      ],
      picker: new MaxScorePicker('picker', 1),
    },
  ]);
  const director = new Director(datastore, scheduler, { disableSubsetFilter: false, random: () => 0, recordScores, logger });
  return { director, datastore };
}

const llm = { api: 'completions' as const, model: 'm', stream: false, cacheSalt: undefined, body: { model: 'm', prompt: 'p' }, bodyBytes: 10 };

describe('recorded scores', () => {
  it('are kept on the decision only when the director records them', () => {
    const off = setup(false).director.route({ requestId: 'r', headers: new Map(), llm, bodyless: false, subsetHint: undefined });
    expect(off.scores).toBeUndefined();
    expect(off.profile).toBe('default');
    const on = setup(true).director.route({ requestId: 'r', headers: new Map(), llm, bodyless: false, subsetHint: undefined });
    expect(on.destination).toBe('10.0.0.2:8000');
    expect(Array.from(on.scores?.totals ?? [])).toEqual([expect.closeTo(0.4), expect.closeTo(1.5), expect.closeTo(1.4)]);
    expect(on.scores?.scorers.map((s) => [s.name, s.weight, Array.from(s.scores)])).toEqual([
      ['queue', 1, [expect.closeTo(0.2), expect.closeTo(0.9), 1]],
      ['kv', 2, [expect.closeTo(0.1), expect.closeTo(0.3), expect.closeTo(0.2)]],
    ]);
  });

  it('name the winner and the runner-up with each scorer', () => {
    const d = setup(true).director.route({ requestId: 'r', headers: new Map(), llm, bodyless: false, subsetHint: undefined });
    const b = scoreBreakdown(d.scores as ProfileScores, d.targets[0]);
    expect(b.winner).toEqual({ endpoint: '10.0.0.2:8000', total: 1.5, scorers: { queue: 0.9, kv: 0.3 } });
    expect(b.runnerUp).toEqual({ endpoint: '10.0.0.3:8000', total: 1.4, scorers: { queue: 1, kv: 0.2 } });
  });

  it('emitted: the targets first, then the best others, never more than the bound', () => {
    const candidates: Endpoint[] = Array.from({ length: 100 }, (_, i) => endpoint(i));
    const totals = Float64Array.from(candidates, (_, i) => i / 100);
    const scores: ProfileScores = { candidates, totals, scorers: [] };
    const out = emittedScores(scores, [candidates[3] as Endpoint], 5);
    expect([...out.keys()]).toEqual([candidates[3], candidates[99], candidates[98], candidates[97], candidates[96]].map((e) => e?.hostPort));
    expect(out.get(candidates[3]?.hostPort ?? '')).toBe(0.03);
    expect(emittedScores(scores, [], 1000).size).toBe(100);
  });
});

function session(director: Director, emitEndpointScores: boolean, logger: Logger = silentLogger()) {
  const sent: ProcessingResponse[] = [];
  const s = new ExtProcSession(
    { send: (r) => sent.push(r), end: () => undefined },
    {
      router: director,
      parser: new OpenAIParser('openai-parser'),
      metrics: new EppMetrics(),
      logger,
      defaultBodyMode: 'full-duplex',
      maxRequestBodyBytes: 1024,
      decisionTimeoutMs: 5000,
      timers: { setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout) },
      emitEndpointScores,
    },
  );
  const headers = { ':path': '/v1/completions', 'x-request-id': 'req-1', 'x-llm-d-inference-objective': 'chat' };
  s.onMessage({ request: 'request_headers', request_headers: { headers: { headers: Object.entries(headers).map(([key, v]) => ({ key, raw_value: Buffer.from(v) })) }, end_of_stream: false } });
  s.onMessage({ request: 'request_body', request_body: { body: Buffer.from('{"model":"m","prompt":"p"}'), end_of_stream: true } });
  return sent;
}

describe('--emit-endpoint-scores', () => {
  it('puts every scored endpoint under envoy.lb x-gateway-destination-endpoint-scores, as numbers', () => {
    const sent = session(setup(true).director, true);
    const lb = sent[0]?.dynamic_metadata?.fields?.['envoy.lb']?.structValue?.fields;
    expect(lb?.['x-gateway-destination-endpoint']).toEqual({ stringValue: '10.0.0.2:8000' });
    const scores = lb?.['x-gateway-destination-endpoint-scores']?.structValue?.fields ?? {};
    expect(Object.keys(scores)).toEqual(['10.0.0.2:8000', '10.0.0.3:8000', '10.0.0.1:8000']);
    expect(scores['10.0.0.2:8000']?.numberValue).toBeCloseTo(1.5);
    expect(scores['10.0.0.1:8000']?.numberValue).toBeCloseTo(0.4);
  });

  it('sends only the destination without the flag, even when scores were recorded for logging', () => {
    const sent = session(setup(true).director, false);
    expect(Object.keys(sent[0]?.dynamic_metadata?.fields?.['envoy.lb']?.structValue?.fields ?? {})).toEqual(['x-gateway-destination-endpoint']);
  });
});

function capture(verbosity: number): { logger: Logger; lines: () => Record<string, unknown>[] } {
  const out: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      out.push(...chunk.toString('utf8').split('\n').filter((l) => l !== ''));
      done();
    },
  });
  return { logger: createLogger(verbosity, 'test', sink), lines: () => out.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('-v levels', () => {
  const routedLines = (v: number) => {
    const { logger, lines } = capture(v);
    // As app.ts does: scores are recorded when debug lines will show them.
    const { director } = setup(logger.isLevelEnabled('debug'), logger);
    session(director, false, logger);
    return lines();
  };

  it('2 (default): no per-request line', () => {
    expect(routedLines(2).filter((l) => l.msg === 'request routed')).toEqual([]);
  });

  it('3 (verbose): one line per request naming the endpoint, objective and models, without scores', () => {
    const routed = routedLines(3).filter((l) => l.msg === 'request routed');
    expect(routed).toHaveLength(1);
    expect(routed[0]).toMatchObject({ level: 25, 'x-request-id': 'req-1', objective: 'chat', endpoint: '10.0.0.2:8000', model: 'm', targetModel: 'm' });
    expect(routed[0]).not.toHaveProperty('winner');
  });

  it('4 (debug): that line also names the profile and each scorer score of the winner and the runner-up', () => {
    const routed = routedLines(4).filter((l) => l.msg === 'request routed');
    expect(routed).toHaveLength(1);
    expect(routed[0]).toMatchObject({
      level: 20,
      endpoint: '10.0.0.2:8000',
      profile: 'default',
      winner: { endpoint: '10.0.0.2:8000', total: 1.5, scorers: { queue: 0.9, kv: 0.3 } },
      runnerUp: { endpoint: '10.0.0.3:8000', total: 1.4, scorers: { queue: 1, kv: 0.2 } },
    });
  });

  it('5 (trace): every ext_proc message too', () => {
    const lines = routedLines(5);
    expect(lines.filter((l) => l.msg === 'ext_proc message').map((l) => [l.message, l.bytes])).toEqual([
      ['request_headers', 0],
      ['request_body', 26],
    ]);
    expect(lines.filter((l) => l.msg === 'request routed')).toHaveLength(1);
  });
});
