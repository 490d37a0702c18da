import type { ServerResponse } from 'node:http';
import type { EngineStats, FinishReason, RequestTracker } from './engine-stats.js';
import type { EngineDriver, EngineTicket } from './engine-pacer.js';
import { generateTokens, type TokenPacer } from './generate.js';
import { sendJson } from './http-io.js';
import type { GenerationRequest, PromptInput } from './openai-request.js';
import { fullResponse, responseId, streamChunk, usage, usageChunk, type ChoiceResult, type ResponseIdentity, type Usage } from './openai-shapes.js';
import { SseStream } from './sse.js';

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
  for (const [i, prompt] of run.request.prompts.entries()) {
    let text = '';
    for await (const token of pacedTokens(run, i, prompt)) text += token;
    if (run.ctx.signal.aborted) return false;
    choices.push({ text, finishReason: FINISH });
  }
  sendJson(res, 200, fullResponse(run.who, choices, runUsage(run)));
  return true;
}

async function respondStream(run: Run, res: ServerResponse): Promise<boolean> {
  const sse = new SseStream(res, run.ctx.signal);
  const { who, request } = run;
  const running = () => (request.continuousUsage ? runUsage(run) : undefined);
  sse.open();
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
 * or an SSE stream. A client that disconnects ends generation and is recorded as `abort`.
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
  }
}
