/**
 * `models-data-extractor`: reads an OpenAI `/v1/models` answer (`{"object": "list", "data": [{"id":
 * …, "parent": …}]}`) into `Endpoint.servedModels` (llm-d-router v0.10; no parameters). The page is
 * the pod's: at most `MAX_SERVED_MODELS` entries are kept, entries without a string `id` or with
 * over-long strings are skipped, and a page that is not such a list clears the endpoint's list.
 */
import type { Endpoint, ServedModel } from '../datastore/endpoint.js';
import type { PluginFactory } from '../plugin/registry.js';
import type { TypedName } from '../plugin/plugin.js';
import { decodeParameters, noParametersSchema } from '../plugin/parameters.js';
import type { AttributeExtractor } from './attribute-source.js';

export const MODELS_DATA_EXTRACTOR_TYPE = 'models-data-extractor';

/** Most models kept per endpoint. */
export const MAX_SERVED_MODELS = 1024;
/** Longest id, parent, object or owned_by string kept. */
export const MAX_MODEL_FIELD_CHARS = 512;

const text = (v: unknown): string | undefined => (typeof v === 'string' && v.length <= MAX_MODEL_FIELD_CHARS ? v : undefined);

/** The served models of a `/v1/models` answer, or why it is not one. */
export function parseModelList(page: string): readonly ServedModel[] | string {
  let body: unknown;
  try {
    body = JSON.parse(page);
  } catch {
    return 'the /v1/models answer is not JSON';
  }
  const data = typeof body === 'object' && body !== null ? (body as { data?: unknown }).data : undefined;
  if (!Array.isArray(data)) return 'the /v1/models answer has no "data" list';
  const models: ServedModel[] = [];
  for (const entry of data) {
    if (models.length >= MAX_SERVED_MODELS) break;
    if (typeof entry !== 'object' || entry === null) continue;
    const e = entry as Record<string, unknown>;
    const id = text(e.id);
    if (id === undefined || id === '') continue;
    const object = text(e.object);
    const ownedBy = text(e.owned_by);
    const parent = text(e.parent);
    const created = typeof e.created === 'number' && Number.isFinite(e.created) ? e.created : undefined;
    models.push(Object.freeze({ id, ...(object === undefined ? {} : { object }), ...(created === undefined ? {} : { created }), ...(ownedBy === undefined ? {} : { ownedBy }), ...(parent === undefined || parent === '' ? {} : { parent }) }));
  }
  return Object.freeze(models);
}

export class ModelsDataExtractor implements AttributeExtractor {
  readonly typedName: TypedName;

  constructor(name: string) {
    this.typedName = { type: MODELS_DATA_EXTRACTOR_TYPE, name };
  }

  update(page: string, endpoint: Endpoint): string | undefined {
    const models = parseModelList(page);
    if (typeof models === 'string') {
      endpoint.servedModels = undefined;
      return models;
    }
    endpoint.servedModels = models;
    return undefined;
  }

  clear(endpoint: Endpoint): void {
    endpoint.servedModels = undefined;
  }
}

export const modelsDataExtractorFactory: PluginFactory = (name, parameters) => {
  decodeParameters(noParametersSchema, parameters, MODELS_DATA_EXTRACTOR_TYPE, name);
  return new ModelsDataExtractor(name);
};
