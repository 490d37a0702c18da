import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Endpoint } from '../../../src/datastore/endpoint.js';
import type { PluginContext } from '../../../src/plugin/registry.js';
import type { SessionAffinityScorer} from '../../../src/scheduling/plugins/scorers/session-affinity-scorer.js';
import { encodeSessionToken, sessionAffinityScorerFactory } from '../../../src/scheduling/plugins/scorers/session-affinity-scorer.js';
import { MAX_SESSION_ID_LENGTH, MAX_SESSIONS, SessionTable } from '../../../src/scheduling/plugins/scorers/session-table.js';
import type { ProfileResult, SchedulingRequest, SchedulingResult } from '../../../src/scheduling/types.js';
import { endpoint, schedulingRequest } from '../../helpers/endpoints.js';

// The plugin's clock is the faked Date.now, moved by the fake timers.
const context: PluginContext = { random: () => 0.5, now: () => Date.now(), namespace: 'llm' };

function scorer(parameters: unknown): SessionAffinityScorer {
  return sessionAffinityScorerFactory('s', parameters, context) as SessionAffinityScorer;
}

function result(primary: Endpoint, more: Record<string, Endpoint> = {}): SchedulingResult {
  const profileResults = new Map<string, ProfileResult>([['decode', { targets: [primary] }]]);
  for (const [name, e] of Object.entries(more)) profileResults.set(name, { targets: [e] });
  return { primaryProfileName: 'decode', profileResults };
}

function withHeaders(headers: Record<string, string>): SchedulingRequest {
  return schedulingRequest({ headers: new Map(Object.entries(headers)) });
}

/** Scores, then (as the director does after picking `picked`) runs the pre-request hook; returns the scores. */
function route(s: SessionAffinityScorer, pool: readonly Endpoint[], request: SchedulingRequest, picked: Endpoint, more: Record<string, Endpoint> = {}): number[] {
  const out = new Float64Array(pool.length);
  s.score(request, pool, out);
  s.preRequest(request, result(picked, more));
  return Array.from(out);
}

const pool = [endpoint(0), endpoint(1), endpoint(2)];
const [e0, e1, e2] = pool as [Endpoint, Endpoint, Endpoint];

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(1_000_000);
});
afterEach(() => {
  vi.useRealTimers();
});

describe('session-affinity-scorer parameters', () => {
  it('defaults to encoded_endpoint_header with x-session-token; the header name is trimmed and lower-cased', () => {
    expect(scorer(undefined).strategy).toEqual({ kind: 'encoded_endpoint_header', header: 'x-session-token' });
    expect(scorer({ encodedEndpointHeaderConfig: { header: ' X-Pin ' } }).strategy).toEqual({ kind: 'encoded_endpoint_header', header: 'x-pin' });
  });

  it('session_id defaults: the x-session-id header, a 300 s TTL swept every 10 s; 0 means the default', () => {
    expect(scorer({ strategy: 'session_id' }).strategy).toEqual({ kind: 'session_id', headers: ['x-session-id'], ttlMs: 300_000, sweepMs: 10_000 });
    expect(scorer({ strategy: 'session_id', sessionIdConfig: { evictionTtlSeconds: 0, evictionSweepSeconds: 0 } }).strategy).toMatchObject({ ttlMs: 300_000, sweepMs: 10_000 });
    expect(scorer({ strategy: 'session_id', sessionIdConfig: { sources: [{ header: 'X-Conv' }, { header: 'x-user' }], evictionTtlSeconds: 1.5, evictionSweepSeconds: 0.5 } }).strategy).toEqual({
      kind: 'session_id',
      headers: ['x-conv', 'x-user'],
      ttlMs: 1500,
      sweepMs: 500,
    });
  });

  it('rejects unknown strategies, negative schedules, sources with both or neither of header and attribute, and attribute sources (no producer yet)', () => {
    expect(() => scorer({ strategy: 'cookie' })).toThrow(/strategy/);
    expect(() => scorer({ strategy: 'session_id', sessionIdConfig: { evictionTtlSeconds: -1 } })).toThrow(/evictionTtlSeconds/);
    expect(() => scorer({ strategy: 'session_id', sessionIdConfig: { evictionSweepSeconds: -1 } })).toThrow(/evictionSweepSeconds/);
    expect(() => scorer({ strategy: 'session_id', sessionIdConfig: { sources: [{ header: 'a', attribute: 'b' }] } })).toThrow(/exactly one of header or attribute/);
    expect(() => scorer({ strategy: 'session_id', sessionIdConfig: { sources: [{}] } })).toThrow(/exactly one of header or attribute/);
    expect(() => scorer({ strategy: 'session_id', sessionIdConfig: { sources: [{ attribute: 'agent-identity' }] } })).toThrow(/not implemented yet/);
    expect(() => scorer({ sessionIdConfig: { sourcez: [] } })).toThrow(/sourcez/);
    // The block of the strategy not chosen is decoded but not validated, as in the reference.
    expect(scorer({ sessionIdConfig: { evictionTtlSeconds: -1 } }).strategy.kind).toBe('encoded_endpoint_header');
  });
});

describe('encoded_endpoint_header', () => {
  it('reads and writes the configured header; profileName pins that profile’s target', () => {
    const s = scorer({ encodedEndpointHeaderConfig: { header: 'x-pin' } });
    const out = new Float64Array(3);
    s.score(withHeaders({ 'x-pin': encodeSessionToken('llm', 'e1') }), pool, out);
    expect(Array.from(out)).toEqual([0, 1, 0]);
    s.score(withHeaders({ 'x-session-token': encodeSessionToken('llm', 'e1') }), pool, out);
    expect(Array.from(out)).toEqual([0, 0, 0]); // the default header is not read any more
    const headers = new Map<string, string>();
    s.responseHeaders(schedulingRequest(), result(e2, { prefill: e0 }), headers);
    expect([...headers]).toEqual([['x-pin', encodeSessionToken('llm', 'e2')]]);

    const prefill = scorer({ profileName: 'prefill', encodedEndpointHeaderConfig: { header: 'x-session-token-prefill' } });
    const h2 = new Map<string, string>();
    prefill.responseHeaders(schedulingRequest(), result(e2, { prefill: e0 }), h2);
    expect([...h2]).toEqual([['x-session-token-prefill', encodeSessionToken('llm', 'e0')]]);
    const h3 = new Map<string, string>();
    prefill.responseHeaders(schedulingRequest(), result(e2), h3); // decode-only: no prefill pin to return
    expect(h3.size).toBe(0);
  });

  it('keeps no state', () => {
    const s = scorer({});
    expect(s.sessions).toBeUndefined();
    route(s, pool, withHeaders({ 'x-session-id': 'abc' }), e1);
    expect(route(s, pool, withHeaders({ 'x-session-id': 'abc' }), e1)).toEqual([0, 0, 0]);
  });
});

describe('session_id', () => {
  it('an unbound session expresses no preference, then sticks to the endpoint it was routed to; nothing is returned to the client', () => {
    const s = scorer({ strategy: 'session_id' });
    const req = (): SchedulingRequest => withHeaders({ 'x-session-id': ' conv-1 ' });
    expect(route(s, pool, req(), e2)).toEqual([0, 0, 0]);
    expect(route(s, pool, req(), e2)).toEqual([0, 0, 1]);
    expect(route(s, pool, withHeaders({ 'x-session-id': 'conv-2' }), e0)).toEqual([0, 0, 0]);
    expect(route(s, pool, withHeaders({ 'x-session-id': 'conv-2' }), e0)).toEqual([1, 0, 0]);
    const headers = new Map<string, string>();
    s.responseHeaders(req(), result(e2), headers);
    expect(headers.size).toBe(0);
    // No identifier (absent or blank): no preference, nothing stored.
    expect(route(s, pool, withHeaders({ 'x-session-id': '  ' }), e1)).toEqual([0, 0, 0]);
    expect(route(s, pool, schedulingRequest(), e1)).toEqual([0, 0, 0]);
    expect(s.sessions?.size).toBe(2);
  });

  it('reads the sources in order, the first non-empty one winning', () => {
    const s = scorer({ strategy: 'session_id', sessionIdConfig: { sources: [{ header: 'x-conv' }, { header: 'x-user' }] } });
    route(s, pool, withHeaders({ 'x-user': 'u1' }), e1);
    expect(route(s, pool, withHeaders({ 'x-conv': '', 'x-user': 'u1' }), e0)).toEqual([0, 1, 0]);
    expect(route(s, pool, withHeaders({ 'x-conv': 'c1', 'x-user': 'u1' }), e2)).toEqual([0, 0, 0]); // c1 is a new session
  });

  it('moves a session whose endpoint left the candidates; keeps it when its endpoint was only outscored', () => {
    const s = scorer({ strategy: 'session_id' });
    const req = (): SchedulingRequest => withHeaders({ 'x-session-id': 'conv' });
    route(s, pool, req(), e0);
    // e0 is a candidate but another scorer won: the binding stays.
    expect(route(s, pool, req(), e1)).toEqual([1, 0, 0]);
    expect(s.sessions?.boundEndpoint('conv')).toBe('e0');
    // e0 is gone from the candidates: the session rebinds to where it went.
    expect(route(s, [e1, e2], req(), e2)).toEqual([0, 0]);
    expect(s.sessions?.boundEndpoint('conv')).toBe('e2');
    expect(route(s, pool, req(), e2)).toEqual([0, 0, 1]);
  });

  it('profileName binds the session to that profile’s target', () => {
    const s = scorer({ strategy: 'session_id', profileName: 'prefill' });
    const req = (): SchedulingRequest => withHeaders({ 'x-session-id': 'conv' });
    route(s, pool, req(), e2, { prefill: e1 });
    expect(s.sessions?.boundEndpoint('conv')).toBe('e1');
    route(s, pool, withHeaders({ 'x-session-id': 'decode-only' }), e2); // no prefill target: nothing bound
    expect(s.sessions?.boundEndpoint('decode-only')).toBeUndefined();
  });

  it('forgets bindings unused for evictionTtlSeconds, swept every evictionSweepSeconds; use refreshes them', () => {
    const s = scorer({ strategy: 'session_id', sessionIdConfig: { evictionTtlSeconds: 30, evictionSweepSeconds: 10 } });
    const req = (id: string): SchedulingRequest => withHeaders({ 'x-session-id': id });
    route(s, pool, req('old'), e0);
    route(s, pool, req('kept'), e1);
    vi.advanceTimersByTime(20_000);
    expect(route(s, pool, req('kept'), e1)).toEqual([0, 1, 0]); // used at 20 s: refreshed
    vi.advanceTimersByTime(10_500); // 30.5 s after 'old' was bound, 10.5 s after 'kept' was used
    expect(route(s, pool, req('old'), e2)).toEqual([0, 0, 0]); // swept: unbound again, now bound to e2
    expect(route(s, pool, req('kept'), e1)).toEqual([0, 1, 0]);
    expect(s.sessions?.size).toBe(2);
  });

  it('expiry waits for the next sweep: a binding a little past its TTL still holds until the sweep interval has passed', () => {
    const s = scorer({ strategy: 'session_id', sessionIdConfig: { evictionTtlSeconds: 5, evictionSweepSeconds: 60 } });
    const req = (): SchedulingRequest => withHeaders({ 'x-session-id': 'conv' });
    route(s, pool, req(), e0);
    vi.advanceTimersByTime(30_000);
    expect(s.sessions?.boundEndpoint('conv')).toBe('e0');
    vi.advanceTimersByTime(30_000);
    expect(s.sessions?.boundEndpoint('conv')).toBeUndefined();
  });

  it('identifiers longer than MAX_SESSION_ID_LENGTH are treated as absent and never stored', () => {
    const s = scorer({ strategy: 'session_id' });
    const long = 'x'.repeat(MAX_SESSION_ID_LENGTH + 1);
    route(s, pool, withHeaders({ 'x-session-id': long }), e0);
    expect(route(s, pool, withHeaders({ 'x-session-id': long }), e0)).toEqual([0, 0, 0]);
    expect(s.sessions?.size).toBe(0);
    const fits = 'y'.repeat(MAX_SESSION_ID_LENGTH);
    route(s, pool, withHeaders({ 'x-session-id': fits }), e0);
    expect(s.sessions?.size).toBe(1);
  });
});

describe('SessionTable bounds', () => {
  it('holds at most maxSessions bindings, dropping the least recently used', () => {
    expect(MAX_SESSIONS).toBe(100_000);
    let now = 0;
    // A bound of 3 drops one at a time (a sixteenth of it, at least one).
    const t = new SessionTable({ ttlMs: 1000, sweepMs: 1000, now: () => now, maxSessions: 3 });
    for (const id of ['a', 'b', 'c']) t.bind(id, 'e0');
    t.bind('a', 'e1'); // refreshes a: b is now the least recently used
    t.bind('d', 'e2');
    expect(t.size).toBe(3);
    expect(['a', 'b', 'c', 'd'].map((id) => t.boundEndpoint(id))).toEqual(['e1', undefined, 'e0', 'e2']);
    now = 5000;
    expect(t.boundEndpoint('a')).toBeUndefined();
    expect(t.size).toBe(0);
  });

  it('a flood of distinct client identifiers keeps the table at its bound, the newest kept', () => {
    const t = new SessionTable({ ttlMs: 1e9, sweepMs: 1e9, now: () => 0 });
    const n = 3 * MAX_SESSIONS;
    for (let i = 0; i < n; i++) t.bind(`s${i}`, 'e0');
    expect(t.size).toBeLessThanOrEqual(MAX_SESSIONS);
    expect(t.size).toBeGreaterThan(MAX_SESSIONS - MAX_SESSIONS / 16 - 1);
    expect(t.boundEndpoint(`s${n - 1}`)).toBe('e0');
    expect(t.boundEndpoint(`s${n - MAX_SESSIONS + MAX_SESSIONS / 8}`)).toBe('e0');
    expect(t.boundEndpoint('s0')).toBeUndefined();
  });
});
