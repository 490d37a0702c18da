/**
 * The issue's done-when "an InferenceObjective in `llm-d.ai/v1alpha2` is honoured", end to end: the
 * picker discovers its pool through the fake API server, where the only InferenceObjective CRD is
 * llm-d.ai's; the pool's two mock vLLM replicas report a saturated queue and KV cache. A request
 * naming the objective (priority -1) in the objective header is shed with 429; once the objective's
 * priority is raised in the API server, the same request is routed.
 *
 * The request names the objective only in `x-llm-d-inference-objective` (v0.10's header).
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { PickerServer } from '../../src/app.js';
import { kubeConfigForServer } from '../../src/kube/kube-client.js';
import { POOL_GROUP_V1 } from '../../src/kube/pool-spec.js';
import { startMockVllm, type MockVllmServer } from '../../src/mockvllm/server.js';
import { FakeKubeApiServer, LEGACY_OBJECTIVES, OBJECTIVES, PODS, podObject, POOLS_V1, type KubeObject } from '../helpers/fake-kube-apiserver.js';
import { startTestPicker } from '../helpers/picker.js';
import { RawExtProcClient, requestBody, requestHeaders } from '../helpers/raw-extproc-client.js';

const NS = 'llm';
const IPS = ['127.0.0.71', '127.0.0.72'];
let server: FakeKubeApiServer;
let mocks: MockVllmServer[] = [];
let picker: PickerServer | undefined;
let client: RawExtProcClient | undefined;

beforeAll(async () => {
  server = await FakeKubeApiServer.start();
  server.setInstalled(LEGACY_OBJECTIVES, false);
  const first = await startMockVllm({ host: IPS[0] ?? '', port: 0, model: 'base', profile: 'none', fakeMetrics: { 'waiting-requests': 20, 'kv-cache-usage': 0.95 } });
  mocks = [first, await startMockVllm({ host: IPS[1] ?? '', port: first.port, model: 'base', profile: 'none', fakeMetrics: { 'waiting-requests': 30, 'kv-cache-usage': 0.99 } })];
  server.apply(POOLS_V1, { metadata: { name: 'pool', namespace: NS }, spec: { selector: { matchLabels: { app: 'vllm' } }, targetPorts: [{ number: first.port }] } });
  IPS.forEach((ip, i) => server.apply(PODS, podObject(`vllm-${i}`, NS, { app: 'vllm' }, ip)));
  server.apply(OBJECTIVES, objective('batch', -1));
  picker = await startTestPicker({
    discovery: { kubernetes: { namespace: NS, pool: { poolName: 'pool', poolGroup: POOL_GROUP_V1 }, kubeConfig: kubeConfigForServer(server.url), backoffBaseMs: 20, backoffMaxMs: 100 } },
    poolName: 'pool',
  });
  client = new RawExtProcClient(`127.0.0.1:${picker.grpcPort}`);
  await vi.waitFor(() => expect(picker?.datastore.snapshot.endpoints.length === 2 && picker.datastore.snapshot.endpoints.every((e) => e.metrics.known)).toBe(true), { timeout: 5000 });
});

afterAll(async () => {
  client?.close();
  await picker?.shutdown(1000);
  await Promise.all(mocks.map((m) => m.close()));
  await server.close();
});

function objective(name: string, priority: number): KubeObject {
  return { metadata: { name, namespace: NS }, spec: { priority, poolRef: { group: 'inference.networking.k8s.io', kind: 'InferencePool', name: 'pool' } } };
}

async function send(objectiveName: string): Promise<{ status: number | undefined; dropped: string | undefined; routed: boolean }> {
  if (client === undefined) throw new Error('no client');
  const s = client.open();
  s.send(requestHeaders({ ':method': 'POST', ':path': '/v1/completions', 'x-llm-d-inference-objective': objectiveName }));
  s.send(requestBody('{"model":"base","prompt":"p","max_tokens":1}', true));
  await s.until((x) => x.responses.length > 0);
  s.halfClose();
  const first = s.responses[0]?.msg;
  return {
    status: first?.immediate_response?.status?.code,
    dropped: first?.immediate_response?.headers?.set_headers?.find((o) => o.header?.key === 'x-llm-d-request-dropped-reason')?.header?.raw_value?.toString(),
    routed: first?.request_headers !== undefined,
  };
}

describe('an InferenceObjective served as llm-d.ai/v1alpha2', () => {
  it('makes a request naming it sheddable under saturation (priority -1 → 429), and follows priority changes', async () => {
    await vi.waitFor(() => expect(picker?.datastore.priorityOf('batch')).toBe(-1), { timeout: 5000 });
    expect(await send('batch')).toEqual({ status: 429, dropped: undefined, routed: false });
    // An objective the cluster does not define is priority 0: routed even though saturated.
    expect(await send('interactive')).toMatchObject({ routed: true });
    server.apply(OBJECTIVES, objective('batch', 0));
    await vi.waitFor(() => expect(picker?.datastore.priorityOf('batch')).toBe(0), { timeout: 5000 });
    expect(await send('batch')).toMatchObject({ routed: true });
  });
});
