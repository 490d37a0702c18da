/**
 * `llm_d_epp_model_rewrite_decisions_total{model_rewrite_name, model_name, target_model}` (twin
 * `inference_extension_model_rewrite_decisions_total`), as the picker records it from the rule that chose
 * the target, and the rule's model names pinned so they never fold to `other`.
 */
import { describe, expect, it } from 'vitest';
import { decodeModelRewrite, pickModelRewrite, poolRewriteRules, rewriteModelNames } from '../../../src/kube/model-rewrites.js';
import { POOL_GROUP_V1 } from '../../../src/kube/pool-spec.js';
import { EppMetrics } from '../../../src/observability/metrics.js';

const rules = poolRewriteRules(
  [
    decodeModelRewrite({
      metadata: { name: 'canary', creationTimestamp: '2026-01-01T00:00:00Z' },
      spec: { poolRef: { name: 'pool' }, rules: [{ matches: [{ model: { value: 'llama' } }], targets: [{ modelRewrite: 'llama-v1', weight: 9 }, { modelRewrite: 'llama-v2', weight: 1 }] }] },
    }),
    decodeModelRewrite({ metadata: { name: 'catch-all', creationTimestamp: '2026-02-01T00:00:00Z' }, spec: { poolRef: { name: 'pool' }, rules: [{ targets: [{ modelRewrite: 'default-model' }] }] } }),
  ],
  'pool',
  POOL_GROUP_V1,
);

/** What app.ts does for each request no rewrite header overrides. */
function route(m: EppMetrics, model: string, random: number): string | undefined {
  const rewrite = pickModelRewrite(rules, model, () => random);
  if (rewrite !== undefined) m.modelRewriteDecision(rewrite.rewriteName, model, rewrite.target);
  return rewrite?.target;
}

describe('model rewrite decisions', () => {
  it('names the InferenceModelRewrite that chose the target', () => {
    expect(pickModelRewrite(rules, 'llama', () => 0.5)).toEqual({ rewriteName: 'canary', target: 'llama-v1' });
    expect(pickModelRewrite(rules, 'llama', () => 0.95)).toEqual({ rewriteName: 'canary', target: 'llama-v2' });
    expect(pickModelRewrite(rules, 'anything', () => 0.5)).toEqual({ rewriteName: 'catch-all', target: 'default-model' });
    expect(pickModelRewrite([], 'llama', () => 0.5)).toBeUndefined();
  });

  it('counts each decision under both names; configured names never fold, client names past the cap do', async () => {
    const m = new EppMetrics();
    m.pinModelNames(rewriteModelNames(rules));
    for (let i = 0; i < 1000; i++) m.requestSeries(`client-${i}`, `client-${i}`, 'default-flow', 0).requests.inc();
    route(m, 'llama', 0.5);
    route(m, 'llama', 0.5);
    route(m, 'llama', 0.95);
    route(m, 'not-configured', 0.5);
    const text = await m.registry.metrics();
    expect(text).toContain('llm_d_epp_model_rewrite_decisions_total{model_rewrite_name="canary",model_name="llama",target_model="llama-v1"} 2');
    expect(text).toContain('llm_d_epp_model_rewrite_decisions_total{model_rewrite_name="canary",model_name="llama",target_model="llama-v2"} 1');
    expect(text).toContain('llm_d_epp_model_rewrite_decisions_total{model_rewrite_name="catch-all",model_name="other",target_model="default-model"} 1');
    expect(text).toContain('inference_extension_model_rewrite_decisions_total{model_rewrite_name="canary",model_name="llama",target_model="llama-v1"} 2');
  });
});
