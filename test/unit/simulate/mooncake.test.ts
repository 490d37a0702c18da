import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  loadMooncake,
  MOONCAKE_BLOCK_CHARS,
  parseMooncakeLine,
  readMooncake,
} from '../../../src/simulate/workload/mooncake.js';
import { BlockHasher, HASH_WORDS } from '../../../src/prefix/block-hasher.js';
import { TextBank } from '../../../src/simulate/workload/text-bank.js';
import { WorkloadError } from '../../../src/simulate/workload/workload-error.js';

const fixture = (name: string): string => fileURLToPath(new URL(`../../fixtures/traces/${name}`, import.meta.url));
const HEAD40 = fixture('mooncake-conversation-head40.jsonl');
const PAIRS = fixture('mooncake-conversation-pairs.jsonl');
const SYNTHETIC = fixture('mooncake-synthetic-head30.jsonl');

const fromText = (text: string): Readable => Readable.from([text]);

/** Length of the common prefix of two strings. */
function common(a: string, b: string): number {
  let i = 0;
  while (i < a.length && i < b.length && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  return i;
}

describe('Mooncake trace reader', () => {
  it('parses every line of the real traces into requests', async () => {
    const conv = await loadMooncake(HEAD40, { model: 'm' });
    const raw = readFileSync(HEAD40, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { timestamp: number; input_length: number; output_length: number; hash_ids: number[] });
    expect(conv).toHaveLength(40);
    conv.forEach((r, i) => {
      const line = raw[i]!;
      expect(r.arrivalMs).toBe(line.timestamp);
      expect(r.promptTokens).toBe(line.input_length);
      expect(r.outputTokens).toBe(line.output_length);
      expect(r.blockIds).toEqual(line.hash_ids);
      expect(r.blockTokens).toBe(512);
      expect(r.model).toBe('m');
      expect(r.prompt.length).toBe(line.input_length * 4);
      expect(r.sessionId).toBeUndefined();
    });
    expect(await loadMooncake(SYNTHETIC)).toHaveLength(30);
  });

  it('expands prompts to exactly input_length × 4 characters of ASCII words', async () => {
    for (const r of await loadMooncake(HEAD40, { limit: 10 })) {
      const text = r.prompt.text();
      expect(text).toHaveLength(r.promptTokens * 4);
      expect(text).toMatch(/^[a-z ]+$/);
    }
  });

  it('shares text prefixes exactly where leading hash ids agree', async () => {
    const requests = await loadMooncake(PAIRS);
    let pairs = 0;
    for (let i = 0; i < requests.length; i++) {
      for (let j = i + 1; j < requests.length; j++) {
        const a = requests[i]!;
        const b = requests[j]!;
        let shared = 0;
        while (shared < a.blockIds.length && shared < b.blockIds.length && a.blockIds[shared] === b.blockIds[shared]) shared++;
        const ta = a.prompt.text();
        const tb = b.prompt.text();
        const prefix = common(ta, tb);
        const fullShared = Math.min(shared * MOONCAKE_BLOCK_CHARS, ta.length, tb.length);
        expect(prefix).toBeGreaterThanOrEqual(fullShared);
        if (shared < a.blockIds.length && shared < b.blockIds.length) {
          // The first differing block makes the texts differ inside its tag.
          expect(prefix).toBeLessThan(shared * MOONCAKE_BLOCK_CHARS + 6);
          if (shared >= 2) pairs++;
        }
      }
    }
    // The fixture holds three pairs sharing 5–18 leading blocks.
    expect(pairs).toBeGreaterThanOrEqual(3);
  });

  it('gives the picker equal block hashes exactly over the shared leading ids', async () => {
    const requests = await loadMooncake(PAIRS);
    const hasher = new BlockHasher();
    // Picker blocks of 16 tokens = 64 characters: 32 per Mooncake block.
    const hashes = requests.map((r) => hasher.hash(r.prompt.text(), 'm', 64, 1 << 20));
    const [a, b] = [requests[2]!, requests[3]!];
    expect(a.blockIds.slice(0, 5)).toEqual(b.blockIds.slice(0, 5));
    expect(a.blockIds[5]).not.toBe(b.blockIds[5]);
    const [ha, hb] = [hashes[2]!, hashes[3]!];
    let equal = 0;
    while (equal * HASH_WORDS < ha.length && ha[equal * HASH_WORDS] === hb[equal * HASH_WORDS]) equal++;
    expect(equal).toBe(5 * 32);
  });

  it('maps block id k to the same 2,048 characters in every request', async () => {
    const bank = new TextBank();
    const [first] = await loadMooncake(HEAD40, { limit: 1, bank });
    const text = first!.prompt.text();
    const ids = first!.blockIds;
    ids.slice(0, -1).forEach((k, i) => {
      expect(text.slice(i * MOONCAKE_BLOCK_CHARS, (i + 1) * MOONCAKE_BLOCK_CHARS)).toBe(new TextBank().segment(k, MOONCAKE_BLOCK_CHARS));
    });
    const tail = text.slice((ids.length - 1) * MOONCAKE_BLOCK_CHARS);
    expect(tail).toHaveLength(6758 * 4 - 13 * MOONCAKE_BLOCK_CHARS);
    expect(new TextBank().segment(ids.at(-1)!, MOONCAKE_BLOCK_CHARS).startsWith(tail)).toBe(true);
  });

  it('divides timestamps by the rate scale', async () => {
    const fast = await loadMooncake(HEAD40, { rateScale: 2 });
    const slow = await loadMooncake(HEAD40, { rateScale: 0.5 });
    expect(fast.map((r) => r.arrivalMs).at(-1)).toBe(6000);
    expect(slow.map((r) => r.arrivalMs).at(-1)).toBe(24000);
    await expect(loadMooncake(HEAD40, { rateScale: 0 })).rejects.toThrow(/rate scale/);
    await expect(loadMooncake(HEAD40, { rateScale: Number.NaN })).rejects.toThrow(WorkloadError);
  });

  it('streams lazily and stops at the limit', async () => {
    const seen: number[] = [];
    for await (const r of readMooncake(HEAD40)) {
      seen.push(r.promptTokens);
      if (seen.length === 3) break;
    }
    expect(seen).toEqual([6758, 7322, 7236]);
    expect(await loadMooncake(HEAD40, { limit: 5 })).toHaveLength(5);
    expect(await loadMooncake(HEAD40, { limit: 0 })).toHaveLength(0);
  });

  it('skips blank lines and reads streams', async () => {
    const text = '\n{"timestamp": 5, "input_length": 600, "output_length": 2, "hash_ids": [1, 2]}\n\r\n';
    const [r] = await loadMooncake(fromText(text));
    expect(r!.arrivalMs).toBe(5);
    expect(r!.prompt.length).toBe(2400);
  });

  it('reports invalid lines by number', async () => {
    const good = '{"timestamp": 0, "input_length": 10, "output_length": 1, "hash_ids": [0]}';
    const cases: [string, RegExp][] = [
      ['{"timestamp": 0,', /line 2: invalid JSON/],
      ['[1]', /line 2: expected a JSON object/],
      ['{"input_length": 10, "output_length": 1, "hash_ids": [0]}', /line 2: timestamp must be/],
      ['{"timestamp": -1, "input_length": 10, "output_length": 1, "hash_ids": [0]}', /line 2: timestamp must be/],
      ['{"timestamp": 0, "input_length": 0, "output_length": 1, "hash_ids": []}', /line 2: input_length must be/],
      ['{"timestamp": 0, "input_length": 10, "output_length": 1.5, "hash_ids": [0]}', /line 2: output_length must be/],
      ['{"timestamp": 0, "input_length": 10, "output_length": 1, "hash_ids": 3}', /line 2: hash_ids must be an array/],
      ['{"timestamp": 0, "input_length": 600, "output_length": 1, "hash_ids": [0]}', /line 2: hash_ids has 1 ids, but input_length 600 needs 2/],
      ['{"timestamp": 0, "input_length": 10, "output_length": 1, "hash_ids": ["a"]}', /line 2: hash_ids\[0\] must be/],
    ];
    for (const [line, message] of cases) {
      const err = await loadMooncake(fromText(`${good}\n${line}\n`)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WorkloadError);
      expect((err as WorkloadError).line).toBe(2);
      expect((err as Error).message).toMatch(message);
    }
    const late = '{"timestamp": 9, "input_length": 10, "output_length": 1, "hash_ids": [0]}';
    await expect(loadMooncake(fromText(`${late}\n${good}\n`))).rejects.toThrow(/line 2: timestamp 0 is before/);
    expect(() => parseMooncakeLine('nope', 7)).toThrow(/^line 7: invalid JSON/);
  });

  it('is deterministic across loads', async () => {
    const a = (await loadMooncake(PAIRS)).map((r) => r.prompt.text());
    const b = (await loadMooncake(PAIRS, { bank: new TextBank({ maxCachedChars: 4096 }) })).map((r) => r.prompt.text());
    expect(b).toEqual(a);
  });
});
