/** The context length the mock advertises in `/v1/models` and enforces on `max_tokens`. */
export const MAX_MODEL_LEN = 2048;

/** One entry of `GET /v1/models`, as vLLM serializes its `ModelCard`. */
export interface ModelCard {
  readonly id: string;
  readonly object: 'model';
  readonly created: number;
  readonly owned_by: 'vllm';
  readonly root: string;
  readonly parent: string | null;
  readonly max_model_len: number | null;
  readonly permission: readonly Record<string, unknown>[];
}

/** The `GET /v1/models` body. */
export interface ModelList {
  readonly object: 'list';
  readonly data: readonly ModelCard[];
}

/** A loaded LoRA adapter: requests address it by `name`. */
export interface LoraAdapter {
  readonly name: string;
  readonly path: string;
}

function permission(created: number): Record<string, unknown> {
  return {
    id: `modelperm-${created.toString(16)}`,
    object: 'model_permission',
    created,
    allow_create_engine: false,
    allow_sampling: true,
    allow_logprobs: true,
    allow_search_indices: false,
    allow_view: true,
    allow_fine_tuning: false,
    organization: '*',
    group: null,
    is_blocking: false,
  };
}

/** Lists the base model first, then one card per adapter (`root` = adapter path, `parent` = base model). */
export function modelList(model: string, adapters: readonly LoraAdapter[], created: number): ModelList {
  const base: ModelCard = {
    id: model,
    object: 'model',
    created,
    owned_by: 'vllm',
    root: model,
    parent: null,
    max_model_len: MAX_MODEL_LEN,
    permission: [permission(created)],
  };
  const loras = adapters.map(
    (a): ModelCard => ({
      id: a.name,
      object: 'model',
      created,
      owned_by: 'vllm',
      root: a.path,
      parent: model,
      max_model_len: null,
      permission: [permission(created)],
    }),
  );
  return { object: 'list', data: [base, ...loras] };
}
