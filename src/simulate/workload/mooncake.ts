/**
 * Reader of Mooncake (FAST'25) request traces: JSONL, one request per line with `timestamp` (ms),
 * `input_length` and `output_length` (tokens) and `hash_ids` (one id per 512-token prompt block,
 * the last block partial; equal ids at a position mean a shared prefix).
 *
 * Text mapping: block id k is the first 2,048 characters (512 tokens × 4 characters per token, the
 * picker's estimate) of `TextBank` key k's text; a prompt is its blocks' texts concatenated, the last
 * one cut so the prompt is exactly `input_length × 4` characters. Hence two prompts share a text
 * prefix of whole blocks exactly where their leading ids agree, and a differing id makes the texts
 * differ within that block's first 6 characters (see `text-bank.ts`).
 *
 * The file is read line by line (`node:readline`), never as one string.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { CHARS_PER_TOKEN } from '../../prefix/constants.js';
import { SegmentedPrompt } from './prompt-text.js';
import { TextBank } from './text-bank.js';
import { WorkloadError } from './workload-error.js';
import type { WorkloadRequest } from './workload-request.js';

/** Tokens per Mooncake hash block. */
export const MOONCAKE_BLOCK_TOKENS = 512;

/** Characters of one expanded Mooncake block. */
export const MOONCAKE_BLOCK_CHARS = MOONCAKE_BLOCK_TOKENS * CHARS_PER_TOKEN;

/** One validated trace line. */
export interface MooncakeRecord {
  readonly timestamp: number;
  readonly inputLength: number;
  readonly outputLength: number;
  readonly hashIds: readonly number[];
}

/** Options of {@link readMooncake}. */
export interface MooncakeOptions {
  /** Model every request names; default `"mooncake"`. */
  readonly model?: string;
  /** Arrival-rate multiplier: timestamps are divided by it (2 ⇒ twice as fast); default 1, must be > 0. */
  readonly rateScale?: number;
  /** Stop after this many requests (default: all). */
  readonly limit?: number;
  /** Bank the block texts come from; default a fresh `TextBank` with seed 0 (the documented mapping). */
  readonly bank?: TextBank;
}

/**
 * Parses and validates one trace line (`lineNo` is 1-based, for messages). Throws a `WorkloadError`
 * naming the line when the JSON is malformed, a field is missing or out of range, or `hash_ids` does
 * not hold exactly ⌈input_length / 512⌉ ids.
 */
export function parseMooncakeLine(line: string, lineNo: number): MooncakeRecord {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    throw new WorkloadError(`invalid JSON (${(err as Error).message})`, lineNo);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new WorkloadError('expected a JSON object', lineNo);
  const o = value as Record<string, unknown>;
  const timestamp = o.timestamp;
  if (typeof timestamp !== 'number' || !Number.isFinite(timestamp) || timestamp < 0) {
    throw new WorkloadError(`timestamp must be a non-negative number, got ${JSON.stringify(timestamp)}`, lineNo);
  }
  const inputLength = o.input_length;
  if (typeof inputLength !== 'number' || !Number.isSafeInteger(inputLength) || inputLength < 1) {
    throw new WorkloadError(`input_length must be a positive integer, got ${JSON.stringify(inputLength)}`, lineNo);
  }
  const outputLength = o.output_length;
  if (typeof outputLength !== 'number' || !Number.isSafeInteger(outputLength) || outputLength < 0) {
    throw new WorkloadError(`output_length must be a non-negative integer, got ${JSON.stringify(outputLength)}`, lineNo);
  }
  const hashIds = o.hash_ids;
  if (!Array.isArray(hashIds)) throw new WorkloadError(`hash_ids must be an array, got ${JSON.stringify(hashIds)}`, lineNo);
  const blocks = Math.ceil(inputLength / MOONCAKE_BLOCK_TOKENS);
  if (hashIds.length !== blocks) {
    throw new WorkloadError(`hash_ids has ${hashIds.length} ids, but input_length ${inputLength} needs ${blocks} blocks of ${MOONCAKE_BLOCK_TOKENS} tokens`, lineNo);
  }
  for (let i = 0; i < hashIds.length; i++) {
    const id: unknown = hashIds[i];
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id > 0xffffffff) {
      throw new WorkloadError(`hash_ids[${i}] must be an integer in [0, 2^32), got ${JSON.stringify(id)}`, lineNo);
    }
  }
  return { timestamp, inputLength, outputLength, hashIds: hashIds as number[] };
}

/** The workload request of a validated record (see the module doc for the text mapping). */
export function mooncakeRequest(record: MooncakeRecord, bank: TextBank, model: string, rateScale: number): WorkloadRequest {
  return {
    arrivalMs: record.timestamp / rateScale,
    model,
    prompt: SegmentedPrompt.uniform(bank, record.hashIds, MOONCAKE_BLOCK_CHARS, record.inputLength * CHARS_PER_TOKEN),
    promptTokens: record.inputLength,
    outputTokens: record.outputLength,
    blockIds: record.hashIds,
    blockTokens: MOONCAKE_BLOCK_TOKENS,
  };
}

/**
 * Streams the requests of a Mooncake trace — a file path or a readable byte stream — in file order.
 * Blank lines are skipped. Throws a `WorkloadError` naming the line on an invalid line or a timestamp
 * smaller than the previous one; a stream it opened is closed however iteration ends.
 */
export async function* readMooncake(input: string | Readable, options: MooncakeOptions = {}): AsyncGenerator<WorkloadRequest> {
  const rateScale = options.rateScale ?? 1;
  if (!(rateScale > 0) || !Number.isFinite(rateScale)) throw new WorkloadError(`rate scale must be a positive number, got ${rateScale}`);
  const limit = options.limit ?? Infinity;
  if (!(limit >= 0)) throw new WorkloadError(`limit must be ≥ 0, got ${limit}`);
  const model = options.model ?? 'mooncake';
  const bank = options.bank ?? new TextBank();
  const stream = typeof input === 'string' ? createReadStream(input, { encoding: 'utf8' }) : input;
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  let lineNo = 0;
  let count = 0;
  let previous = 0;
  try {
    if (count >= limit) return;
    for await (const line of lines) {
      lineNo++;
      if (line.trim().length === 0) continue;
      const record = parseMooncakeLine(line, lineNo);
      if (record.timestamp < previous) {
        throw new WorkloadError(`timestamp ${record.timestamp} is before the previous request's ${previous}`, lineNo);
      }
      previous = record.timestamp;
      yield mooncakeRequest(record, bank, model, rateScale);
      if (++count >= limit) return;
    }
  } finally {
    lines.close();
    if (typeof input === 'string') stream.destroy();
  }
}

/** All requests of a Mooncake trace (see {@link readMooncake}); the records are small, texts stay lazy. */
export async function loadMooncake(input: string | Readable, options: MooncakeOptions = {}): Promise<WorkloadRequest[]> {
  const out: WorkloadRequest[] = [];
  for await (const request of readMooncake(input, options)) out.push(request);
  return out;
}
