import { describe, expect, it } from 'vitest';
import { Endpoint } from '../../../src/datastore/endpoint.js';
import { EndpointSnapshot } from '../../../src/datastore/snapshot.js';
import { subsetCandidates } from '../../../src/director/candidates.js';

const snapshot = new EndpointSnapshot(
  [new Endpoint('a', '10.0.0.1', 8000, {}), new Endpoint('b-0', '10.0.0.2', 8000, {}), new Endpoint('b-1', '10.0.0.2', 8001, {}), new Endpoint('v6', 'fd00::1', 8000, {})],
  1,
);
const names = (hint: string[] | undefined): string[] => subsetCandidates(snapshot, hint).map((e) => e.name);

describe('subsetCandidates', () => {
  it('returns every endpoint without a hint, none for an empty hint', () => {
    expect(names(undefined)).toEqual(['a', 'b-0', 'b-1', 'v6']);
    expect(names([])).toEqual([]);
  });
  it('matches ip:port exactly and a bare ip to all its ports', () => {
    expect(names(['10.0.0.2:8001'])).toEqual(['b-1']);
    expect(names(['10.0.0.2'])).toEqual(['b-0', 'b-1']);
    expect(names(['10.0.0.2', '10.0.0.2:8000'])).toEqual(['b-0', 'b-1']);
  });
  it('understands bracketed and bare IPv6', () => {
    expect(names(['[fd00::1]:8000'])).toEqual(['v6']);
    expect(names(['[fd00::1]'])).toEqual(['v6']);
    expect(names(['fd00::1'])).toEqual(['v6']);
  });
  it('ignores entries that match nothing', () => {
    expect(names(['10.9.9.9:8000', ' 10.0.0.1:8000 '])).toEqual(['a']);
    expect(names(['junk', ''])).toEqual([]);
  });
});
