/**
 * Kubernetes discovery through the real @kubernetes/client-node against a fake API server speaking
 * the list/watch protocol: pod states, deletions, dropped watches, 410 Gone, an API server that is
 * down, objectives, both pool API versions and standalone mode.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Datastore } from '../../src/datastore/datastore.js';
import { kubeConfigForServer } from '../../src/kube/kube-client.js';
import { parseLabelSelector } from '../../src/kube/label-selector.js';
import { KubernetesDiscovery, type PoolSource } from '../../src/kube/kubernetes-discovery.js';
import { POOL_GROUP_V1, POOL_GROUP_V1ALPHA2 } from '../../src/kube/pool-spec.js';
import { silentLogger } from '../../src/observability/logger.js';
import { FakeKubeApiServer, LEGACY_MODEL_REWRITES, LEGACY_OBJECTIVES, MODEL_REWRITES, OBJECTIVES, PODS, podObject, POOLS_V1, POOLS_V1ALPHA2, type KubeObject } from '../helpers/fake-kube-apiserver.js';
import { waitFor, within } from './wait.js';

const NS = 'llm';
const APP = { app: 'vllm' };
let server: FakeKubeApiServer;
let datastore: Datastore;
let discovery: KubernetesDiscovery | undefined;
/** What `onConfiguredModels` last reported. */
let configuredModels: readonly string[] = [];

beforeEach(async () => {
  configuredModels = [];
  server = await FakeKubeApiServer.start();
  datastore = new Datastore();
});

afterEach(async () => {
  await discovery?.close();
  discovery = undefined;
  await server.close();
});

function v1Pool(name: string, ports: number[], selector: Record<string, string> = APP): KubeObject {
  return { metadata: { name, namespace: NS }, spec: { selector: { matchLabels: selector }, targetPorts: ports.map((number) => ({ number })) } };
}

function start(pool: PoolSource = { poolName: 'pool', poolGroup: POOL_GROUP_V1 }): KubernetesDiscovery {
  discovery = new KubernetesDiscovery({
    namespace: NS,
    pool,
    kubeConfig: kubeConfigForServer(server.url),
    logger: silentLogger(),
    backoffBaseMs: 20,
    backoffMaxMs: 100,
    onEndpoints: (specs) => datastore.setEndpoints(specs),
    onObjectives: (o) => datastore.setObjectives(o),
    onConfiguredModels: (names) => (configuredModels = names),
  });
  discovery.start();
  return discovery;
}

function names(): string[] {
  return datastore.snapshot.endpoints.map((e) => e.name).sort();
}

function nextChange(): Promise<void> {
  return new Promise((resolve) => {
    const off = datastore.onChange(() => {
      off();
      resolve();
    });
  });
}

describe('Kubernetes discovery against a fake API server', () => {
  it('holds exactly the Ready pods of the pool, one endpoint per target port', async () => {
    server.apply(POOLS_V1, v1Pool('pool', [8000, 8001]));
    server.apply(POOLS_V1, v1Pool('another-pool', [9000]));
    server.apply(PODS, podObject('ready-a', NS, APP, '10.0.0.1'));
    server.apply(PODS, podObject('ready-b', NS, { ...APP, 'llm-d.ai/role': 'decode' }, '10.0.0.2'));
    server.apply(PODS, podObject('not-ready', NS, APP, '10.0.0.3', { ready: false }));
    server.apply(PODS, podObject('no-ip', NS, APP, undefined));
    server.apply(PODS, podObject('terminating', NS, APP, '10.0.0.5', { deleting: true }));
    server.apply(PODS, podObject('other-app', NS, { app: 'other' }, '10.0.0.6'));
    server.apply(PODS, podObject('other-ns', 'elsewhere', APP, '10.0.0.7'));
    server.apply(PODS, podObject('one-rank', NS, APP, '10.0.0.8', { annotations: { 'llm-d.ai/active-ports': '8001' } }));
    const d = start();
    await waitFor(() => d.synced, 'first sync');
    expect(datastore.synced).toBe(true);
    expect(names()).toEqual(['one-rank-rank-1', 'ready-a-rank-0', 'ready-a-rank-1', 'ready-b-rank-0', 'ready-b-rank-1']);
    const b1 = datastore.snapshot.endpoints.find((e) => e.name === 'ready-b-rank-1');
    expect(b1?.hostPort).toBe('10.0.0.2:8001');
    expect(b1?.labels['llm-d.ai/role']).toBe('decode');

    // A pod turning Ready joins; one losing readiness leaves.
    server.apply(PODS, podObject('not-ready', NS, APP, '10.0.0.3'));
    await waitFor(() => names().includes('not-ready-rank-1'), 'pod becoming Ready');
    server.apply(PODS, podObject('ready-a', NS, APP, '10.0.0.1', { ready: false }));
    await waitFor(() => !names().includes('ready-a-rank-0'), 'pod becoming not Ready');
  });

  it('removes a deleted pod within 1 s of its DELETED event', async () => {
    server.apply(POOLS_V1, v1Pool('pool', [8000, 8001]));
    server.apply(PODS, podObject('a', NS, APP, '10.0.0.1'));
    server.apply(PODS, podObject('b', NS, APP, '10.0.0.2'));
    const d = start();
    await waitFor(() => d.synced && names().length === 4, 'first sync');
    await waitFor(() => server.openWatchesOf(PODS) === 1, 'watches open');
    const changed = nextChange();
    const t0 = performance.now();
    server.delete(PODS, NS, 'a');
    await within(changed, 1000, 'removal of the deleted pod');
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(names()).toEqual(['b-rank-0', 'b-rank-1']);
  });

  it('resumes a dropped watch from the last resourceVersion without relisting', async () => {
    server.apply(POOLS_V1, v1Pool('pool', [8000]));
    server.apply(PODS, podObject('a', NS, APP, '10.0.0.1'));
    const d = start();
    await waitFor(() => d.synced, 'first sync');
    await waitFor(() => server.watchRequests(PODS).length === 1 && server.openWatchesOf(PODS) === 1, 'pod watch open');
    const seenRv = server.resourceVersion;
    for (const abrupt of [true, false]) {
      await waitFor(() => server.openWatchesOf(PODS) === 1, 'pod watch open');
      server.dropWatches(abrupt);
      server.apply(PODS, podObject(`added-while-dropped-${abrupt}`, NS, APP, '10.0.0.9'));
      await waitFor(() => names().includes(`added-while-dropped-${abrupt}-rank-0`), 'pod added while the watch was down');
    }
    const resumed = server.watchRequests(PODS)[1];
    expect(Number(resumed?.query.get('resourceVersion'))).toBeGreaterThanOrEqual(Number(seenRv));
    expect(resumed?.query.get('allowWatchBookmarks')).toBe('true');
    expect(d.stats.podLists).toBe(1);
    // A bookmark moves the resume point even without object changes.
    server.apply(POOLS_V1, v1Pool('unrelated', [1]));
    await waitFor(() => server.openWatchesOf(PODS) === 1, 'pod watch reopened');
    server.bookmark();
    const rvAfterBookmark = server.resourceVersion;
    await waitFor(() => d.stats.podResourceVersion === rvAfterBookmark, 'bookmark received');
    server.dropWatches();
    await waitFor(() => server.watchRequests(PODS).some((r) => r.query.get('resourceVersion') === rvAfterBookmark), 'resume from the bookmark');
  });

  it('relists after 410 Gone (ERROR event or HTTP 410) and picks up pods added meanwhile', async () => {
    server.apply(POOLS_V1, v1Pool('pool', [8000, 8001]));
    server.apply(PODS, podObject('a', NS, APP, '10.0.0.1'));
    const d = start();
    await waitFor(() => d.synced && server.openWatchesOf(PODS) === 1, 'first sync');

    // The API server goes away, history is compacted while pods change, then it comes back: the
    // watch resumes from a resourceVersion that is too old and gets an ERROR event with 410.
    server.setDown('reset');
    server.apply(PODS, podObject('b', NS, APP, '10.0.0.2'));
    server.delete(PODS, NS, 'a');
    server.compact();
    expect(names()).toEqual(['a-rank-0', 'a-rank-1']); // the last known set keeps routing
    expect(d.synced).toBe(true);
    server.setDown(false);
    await waitFor(() => names().join() === 'b-rank-0,b-rank-1', 'relist after the 410 ERROR event');
    expect(d.stats.podLists).toBeGreaterThanOrEqual(2);

    // An open watch told its resourceVersion expired.
    await waitFor(() => server.openWatchesOf(PODS) === 1, 'watches reopened');
    const lists = d.stats.podLists;
    server.expireWatches();
    server.apply(PODS, podObject('c', NS, APP, '10.0.0.3'));
    await waitFor(() => names().includes('c-rank-1') && d.stats.podLists > lists, 'relist after an expired open watch');

    // HTTP 410 on the watch request itself.
    await waitFor(() => server.openWatchesOf(PODS) === 1, 'watches reopened');
    server.goneMode = 'http';
    server.dropWatches();
    server.setDown('unavailable');
    server.apply(PODS, podObject('d', NS, APP, '10.0.0.4'));
    server.compact();
    server.setDown(false);
    await waitFor(() => names().includes('d-rank-0'), 'relist after HTTP 410');
  });

  it('retries while the API server is down at start: not synced until it answers, then synced', async () => {
    server.apply(POOLS_V1, v1Pool('pool', [8000]));
    server.apply(PODS, podObject('a', NS, APP, '10.0.0.1'));
    server.setDown('unavailable');
    const d = start();
    await waitFor(() => server.requests.length >= 3, 'several attempts');
    expect(d.synced).toBe(false);
    expect(datastore.synced).toBe(false);
    server.setDown('reset');
    const attempts = server.connections;
    await waitFor(() => server.connections > attempts + 1, 'attempts against reset connections');
    expect(d.synced).toBe(false);
    server.setDown(false);
    await waitFor(() => d.synced, 'sync once the API server is up', 5000);
    expect(names()).toEqual(['a-rank-0']);
  });

  it('follows pool changes: new target ports, a new selector, and deletion (endpoints cleared, not synced)', async () => {
    server.apply(POOLS_V1, v1Pool('pool', [8000]));
    server.apply(PODS, podObject('a', NS, APP, '10.0.0.1'));
    server.apply(PODS, podObject('b', NS, { app: 'next' }, '10.0.0.2'));
    const d = start();
    await waitFor(() => d.synced, 'first sync');
    expect(names()).toEqual(['a-rank-0']);
    server.apply(POOLS_V1, v1Pool('pool', [8000, 8002]));
    await waitFor(() => names().join() === 'a-rank-0,a-rank-1', 'second target port');
    server.apply(POOLS_V1, v1Pool('pool', [8000, 8002], { app: 'next' }));
    await waitFor(() => names().join() === 'b-rank-0,b-rank-1', 'new selector');
    expect(server.requests.filter((r) => r.query.get('watch') !== 'true' && r.path.endsWith('/pods')).at(-1)?.query.get('labelSelector')).toBe('app=next');
    server.delete(POOLS_V1, NS, 'pool');
    await waitFor(() => !d.synced && names().length === 0, 'pool deletion');
    server.apply(POOLS_V1, v1Pool('pool', [8000]));
    await waitFor(() => d.synced && names().join() === 'a-rank-0', 'pool re-created');
  });

  it('reads InferenceObjective priorities for this pool', async () => {
    server.apply(POOLS_V1, v1Pool('pool', [8000]));
    const objective = (name: string, priority: number | undefined, pool = 'pool'): KubeObject => ({ metadata: { name, namespace: NS }, spec: { ...(priority === undefined ? {} : { priority }), poolRef: { name: pool } } });
    server.apply(OBJECTIVES, objective('chat', 2));
    server.apply(OBJECTIVES, objective('batch', -1));
    server.apply(OBJECTIVES, objective('foreign', -5, 'other-pool'));
    start();
    await waitFor(() => datastore.priorityOf('batch') === -1, 'objectives');
    expect(datastore.priorityOf('chat')).toBe(2);
    expect(datastore.priorityOf('foreign')).toBe(0);
    server.apply(OBJECTIVES, objective('chat', -3));
    await waitFor(() => datastore.priorityOf('chat') === -3, 'objective update');
    server.delete(OBJECTIVES, NS, 'batch');
    await waitFor(() => datastore.priorityOf('batch') === 0, 'objective deletion');
  });

  it('does not list a CRD that API discovery says is not installed (one probe per group, no retries) and exposes rewrite rules when installed', async () => {
    server.apply(POOLS_V1, v1Pool('pool', [8000]));
    server.apply(PODS, podObject('a', NS, APP, '10.0.0.1'));
    server.setInstalled(OBJECTIVES, false);
    server.setInstalled(LEGACY_OBJECTIVES, false);
    server.apply(MODEL_REWRITES, {
      metadata: { name: 'rw', namespace: NS, creationTimestamp: '2026-01-01T00:00:00Z' },
      spec: { poolRef: { name: 'pool' }, rules: [{ matches: [{ model: { type: 'Exact', value: 'alias' } }], targets: [{ modelRewrite: 'real-model', weight: 1 }] }] },
    });
    const d = start();
    await waitFor(() => d.synced && d.modelRewriteRules.length === 1, 'sync and rewrite rules');
    expect(d.modelRewriteRules[0]?.targets[0]?.model).toBe('real-model');
    expect(configuredModels).toEqual(['alias', 'real-model']);
    // Let other reflectors do a few round trips; the objectives are never listed nor probed again.
    server.dropWatches();
    await waitFor(() => server.openWatchesOf(PODS) === 1 && server.openWatchesOf(POOLS_V1) === 1, 'watches reopened');
    expect(server.requests.filter((r) => r.path.endsWith('/inferenceobjectives')).length).toBe(0);
    // Each group asked once per kind (InferenceObjective, InferenceModelRewrite), and not again.
    expect(server.requests.filter((r) => r.path === '/apis/llm-d.ai/v1alpha2').length).toBe(2);
    expect(server.requests.filter((r) => r.path === '/apis/inference.networking.x-k8s.io/v1alpha2').length).toBe(2);
  });

  it('serves a v1alpha2 pool (selector map, targetPortNumber)', async () => {
    server.apply(POOLS_V1ALPHA2, { metadata: { name: 'pool', namespace: NS }, spec: { selector: APP, targetPortNumber: 8000 } });
    server.apply(PODS, podObject('a', NS, APP, '10.0.0.1'));
    const d = start({ poolName: 'pool', poolGroup: POOL_GROUP_V1ALPHA2 });
    await waitFor(() => d.synced, 'sync');
    expect(names()).toEqual(['a-rank-0']);
    expect(server.requests.some((r) => r.path.startsWith('/apis/inference.networking.x-k8s.io/v1alpha2/namespaces/llm/inferencepools') && r.query.get('fieldSelector') === 'metadata.name=pool')).toBe(true);
  });

  it('runs standalone from a selector and target ports without any CRD', async () => {
    for (const r of [POOLS_V1, POOLS_V1ALPHA2, OBJECTIVES, MODEL_REWRITES, LEGACY_OBJECTIVES, LEGACY_MODEL_REWRITES]) server.setInstalled(r, false);
    server.apply(PODS, podObject('a', NS, { app: 'vllm', tier: 'gpu' }, '10.0.0.1'));
    server.apply(PODS, podObject('b', NS, { app: 'vllm' }, '10.0.0.2'));
    const d = start({ selector: parseLabelSelector('app=vllm,tier=gpu'), targetPorts: [8000, 8001] });
    await waitFor(() => d.synced, 'sync');
    expect(names()).toEqual(['a-rank-0', 'a-rank-1']);
    expect(server.requests.every((r) => r.path.endsWith('/pods'))).toBe(true);
    expect(server.requests[0]?.query.get('labelSelector')).toBe('app=vllm,tier=gpu');
  });

  it('runs standalone from a set-based selector: sent canonical as labelSelector, and each pod checked again', async () => {
    server.apply(PODS, podObject('vllm', NS, { app: 'vllm', tier: 'gpu' }, '10.0.0.1'));
    server.apply(PODS, podObject('sglang', NS, { app: 'sglang' }, '10.0.0.2'));
    server.apply(PODS, podObject('cpu', NS, { app: 'vllm', tier: 'cpu' }, '10.0.0.3'));
    server.apply(PODS, podObject('canary', NS, { app: 'vllm', canary: 'true' }, '10.0.0.4'));
    server.apply(PODS, podObject('other', NS, { app: 'other' }, '10.0.0.5'));
    const d = start({ selector: parseLabelSelector('tier != cpu, app in (vllm, sglang), !canary'), targetPorts: [8000] });
    await waitFor(() => d.synced, 'sync');
    expect(names()).toEqual(['sglang-rank-0', 'vllm-rank-0']);
    const podRequests = server.requests.filter((r) => r.path.endsWith('/pods'));
    expect(podRequests.map((r) => r.query.get('labelSelector'))).toEqual(podRequests.map(() => 'app in (sglang,vllm),!canary,tier!=cpu'));
    // A pod that starts matching joins; one that stops matching leaves (the server sends it as DELETED).
    server.apply(PODS, podObject('other', NS, { app: 'vllm' }, '10.0.0.5'));
    await waitFor(() => names().includes('other-rank-0'), 'pod starting to match');
    server.apply(PODS, podObject('vllm', NS, { app: 'vllm', canary: 'yes' }, '10.0.0.1'));
    await waitFor(() => !names().includes('vllm-rank-0'), 'pod no longer matching');
  });
});
