/**
 * The request and response bodies of llm-d's `nixlv2` P/D protocol (model-server.md §5), as pure
 * functions over parsed JSON: the prefill leg's body, the decode leg's body, and the prefill
 * response's `kv_transfer_params` and cached tokens.
 */

type Body = Record<string, unknown>;

/** The token-limit fields forced to 1 on the prefill leg, by API path; undefined = not a generation API. */
export function tokenLimitFields(pathname: string): readonly string[] | undefined {
  if (pathname === '/v1/completions' || pathname === '/v1/chat/completions') return ['max_tokens', 'max_completion_tokens'];
  if (pathname === '/v1/responses') return ['max_output_tokens'];
  return undefined;
}

/**
 * The prefill leg: the client's body plus `kv_transfer_params {do_remote_decode: true, …}`,
 * `stream: false`, no `stream_options`, every token limit 1. `body` is not modified.
 */
export function prefillLegBody(body: Readonly<Body>, limits: readonly string[]): Body {
  const out: Body = { ...body };
  out.kv_transfer_params = {
    do_remote_decode: true,
    do_remote_prefill: false,
    remote_engine_id: null,
    remote_block_ids: null,
    remote_host: null,
    remote_port: null,
  };
  out.stream = false;
  delete out.stream_options;
  for (const f of limits) out[f] = 1;
  return out;
}

/** `kv_transfer_params.remote_kv_source`: pull the cached prefix from `host`'s OffloadingConnector P2P tier on `port`. */
export function remoteKvSource(kvRequestId: string, host: string, port: number): Body {
  return { kv_request_id: kvRequestId, remote_host: host, remote_port: port };
}

/**
 * The decode leg: the client's body (its own stream settings and token limits) with the prefill
 * response's `kv_transfer_params` (null when the prefiller returned none, which vLLM treats as a
 * plain request). `body` is not modified.
 */
export function decodeLegBody(body: Readonly<Body>, kvTransferParams: unknown): Body {
  return { ...body, kv_transfer_params: kvTransferParams ?? null };
}

/** `usage.prompt_tokens_details.cached_tokens` of a response, or undefined. */
export function cachedTokensOf(response: unknown): number | undefined {
  if (!isObject(response) || !isObject(response.usage)) return undefined;
  const details = response.usage.prompt_tokens_details;
  if (!isObject(details)) return undefined;
  const n = details.cached_tokens;
  return typeof n === 'number' && Number.isFinite(n) ? Math.trunc(n) : undefined;
}

/**
 * Sets `usage.prompt_tokens_details.cached_tokens` to `cached` when the response has a `usage`
 * object (creating `prompt_tokens_details` if it is null or absent). Returns whether it changed.
 */
export function setCachedTokens(response: unknown, cached: number): boolean {
  if (!isObject(response) || !isObject(response.usage)) return false;
  const usage = response.usage;
  const details = usage.prompt_tokens_details;
  if (!isObject(details)) {
    usage.prompt_tokens_details = { cached_tokens: cached };
    return true;
  }
  if (details.cached_tokens === cached) return false;
  details.cached_tokens = cached;
  return true;
}

/** 4xx client errors (400–451) are answered as they are; anything else falls back to local decode. */
export function isClientError(status: number): boolean {
  return status >= 400 && status <= 451;
}

export function isObject(v: unknown): v is Body {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
