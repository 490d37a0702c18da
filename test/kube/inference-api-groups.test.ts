/**
 * InferenceObjective and InferenceModelRewrite from `llm-d.ai/v1alpha2`, falling back to the legacy
 * `inference.networking.x-k8s.io/v1alpha2`, chosen by API discovery as llm-d-router v0.10 does, through
 * the real client against the fake API server: only the new group, only the legacy one, both (new
 * wins, legacy ignored, a warning), neither (then installed later), a legacy install upgraded to the
 * new group while running, the new CRD deleted, and a discovery endpoint failing at start.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Datastore } from '../../src/datastore/datastore.js';
import { kubeConfigForServer } from '../../src/kube/kube-client.js';
import { KubernetesDiscovery } from '../../src/kube/kubernetes-discovery.js';
import { POOL_GROUP_V1 } from '../../src/kube/pool-spec.js';
import { createLogger } from '../../src/observability/logger.js';
import { FakeKubeApiServer, LEGACY_MODEL_REWRITES, LEGACY_OBJECTIVES, MODEL_REWRITES, OBJECTIVES, PODS, podObject, POOLS_V1, type FakeResource, type KubeObject } from '../helpers/fake-kube-apiserver.js';
import { waitFor } from './wait.js';

const NS = 'llm';
let server: FakeKubeApiServer;
let datastore: Datastore;
let discovery: KubernetesDiscovery | undefined;
let logs: { level: number; msg: string; [k: string]: unknown }[];
let configuredModels: readonly string[];
/** Every objective table discovery published, in order. */
let published: ReadonlyMap<string, number>[];

beforeEach(async () => {
  server = await FakeKubeApiServer.start();
  datastore = new Datastore();
  logs = [];
  configuredModels = [];
  published = [];
  server.apply(POOLS_V1, { metadata: { name: 'pool', namespace: NS }, spec: { selector: { matchLabels: { app: 'vllm' } }, targetPorts: [{ number: 8000 }] } });
  server.apply(PODS, podObject('a', NS, { app: 'vllm' }, '10.0.0.1'));
});

afterEach(async () => {
  await discovery?.close();
  discovery = undefined;
  await server.close();
});

function start(crdRecheckMs?: number): KubernetesDiscovery {
  const logger = createLogger(2, 'test', { write: (line: string) => void logs.push(JSON.parse(line) as (typeof logs)[number]) });
  discovery = new KubernetesDiscovery({
    namespace: NS,
    pool: { poolName: 'pool', poolGroup: POOL_GROUP_V1 },
    kubeConfig: kubeConfigForServer(server.url),
    logger,
    backoffBaseMs: 20,
    backoffMaxMs: 100,
    ...(crdRecheckMs === undefined ? {} : { crdRecheckMs }),
    onEndpoints: (specs) => datastore.setEndpoints(specs),
    onObjectives: (o) => {
      published.push(o);
      datastore.setObjectives(o);
    },
    onConfiguredModels: (names) => (configuredModels = names),
  });
  discovery.start();
  return discovery;
}

const objective = (name: string, priority: number): KubeObject => ({ metadata: { name, namespace: NS }, spec: { priority, poolRef: { name: 'pool' } } });
const rewrite = (name: string, from: string, to: string): KubeObject => ({
  metadata: { name, namespace: NS, creationTimestamp: '2026-01-01T00:00:00Z' },
  spec: { poolRef: { group: 'inference.networking.k8s.io', name: 'pool' }, rules: [{ matches: [{ model: { type: 'Exact', value: from } }], targets: [{ modelRewrite: to }] }] },
});

/** Requests that listed or watched a resource (not API discovery). */
const touched = (r: FakeResource): number => server.requests.filter((q) => q.path === `/apis/${r.group}/${r.version}/namespaces/${NS}/${r.plural}`).length;
const discoveryRequests = (group: string): number => server.requests.filter((q) => q.path === `/apis/${group}/v1alpha2`).length;
const logged = (text: string): boolean => logs.some((l) => l.msg.includes(text));

describe('InferenceObjective / InferenceModelRewrite API groups', () => {
  it('only llm-d.ai/v1alpha2 installed: objectives and rewrites come from it, the legacy group is never listed', async () => {
    server.setInstalled(LEGACY_OBJECTIVES, false);
    server.setInstalled(LEGACY_MODEL_REWRITES, false);
    server.apply(OBJECTIVES, objective('batch', -1));
    server.apply(MODEL_REWRITES, rewrite('rw', 'alias', 'real'));
    const d = start();
    await waitFor(() => datastore.priorityOf('batch') === -1 && d.modelRewriteRules.length === 1, 'objective and rewrite from llm-d.ai');
    expect(configuredModels).toEqual(['alias', 'real']);
    // Changes to the new group's objects follow (the watch is on it).
    server.apply(OBJECTIVES, objective('batch', 3));
    await waitFor(() => datastore.priorityOf('batch') === 3, 'objective update');
    expect(touched(LEGACY_OBJECTIVES) + touched(LEGACY_MODEL_REWRITES)).toBe(0);
    expect(logged('DEPRECATION')).toBe(false);
  });

  it('only the legacy group installed: objectives and rewrites come from it, with a deprecation warning', async () => {
    server.setInstalled(OBJECTIVES, false);
    server.setInstalled(MODEL_REWRITES, false);
    server.apply(LEGACY_OBJECTIVES, objective('batch', -2));
    server.apply(LEGACY_MODEL_REWRITES, rewrite('rw', 'alias', 'legacy-real'));
    const d = start();
    await waitFor(() => datastore.priorityOf('batch') === -2 && d.modelRewriteRules.length === 1, 'objective and rewrite from the legacy group');
    expect(configuredModels).toEqual(['alias', 'legacy-real']);
    server.delete(LEGACY_OBJECTIVES, NS, 'batch');
    await waitFor(() => datastore.priorityOf('batch') === 0, 'objective deletion');
    expect(touched(OBJECTIVES) + touched(MODEL_REWRITES)).toBe(0);
    const deprecation = logs.find((l) => l.msg.startsWith('DEPRECATION: InferenceObjective is served only as inference.networking.x-k8s.io/v1alpha2'));
    expect(deprecation).toMatchObject({ level: 40, using: 'inference.networking.x-k8s.io/v1alpha2', replacement: 'llm-d.ai/v1alpha2' });
    expect(logged('DEPRECATION: InferenceModelRewrite')).toBe(true);
  });

  it('both installed: llm-d.ai wins, legacy objects are ignored (never listed), and a warning says so', async () => {
    server.apply(OBJECTIVES, objective('chat', 2));
    server.apply(LEGACY_OBJECTIVES, objective('chat', -7));
    server.apply(LEGACY_OBJECTIVES, objective('legacy-only', -3));
    server.apply(MODEL_REWRITES, rewrite('rw', 'alias', 'new-target'));
    server.apply(LEGACY_MODEL_REWRITES, rewrite('rw', 'alias', 'old-target'));
    const d = start();
    await waitFor(() => datastore.priorityOf('chat') === 2 && d.modelRewriteRules.length === 1, 'objectives and rewrites from llm-d.ai');
    expect(datastore.priorityOf('legacy-only')).toBe(0);
    expect(d.modelRewriteRules[0]?.targets[0]?.model).toBe('new-target');
    expect(touched(LEGACY_OBJECTIVES) + touched(LEGACY_MODEL_REWRITES)).toBe(0);
    expect(logs.find((l) => l.msg === 'InferenceObjective is installed in more than one API group; using llm-d.ai and ignoring the others')).toMatchObject({
      level: 40,
      using: 'llm-d.ai/v1alpha2',
      ignored: ['inference.networking.x-k8s.io/v1alpha2'],
    });
    // Once the preferred group is watched, discovery is not repeated.
    const asked = discoveryRequests('llm-d.ai');
    server.dropWatches();
    await waitFor(() => server.openWatchesOf(OBJECTIVES) === 1 && server.openWatchesOf(PODS) === 1, 'watches reopened');
    expect(discoveryRequests('llm-d.ai')).toBe(asked);
  });

  it('neither installed: the pool still syncs, nothing is listed, and a CRD installed later is picked up', async () => {
    for (const r of [OBJECTIVES, LEGACY_OBJECTIVES]) server.setInstalled(r, false);
    const d = start(100);
    await waitFor(() => d.synced, 'pool sync');
    await waitFor(() => logged('InferenceObjective is not installed in the cluster'), 'the not-installed note');
    expect(touched(OBJECTIVES) + touched(LEGACY_OBJECTIVES)).toBe(0);
    expect(logs.filter((l) => l.msg.startsWith('InferenceObjective is not installed')).length).toBe(1);
    server.setInstalled(OBJECTIVES, true);
    server.apply(OBJECTIVES, objective('late', -4));
    await waitFor(() => datastore.priorityOf('late') === -4, 'objective of a CRD installed after start');
    expect(logs.filter((l) => l.msg.startsWith('InferenceObjective is not installed')).length).toBe(1);
  });

  it('a legacy install upgraded while running moves to llm-d.ai without a gap', async () => {
    server.setInstalled(OBJECTIVES, false);
    server.apply(LEGACY_OBJECTIVES, objective('batch', -1));
    server.apply(LEGACY_OBJECTIVES, objective('old-only', 5));
    start(100);
    await waitFor(() => datastore.priorityOf('batch') === -1, 'legacy objective');
    // The migration: the new CRD and the objects re-created in it.
    const before = published.length;
    server.apply(OBJECTIVES, objective('batch', -9));
    server.setInstalled(OBJECTIVES, true);
    await waitFor(() => datastore.priorityOf('batch') === -9, 'switch to llm-d.ai');
    expect(datastore.priorityOf('old-only')).toBe(0);
    // 'batch' never fell back to the default while switching.
    expect(published.slice(before).map((p) => p.get('batch'))).not.toContain(undefined);
    await waitFor(() => server.openWatchesOf(LEGACY_OBJECTIVES) === 0, 'legacy watch closed');
    expect(logged('switched InferenceObjective to the preferred group')).toBe(true);
  });

  it('a failing discovery endpoint decides nothing: retried until it answers, then the objectives load', async () => {
    server.apply(OBJECTIVES, objective('chat', 4));
    server.setDown('unavailable');
    const d = start();
    await waitFor(() => server.requests.filter((r) => r.path === '/apis/llm-d.ai/v1alpha2').length >= 3, 'several discovery attempts');
    expect(d.synced).toBe(false);
    expect(logged('API discovery failed; retrying')).toBe(true);
    expect(logged('not installed')).toBe(false);
    server.setDown(false);
    await waitFor(() => datastore.priorityOf('chat') === 4, 'objectives after the API server answered');
  });
});
