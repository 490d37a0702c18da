/**
 * deploy/examples: every manifest validated against the Kubernetes and CRD schemas, every values file
 * rendered through the chart and validated, and every EndpointPickerConfig loaded with our loader
 * (every plugin type it names must be one this build registers).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { expectValid, validateManifest } from './kube-schema.js';
import { ROOT, byKind, one, parseManifests, render, type Manifest } from './helm.js';
import { buildPickerConfig, missingPluginTypes } from './picker-config.js';

const EXAMPLES = `${ROOT}deploy/examples/`;
const dirs = readdirSync(EXAMPLES, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
const yamlFiles = (dir: string): string[] => readdirSync(`${EXAMPLES}${dir}`).filter((f) => f.endsWith('.yaml')).sort();
const isValues = (f: string): boolean => /^values.*\.yaml$/.test(f);
/** Resources of other projects' APIs whose schemas are not vendored here, with what checks them instead. */
const UNVALIDATED_KINDS: Record<string, string> = {
  'networking.istio.io/v1alpha3/EnvoyFilter': 'Istio CRD; its Envoy patch is validated in envoy-config.test.ts',
};

type Json = Record<string, unknown>;
const manifests = (dir: string): Manifest[] => yamlFiles(dir).filter((f) => !isValues(f)).flatMap((f) => parseManifests(readFileSync(`${EXAMPLES}${dir}/${f}`, 'utf8')));
const releaseOf = (values: string): string => {
  const m = /^# helm install (\S+) deploy\/helm\/inferencepool -n llm -f (\S+)$/m.exec(readFileSync(values, 'utf8'));
  if (m === null) throw new Error(`${values}: first line must be the helm install command`);
  expect(`${ROOT}${m[2]}`, 'the install line names this file').toBe(values);
  return m[1] as string;
};

it('there are the five patterns', () => {
  expect(dirs).toEqual(['01-baseline', '02-two-models-bbr', '03-prefix-aware-3-replicas', '04-moe-dp-ep-lws', '05-pd-disaggregation']);
});

describe.each(dirs)('example %s', (dir) => {
  it('its manifests are valid against the Kubernetes and CRD schemas', () => {
    const docs = manifests(dir);
    expect(docs.length).toBeGreaterThan(0);
    for (const d of docs) {
      const key = `${d.apiVersion}/${d.kind}`;
      if (UNVALIDATED_KINDS[key] !== undefined) continue;
      expect(validateManifest(d, `${dir}: ${d.kind}/${d.metadata.name}`), key).toEqual([]);
    }
  });

  for (const values of yamlFiles(dir).filter(isValues)) {
    const path = `${EXAMPLES}${dir}/${values}`;
    describe(values, () => {

      it('renders through the chart into valid manifests whose pool selects the example pods', () => {
        const docs = render(releaseOf(path), { values: [path] });
        expectValid(docs);
        const selector = ((one(docs, 'InferencePool').spec as Json).selector as { matchLabels: Record<string, string> }).matchLabels;
        const podLabels = manifests(dir).flatMap(podTemplatesOf).map((t) => ((t.metadata as Json | undefined)?.labels ?? {}) as Record<string, string>);
        const selected = podLabels.filter((l) => Object.entries(selector).every(([k, v]) => l[k] === v));
        expect(selected.length, 'pod templates the pool selects').toBeGreaterThan(0);
      });

      const config = (): string => {
        const docs = render(releaseOf(path), { values: [path] });
        const file = (one(docs, 'Deployment').spec as { template: { spec: { containers: { args: string[] }[] } } }).template.spec.containers[0]?.args.find((_a, i, all) => all[i - 1] === '--config-file');
        const data = one(docs, 'ConfigMap').data as Record<string, string>;
        return data[(file ?? '').replace('/config/', '')] ?? '';
      };
      it('its EndpointPickerConfig loads and schedules', () => {
        const text = config();
        expect(missingPluginTypes(text), 'plugin types this build lacks').toEqual([]);
        expect(buildPickerConfig(text).picked).toBeDefined();
      });
    });
  }
});

function podTemplatesOf(d: Manifest): Json[] {
  const spec = d.spec as Json | undefined;
  if (d.kind === 'Deployment' || d.kind === 'StatefulSet') return [spec?.template as Json];
  if (d.kind === 'LeaderWorkerSet') {
    const t = spec?.leaderWorkerTemplate as Json;
    return [t.leaderTemplate as Json, t.workerTemplate as Json];
  }
  return [];
}

describe('pattern specifics', () => {
  it('two models: one HTTPRoute rule per model header, each to the pool of the release that serves it', () => {
    const route = one(manifests('02-two-models-bbr'), 'HTTPRoute').spec as { rules: { matches: { headers: { name: string; value: string }[] }[]; backendRefs: { kind: string; name: string }[] }[] };
    const byModel = route.rules.map((r) => [r.matches[0]?.headers[0]?.name, r.matches[0]?.headers[0]?.value, r.backendRefs[0]?.kind, r.backendRefs[0]?.name]);
    expect(byModel).toEqual([
      ['X-Gateway-Model-Name', 'Qwen/Qwen2.5-3B-Instruct', 'InferencePool', 'qwen'],
      ['X-Gateway-Model-Name', 'meta-llama/Llama-3.1-8B-Instruct', 'InferencePool', 'llama'],
    ]);
    const releases = ['values-qwen.yaml', 'values-llama.yaml'].map((v) => releaseOf(`${EXAMPLES}02-two-models-bbr/${v}`));
    expect(releases).toEqual(['qwen', 'llama']);
    const served = byKind(manifests('02-two-models-bbr'), 'Deployment').filter((d) => d.metadata.name.startsWith('vllm-')).flatMap((d) => podTemplatesOf(d)).map((t) => ((t.spec as Json).containers as { args?: string[] }[])[0]?.args?.[1]);
    expect(served).toEqual(['Qwen/Qwen2.5-3B-Instruct', 'meta-llama/Llama-3.1-8B-Instruct']);
    const bbr = one(manifests('02-two-models-bbr'), 'Deployment', 'body-based-router');
    expect(((bbr.spec as Json).template as { spec: { containers: { command: string[] }[] } }).spec.containers[0]?.command).toEqual(['epp', 'bbr']);
  });

  it('MoE DP/EP: leader and worker pods expose one port per data-parallel rank, all of them pool target ports', () => {
    const lws = one(manifests('04-moe-dp-ep-lws'), 'LeaderWorkerSet');
    const values = readFileSync(`${EXAMPLES}04-moe-dp-ep-lws/values.yaml`, 'utf8');
    const targetPorts = [...values.matchAll(/number: (\d+)/g)].map((m) => Number(m[1]));
    expect(targetPorts).toEqual([8000, 8001, 8002, 8003]);
    for (const t of podTemplatesOf(lws)) {
      const ports = ((t.spec as Json).containers as { ports: { name: string; containerPort: number }[] }[])[0]?.ports.filter((p) => p.name.startsWith('rank-')).map((p) => p.containerPort);
      expect(ports).toEqual(targetPorts);
      expect((t.metadata as { labels: Record<string, string> }).labels.app).toBe('deepseek-dp-ep');
    }
  });

  it('P/D: prefill and decode pods are labelled by role, and decode pods front vLLM with the routing sidecar', () => {
    const docs = manifests('05-pd-disaggregation');
    const roles = byKind(docs, 'Deployment').map((d) => (((d.spec as Json).template as Json).metadata as { labels: Record<string, string> }).labels['llm-d.ai/role']);
    expect(roles.sort()).toEqual(['decode', 'prefill']);
    const decode = (one(docs, 'Deployment', 'qwen-decode').spec as { template: { spec: { initContainers: Json[]; containers: { args: string[] }[] } } }).template.spec;
    expect(decode.initContainers[0]).toMatchObject({ restartPolicy: 'Always', command: ['epp', 'pd-sidecar'], args: expect.arrayContaining(['--port=8000', '--model-server-port=8200']) as unknown });
    expect(decode.containers[0]?.args).toContain('--port=8200');
  });
});
