/**
 * Rewriting a request's `model` for the model server (`x-gateway-model-name-rewrite`, InferenceModel
 * rewrites). The new name is put in place of the old value's bytes, so everything else the client sent
 * is forwarded exactly (no re-serialisation: numbers beyond 2^53, key order, spacing and escapes stay
 * as written); only a body the scanner does not take (escaped top-level member names) is re-serialised.
 */
import { JsonMemberScanner } from './json-members.js';
import type { LLMRequest } from './llm-request.js';
import { MAX_JSON_DEPTH } from './json-body.js';
import { rewrapVertexRequest, vertexJsonOf } from './vertexai-request.js';

const modelMember = new JsonMemberScanner(['model'], MAX_JSON_DEPTH);

/** Where the top-level `model` value lies in `bytes` (the last one, as JSON.parse keeps), if the scanner takes the body. */
export function topLevelModelSpan(bytes: Buffer): readonly [number, number] | undefined {
  if (!modelMember.scan(bytes)) return undefined;
  const start = modelMember.start(0);
  return start < 0 ? undefined : [start, modelMember.end(0)];
}

/** `bytes` with the top-level `model` set to `target`. */
export function rewriteModel(bytes: Buffer, llm: LLMRequest, target: string): Buffer {
  if (llm.envelope === 'vertexai-grpc') return rewrapVertexRequest(bytes, rewriteJsonModel(vertexJsonOf(bytes), llm, target));
  return rewriteJsonModel(bytes, llm, target);
}

function rewriteJsonModel(bytes: Buffer, llm: LLMRequest, target: string): Buffer {
  const span = llm.modelSpan ?? topLevelModelSpan(bytes);
  if (span !== undefined) return Buffer.concat([bytes.subarray(0, span[0]), Buffer.from(JSON.stringify(target), 'utf8'), bytes.subarray(span[1])]);
  return Buffer.from(JSON.stringify({ ...llm.body, model: target }), 'utf8');
}
