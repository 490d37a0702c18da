import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../observability/logger.js';
import { ApiError, notFound } from './api-error.js';
import type { EngineDriver } from './engine-pacer.js';
import type { EngineStats } from './engine-stats.js';
import { EXPOSITION_CONTENT_TYPE } from './exposition.js';
import type { FakeMetrics } from './fake-metrics.js';
import { returnErrorFor, RETURN_ERROR_HEADER, type FailureInjector } from './failure-injection.js';
import type { TokenPacer } from './generate.js';
import { serveGeneration } from './generation-handler.js';
import { parseJsonObject, readBody, sendError, sendJson, sendText } from './http-io.js';
import { loadLoraAdapter, unloadLoraAdapter } from './lora-handlers.js';
import type { LoraRegistry } from './lora-registry.js';
import { renderMetrics } from './metrics.js';
import { modelList } from './model-card.js';
import { countMessageTokens, parseGenerateRequest, parseMessagesRequest } from './native-requests.js';
import { parseChatRequest, parseCompletionRequest, type GenerationRequest } from './openai-request.js';

/** The server-wide state every request handler reads. */
export interface MockState {
  readonly model: string;
  readonly podName: string;
  readonly port: number;
  /** This server's DP rank (the `engine` label); 0 without data parallelism. */
  readonly rank: number;
  readonly maxLoras: number;
  readonly fake: FakeMetrics | undefined;
  readonly stats: EngineStats;
  readonly loras: LoraRegistry;
  readonly pacer: TokenPacer | undefined;
  /** The engine model driving timing and metrics; `undefined` answers instantly. */
  readonly engine: EngineDriver | undefined;
  /** Random failure injection (`--failure-injection-rate`); `undefined` when off. */
  readonly failures: FailureInjector | undefined;
  readonly logger: Logger;
  /** Unix seconds at start. */
  readonly createdAt: number;
}

type Handler = (state: MockState, req: IncomingMessage, res: ServerResponse, signal: AbortSignal) => Promise<void> | void;

interface Route {
  readonly method: 'GET' | 'POST';
  readonly handler: Handler;
}

function generation(parse: (body: Record<string, unknown>) => GenerationRequest): Handler {
  return async (state, req, res, signal) => {
    const body = parseJsonObject(await readBody(req));
    // The sim's order: a body that is not JSON first, then X-Return-Error, then random injection, then the request itself.
    const forced = returnErrorFor(req.headers[RETURN_ERROR_HEADER]);
    if (forced !== undefined) throw forced;
    const injected = state.failures?.draw(state.model);
    if (injected !== undefined) throw injected;
    const request = parse(body);
    const model = request.model ?? state.model;
    if (model !== state.model && !state.loras.has(model)) throw notFound(`The model \`${model}\` does not exist.`);
    const requestId = randomUUID().replaceAll('-', '');
    const lora = model === state.model ? undefined : model;
    const kvHost = req.socket.localAddress ?? 'localhost';
    await serveGeneration({ stats: state.stats, pacer: state.pacer, engine: state.engine, signal, requestId, kvHost }, res, request, model, lora);
  };
}

const ROUTES: ReadonlyMap<string, Route> = new Map<string, Route>([
  ['/health', { method: 'GET', handler: (_s, _q, res) => void res.writeHead(200, { 'content-length': 0 }).end() }],
  [
    '/metrics',
    {
      method: 'GET',
      handler: (s, req, res) => {
        const now = Date.now() / 1000;
        const names = new URLSearchParams((req.url ?? '').split('?')[1] ?? '').getAll('name[]');
        const only = names.length === 0 ? undefined : new Set(names);
        const engine = s.engine?.snapshot();
        const text = renderMetrics({
          model: s.model,
          maxLoras: s.engine?.profile.maxLoras ?? s.maxLoras,
          rank: s.rank,
          stats: s.stats,
          fake: s.fake,
          createdAt: s.createdAt,
          now,
          ...(only === undefined ? {} : { only }),
          ...(engine === undefined || s.engine === undefined ? {} : { engine, latency: s.engine }),
        });
        sendText(res, 200, EXPOSITION_CONTENT_TYPE, text);
      },
    },
  ],
  ['/v1/models', { method: 'GET', handler: (s, _q, res) => sendJson(res, 200, modelList(s.model, s.loras.list(), Math.floor(s.createdAt))) }],
  ['/v1/completions', { method: 'POST', handler: generation(parseCompletionRequest) }],
  ['/v1/chat/completions', { method: 'POST', handler: generation(parseChatRequest) }],
  ['/v1/messages', { method: 'POST', handler: generation(parseMessagesRequest) }],
  ['/v1/messages/count_tokens', { method: 'POST', handler: async (_s, req, res) => sendJson(res, 200, { input_tokens: countMessageTokens(parseJsonObject(await readBody(req))) }) }],
  ['/inference/v1/generate', { method: 'POST', handler: generation(parseGenerateRequest) }],
  [
    '/v1/load_lora_adapter',
    { method: 'POST', handler: async (s, req, res) => loadLoraAdapter(s.loras, parseJsonObject(await readBody(req)), res) },
  ],
  [
    '/v1/unload_lora_adapter',
    { method: 'POST', handler: async (s, req, res) => unloadLoraAdapter(s.loras, parseJsonObject(await readBody(req)), res) },
  ],
]);

function failed(state: MockState, res: ServerResponse, err: unknown): void {
  if (err instanceof ApiError) {
    sendError(res, err);
    return;
  }
  // A client that hung up mid-upload is not a server fault and has nobody left to answer.
  if (res.destroyed || res.socket === null || res.socket.destroyed) return;
  state.logger.error({ err }, 'mock-vllm request failed');
  if (res.headersSent) res.destroy();
  else sendError(res, new ApiError(500, 'InternalServerError', err instanceof Error ? err.message : String(err)));
}

/**
 * Serves one HTTP request: stamps the identity headers first (so every answer, errors included,
 * carries them), dispatches by path, and turns any failure into an error response instead of a crash.
 */
export async function handleRequest(state: MockState, req: IncomingMessage, res: ServerResponse): Promise<void> {
  res.setHeader('x-inference-pod', state.podName);
  res.setHeader('x-inference-port', String(state.port));
  const abort = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) abort.abort();
  });
  const path = (req.url ?? '/').split('?', 1)[0] ?? '/';
  const route = ROUTES.get(path);
  const started = performance.now();
  res.on('finish', () => {
    state.logger.debug({ method: req.method, path, status: res.statusCode, ms: Math.round(performance.now() - started) }, 'mock-vllm request');
  });
  try {
    if (route === undefined) {
      sendJson(res, 404, { detail: 'Not Found' });
    } else if (req.method !== route.method && !(route.method === 'GET' && req.method === 'HEAD')) {
      res.setHeader('allow', route.method);
      sendJson(res, 405, { detail: 'Method Not Allowed' });
    } else {
      await route.handler(state, req, res, abort.signal);
    }
  } catch (err) {
    failed(state, res, err);
  }
}
