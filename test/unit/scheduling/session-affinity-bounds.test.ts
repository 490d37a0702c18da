import { describe, expect, it } from 'vitest';
import { encodeSessionToken, MAX_SESSION_TOKEN_LENGTH, SESSION_TOKEN_HEADER, SessionAffinityScorer } from '../../../src/scheduling/plugins/scorers/session-affinity-scorer.js';
import { endpoint, schedulingRequest } from '../../helpers/endpoints.js';

describe('session-affinity-scorer token bound', () => {
  const scorer = new SessionAffinityScorer('s');
  const pool = [endpoint(0), endpoint(1)];
  const score = (token: string): number[] => {
    const out = new Float64Array(pool.length);
    scorer.score(schedulingRequest({ headers: new Map([[SESSION_TOKEN_HEADER, token]]) }), pool, out);
    return [...out];
  };

  it(`honours tokens up to ${MAX_SESSION_TOKEN_LENGTH} characters and ignores longer ones as if absent`, () => {
    // The longest token a real pool mints: a 63-character namespace and a 253-character pod name with its rank suffix.
    const longestReal = encodeSessionToken('n'.repeat(63), `${'p'.repeat(253)}-rank-7`);
    expect(longestReal.length).toBeLessThan(MAX_SESSION_TOKEN_LENGTH);
    expect(score(encodeSessionToken('ns', 'e1'))).toEqual([0, 1]);
    // Padded to just past the bound with a name the pool has: still ignored.
    const padded = encodeSessionToken('n'.repeat(MAX_SESSION_TOKEN_LENGTH), 'e1');
    expect(padded.length).toBeGreaterThan(MAX_SESSION_TOKEN_LENGTH);
    expect(score(padded)).toEqual([0, 0]);
    expect(score('A'.repeat(1 << 20))).toEqual([0, 0]);
  });
});
