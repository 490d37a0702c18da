import { describe, expect, it } from 'vitest';
import type { Metadata__Output } from '../../../src/generated/envoy/config/core/v3/Metadata.js';
import { SUBSET_KEY, SUBSET_METADATA_NAMESPACE } from '../../../src/extproc/headers.js';
import { MAX_SUBSET_ENTRY_LENGTH, readSubsetHint } from '../../../src/extproc/subset-hint.js';

const listHint = (entries: string[]): Metadata__Output => ({
  filter_metadata: { [SUBSET_METADATA_NAMESPACE]: { fields: { [SUBSET_KEY]: { listValue: { values: entries.map((stringValue) => ({ stringValue })) } } } } },
});
const stringHint = (value: string): Metadata__Output => ({ filter_metadata: { [SUBSET_METADATA_NAMESPACE]: { fields: { [SUBSET_KEY]: { stringValue: value } } } } });

describe('readSubsetHint', () => {
  it('reads list and comma-joined hints; no key means no restriction', () => {
    expect(readSubsetHint(undefined)).toBeUndefined();
    expect(readSubsetHint(listHint(['10.0.0.1:8000', '', '10.0.0.2']))).toEqual(['10.0.0.1:8000', '10.0.0.2']);
    expect(readSubsetHint(stringHint(' 10.0.0.1:8000 ,,[fd00::1]:8000'))).toEqual(['10.0.0.1:8000', '[fd00::1]:8000']);
  });

  it(`drops entries longer than ${MAX_SUBSET_ENTRY_LENGTH} characters (no endpoint address is that long)`, () => {
    const huge = `10.0.0.1:8000${' '.repeat(MAX_SUBSET_ENTRY_LENGTH)}`;
    const longestKept = 'h'.repeat(MAX_SUBSET_ENTRY_LENGTH);
    expect(readSubsetHint(listHint([huge, '10.0.0.2:8000', longestKept]))).toEqual(['10.0.0.2:8000', longestKept]);
    expect(readSubsetHint(stringHint(`${'x'.repeat(1 << 20)},10.0.0.2:8000`))).toEqual(['10.0.0.2:8000']);
    // A hint left empty still restricts: it matches no endpoint (503), as an unmatched one would.
    expect(readSubsetHint(listHint(['y'.repeat(MAX_SUBSET_ENTRY_LENGTH + 1)]))).toEqual([]);
  });
});
