/** Header names the picker reads, writes or owns, and helpers over Envoy's header messages. */
import type { HeaderMap__Output } from '../generated/envoy/config/core/v3/HeaderMap.js';

export const DESTINATION_HEADER = 'x-gateway-destination-endpoint';
export const DESTINATION_METADATA_NAMESPACE = 'envoy.lb';
export const SUBSET_METADATA_NAMESPACE = 'envoy.lb.subset_hint';
export const SUBSET_KEY = 'x-gateway-destination-endpoint-subset';
export const REQUEST_ID_HEADER = 'x-request-id';
/** P/D: the prefill endpoint (`ip:port`) the decode-side sidecar sends the prefill leg to. */
export const PREFILLER_HOST_PORT_HEADER = 'x-prefiller-host-port';
/** E/P/D: the encode endpoints (`ip:port,ip:port`) for multimodal inputs. */
export const ENCODER_HOSTS_PORTS_HEADER = 'x-encoder-hosts-ports';
/** P2P KV pull: the peer (`host:port`) holding more of the prompt's cached prefix, for the routing sidecar. */
export const KV_CACHE_SOURCE_HEADER = 'x-kv-cache-source-host-port';
/** `envoy.lb` metadata key of the per-endpoint scores (`--emit-endpoint-scores`). */
export const DESTINATION_SCORES_KEY = 'x-gateway-destination-endpoint-scores';
/** Sent on a local reply when the picker dropped the request (values: `DropReason`). */
export const DROPPED_REASON_HEADER = 'x-llm-d-request-dropped-reason';

/** The InferenceObjective a request runs under (its priority). */
export const OBJECTIVE_HEADER = 'x-llm-d-inference-objective';
/** The flow a request is accounted to; `default-flow` when absent. */
export const FAIRNESS_ID_HEADER = 'x-llm-d-inference-fairness-id';
/** The model the request is forwarded as, overriding InferenceModelRewrite rules. */
export const MODEL_NAME_REWRITE_HEADER = 'x-llm-d-model-name-rewrite';
/** Latency objectives in milliseconds, for SLO-aware plugins. */
export const SLO_TTFT_HEADER = 'x-llm-d-slo-ttft-ms';
export const SLO_TPOT_HEADER = 'x-llm-d-slo-tpot-ms';
/** The fairness id of a request that names none (the reference's). */
export const DEFAULT_FAIRNESS_ID = 'default-flow';

/**
 * The names each request header above was sent under before v0.10, still honoured. When a request
 * carries both, the current name wins (as the reference's lookup: current first, then aliases).
 */
export const LEGACY_HEADER_ALIASES: Readonly<Record<string, string>> = {
  [OBJECTIVE_HEADER]: 'x-gateway-inference-objective',
  [FAIRNESS_ID_HEADER]: 'x-gateway-inference-fairness-id',
  [MODEL_NAME_REWRITE_HEADER]: 'x-gateway-model-name-rewrite',
  [SLO_TTFT_HEADER]: 'x-slo-ttft-ms',
  [SLO_TPOT_HEADER]: 'x-slo-tpot-ms',
};

/** A request header by its current name (lower-case), else by its legacy alias; undefined when neither is present. */
export function aliasedHeader(headers: ReadonlyMap<string, string>, name: string): string | undefined {
  const value = headers.get(name);
  if (value !== undefined) return value;
  const legacy = LEGACY_HEADER_ALIASES[name];
  return legacy === undefined ? undefined : headers.get(legacy);
}

/** The request's fairness id: `x-llm-d-inference-fairness-id` or its legacy alias; absent or empty means `default-flow`. Client-chosen: bound it before use as a label. */
export function fairnessIdOf(headers: ReadonlyMap<string, string>): string {
  const value = aliasedHeader(headers, FAIRNESS_ID_HEADER);
  return value === undefined || value === '' ? DEFAULT_FAIRNESS_ID : value;
}

/**
 * Headers only the data plane or the picker may set. A client-supplied copy is removed from the
 * forwarded request (the destination itself is overwritten), so clients cannot steer routing or
 * smuggle picker-to-sidecar instructions. Read-only inputs such as the objective and model-rewrite
 * headers are read first, then removed too: the model server has no use for them.
 */
export const OWNED_REQUEST_HEADERS: readonly string[] = [
  SUBSET_KEY,
  'x-gateway-destination-endpoint-served',
  OBJECTIVE_HEADER,
  'x-gateway-inference-objective',
  FAIRNESS_ID_HEADER,
  'x-gateway-inference-fairness-id',
  MODEL_NAME_REWRITE_HEADER,
  'x-gateway-model-name-rewrite',
  PREFILLER_HOST_PORT_HEADER,
  ENCODER_HOSTS_PORTS_HEADER,
  KV_CACHE_SOURCE_HEADER,
  'x-data-parallel-host-port',
  // Set by data-parallel-rank-header for multi-engine endpoints; a client must not pin a rank itself.
  'x-data-parallel-rank',
];

/** Flattens Envoy's header list into a lower-case map; repeated names are joined with ','. */
export function headerMapToMap(headerMap: HeaderMap__Output | undefined): Map<string, string> {
  const out = new Map<string, string>();
  const list = headerMap?.headers;
  if (list === undefined) return out;
  for (const h of list) {
    const key = (h.key ?? '').toLowerCase();
    const raw = h.raw_value;
    const value = raw !== undefined && raw.length > 0 ? raw.toString('latin1') : (h.value ?? '');
    const prev = out.get(key);
    out.set(key, prev === undefined ? value : `${prev},${value}`);
  }
  return out;
}

/** The value of the first header named `name` (lower-case) in Envoy's list, without building a map. */
export function headerValue(headerMap: HeaderMap__Output | undefined, name: string): string | undefined {
  const list = headerMap?.headers;
  if (list === undefined) return undefined;
  for (let i = 0; i < list.length; i++) {
    const h = list[i] as (typeof list)[number];
    const key = h.key ?? '';
    if (key.length !== name.length || key.toLowerCase() !== name) continue;
    const raw = h.raw_value;
    return raw !== undefined && raw.length > 0 ? raw.toString('latin1') : (h.value ?? '');
  }
  return undefined;
}

/** The request path: `:path`, else `x-original-path`, else `x-forwarded-path` (as the reference). */
export function requestPath(headers: ReadonlyMap<string, string>): string {
  return headers.get(':path') ?? headers.get('x-original-path') ?? headers.get('x-forwarded-path') ?? '/v1/completions';
}
