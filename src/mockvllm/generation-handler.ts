import type { ServerResponse } from 'node:http';
import type { EngineStats, FinishReason, RequestTracker } from './engine-stats.js';
import type { EngineDriver, EngineTicket } from './engine-pacer.js';
import { generateTokens, type TokenPacer } from './generate.js';
import { sendJson } from './http-io.js';
import type { KvTransferParams, PdRole } from '../engine/request.js';
import type { GenerationRequest, KvTransferLeg, PromptInput } from './openai-request.js';
import { fullResponse, responseId, streamChunk, usage, usageChunk, type ChoiceResult, type ResponseIdentity, type Usage } from './openai-shapes.js';
import { SseStream } from './sse.js';
import {
  anthropicMessage,
  contentBlockDelta,
  contentBlockStart,
  contentBlockStop,
  generateResponse,
  messageDelta,
  messageStart,
  messageStop,
  mockTokenId,
  ping,
} from './native-shapes.js';

/** What serving one generation request needs from the server. */
export interface GenerationContext {
  readonly stats: EngineStats;
  readonly pacer: TokenPacer | undefined;
  /** The engine model that paces tokens and counts cache hits, when the server runs one. */
  readonly engine?: EngineDriver | undefined;
  /** Aborts when the client disconnects or the server closes. */
  readonly signal: AbortSignal;
  /** Server-unique id; also the random part of the response `id`. */
  readonly requestId: string;
  /** The address a P/D prefill leg names as `remote_host` (vLLM: its NIXL side channel); default `localhost`. */
  readonly kvHost?: string;
}

/** vLLM's default NIXL side-channel port (`VLLM_NIXL_SIDE_CHANNEL_PORT`), reported as `remote_port`. */
const NIXL_SIDE_CHANNEL_PORT = 5600;

/** The engine role of a P/D leg; a decode leg's transfer is read from the prefill leg's `kv_transfer_params`. */
function pdRole(leg: KvTransferLeg | undefined, promptTokens: number): PdRole | undefined {
  if (leg === undefined) return undefined;
  if (leg.role === 'prefill') return leg;
  const p = leg.params;
  const ids = Array.isArray(p.remote_block_ids) ? (p.remote_block_ids as unknown[]).filter((b): b is number => typeof b === 'number') : [];
  const transfer: KvTransferParams = {
    doRemotePrefill: true,
    doRemoteDecode: false,
    remoteEngineId: typeof p.remote_engine_id === 'string' ? p.remote_engine_id : '',
    remoteRequestId: typeof p.remote_request_id === 'string' ? p.remote_request_id : '',
    remoteBlockIds: ids,
    remoteNumTokens: typeof p.remote_num_tokens === 'number' ? p.remote_num_tokens : promptTokens,
  };
  return { role: 'decode', transfer };
}

/**
 * The `kv_transfer_params` a finished prefill leg answers with, in vLLM's field names; without an
 * engine the ids are placeholders (as llm-d-inference-sim does).
 */
function transferParamsBody(run: Run): Record<string, unknown> {
  const t = run.ticket?.kvTransferParams();
  return {
    do_remote_prefill: true,
    do_remote_decode: false,
    remote_block_ids: t?.remoteBlockIds ?? [],
    remote_engine_id: t?.remoteEngineId ?? 'mock-vllm',
    remote_request_id: t?.remoteRequestId ?? run.ctx.requestId,
    remote_host: run.ctx.kvHost ?? 'localhost',
    remote_port: NIXL_SIDE_CHANNEL_PORT,
    tp_size: 1,
    remote_num_tokens: t?.remoteNumTokens ?? run.promptTokens,
  };
}

/** Every choice runs to `max_tokens`: the mock has no end-of-sequence token. */
const FINISH: FinishReason = 'length';

interface Run {
  readonly ctx: GenerationContext;
  readonly request: GenerationRequest;
  readonly tracker: RequestTracker;
  readonly who: ResponseIdentity;
  readonly promptTokens: number;
  readonly ticket: EngineTicket | undefined;
  completionTokens: number;
}

function runUsage(run: Run): Usage {
  return usage(run.promptTokens, run.completionTokens, run.ticket?.cachedTokens());
}

/** Emits a choice's tokens as the pacer releases them; stops early (silently) once the request aborts. */
async function* pacedTokens(run: Run, choice: number, prompt: PromptInput): AsyncGenerator<string, void, undefined> {
  const { ctx } = run;
  let index = 0;
  for (const token of generateTokens(prompt.text, run.request.maxTokens)) {
    const step = { requestId: ctx.requestId, choice, index, promptTokens: prompt.tokens };
    if (run.ticket !== undefined) await run.ticket.pacer(step, ctx.signal);
    if (ctx.pacer !== undefined) await ctx.pacer(step, ctx.signal);
    if (ctx.signal.aborted) return;
    run.tracker.token();
    run.completionTokens++;
    index++;
    yield token;
  }
}

async function respondWhole(run: Run, res: ServerResponse): Promise<boolean> {
  const choices: ChoiceResult[] = [];
  const ids: number[] = [];
  for (const [i, prompt] of run.request.prompts.entries()) {
    let text = '';
    for await (const token of pacedTokens(run, i, prompt)) {
      text += token;
      ids.push(mockTokenId(token));
    }
    if (run.ctx.signal.aborted) return false;
    choices.push({ text, finishReason: FINISH });
  }
  const transfer = run.request.kvTransfer?.role === 'prefill' ? transferParamsBody(run) : null;
  switch (run.who.kind) {
    case 'messages':
      sendJson(res, 200, anthropicMessage(run.who, choices[0]?.text ?? '', runUsage(run)));
      break;
    case 'generate':
      sendJson(res, 200, generateResponse(run.who, ids, FINISH, runUsage(run), transfer));
      break;
    default:
      sendJson(res, 200, fullResponse(run.who, choices, runUsage(run), transfer));
  }
  return true;
}

/** Anthropic's event stream: the input usage first, a text block of deltas, the output usage last. */
async function respondMessagesStream(run: Run, sse: SseStream): Promise<boolean> {
  const prompt = run.request.prompts[0];
  if (prompt === undefined) return false;
  if (!(await sse.event('message_start', messageStart(run.who, runUsage(run))))) return false;
  if (!(await sse.event('content_block_start', contentBlockStart)) || !(await sse.event('ping', ping))) return false;
  for await (const text of pacedTokens(run, 0, prompt)) {
    if (!(await sse.event('content_block_delta', contentBlockDelta(text)))) return false;
  }
  if (run.ctx.signal.aborted) return false;
  if (!(await sse.event('content_block_stop', contentBlockStop)) || !(await sse.event('message_delta', messageDelta(run.completionTokens)))) return false;
  if (!(await sse.event('message_stop', messageStop))) return false;
  sse.end();
  return true;
}

/** vLLM generate streaming: one body per token, the last with the finish reason (and usage when asked). */
async function respondGenerateStream(run: Run, sse: SseStream): Promise<boolean> {
  const prompt = run.request.prompts[0];
  if (prompt === undefined) return false;
  for await (const text of pacedTokens(run, 0, prompt)) {
    if (!(await sse.send(generateResponse(run.who, [mockTokenId(text)], null, undefined)))) return false;
  }
  if (run.ctx.signal.aborted) return false;
  if (!(await sse.send(generateResponse(run.who, [], FINISH, run.request.includeUsage ? runUsage(run) : undefined)))) return false;
  await sse.done();
  return !run.ctx.signal.aborted;
}

async function respondStream(run: Run, res: ServerResponse): Promise<boolean> {
  const sse = new SseStream(res, run.ctx.signal);
  const { who, request } = run;
  const running = () => (request.continuousUsage ? runUsage(run) : undefined);
  sse.open();
  if (who.kind === 'messages') return respondMessagesStream(run, sse);
  if (who.kind === 'generate') return respondGenerateStream(run, sse);
  for (const [index, prompt] of request.prompts.entries()) {
    if (who.kind === 'chat' && !(await sse.send(streamChunk(who, { index, text: '', role: 'assistant', finishReason: null }, running())))) {
      return false;
    }
    for await (const text of pacedTokens(run, index, prompt)) {
      if (!(await sse.send(streamChunk(who, { index, text, finishReason: null }, running())))) return false;
    }
    if (!(await sse.send(streamChunk(who, { index, text: '', finishReason: FINISH }, running())))) return false;
  }
  if (request.includeUsage && !(await sse.send(usageChunk(who, runUsage(run))))) return false;
  await sse.done();
  return !run.ctx.signal.aborted;
}

/**
 * Serves a validated completions or chat request for `model` (the name the client asked for; `lora`
 * when it names an adapter): counts it as running while it generates, then answers with one JSON body
 * or an SSE stream. A P/D leg (`kv_transfer_params`) runs as such in the engine; a non-streamed
 * prefill leg answers with `kv_transfer_params` for the decoder. A client that disconnects ends generation, is recorded as `abort` and is aborted
 * in the engine (its batch seat and KV blocks are freed at once).
 */
export async function serveGeneration(
  ctx: GenerationContext,
  res: ServerResponse,
  request: GenerationRequest,
  model: string,
  lora: string | undefined,
): Promise<void> {
  const promptTokens = request.prompts.reduce((sum, p) => sum + p.tokens, 0);
  // Admission comes first: a refusal (context too long, queue full) must answer before any byte is sent.
  const ticket = ctx.engine?.admit(
    ctx.requestId,
    request.prompts.map((p) => ({ tokens: p.tokens, text: p.templated ?? p.text, maxTokens: request.maxTokens, ...(p.tokenIds === undefined ? {} : { tokenIds: p.tokenIds }) })),
    lora,
    pdRole(request.kvTransfer, promptTokens),
  );
  const run: Run = {
    ctx,
    request,
    tracker: ctx.stats.start(promptTokens, lora),
    who: { kind: request.kind, id: responseId(request.kind, ctx.requestId), created: Math.floor(Date.now() / 1000), model },
    promptTokens,
    ticket,
    completionTokens: 0,
  };
  let completed = false;
  try {
    completed = request.stream ? await respondStream(run, res) : await respondWhole(run, res);
  } finally {
    run.tracker.finish(completed ? FINISH : 'abort');
    // A client gone mid-request must not keep its seat and KV blocks in the engine (vLLM aborts it too).
    if (!completed) ticket?.abort();
  }
}
