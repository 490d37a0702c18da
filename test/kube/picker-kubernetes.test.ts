/**
 * End to end with Kubernetes discovery: the picker (startPicker) watches a fake API server for an
 * InferencePool with two target ports; its pods are mock vLLM replicas on distinct loopback
 * addresses, one server per (pod, port). Requests go through the local gateway (playing Envoy).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PickerServer } from '../../src/app.js';
import { startGateway, type GatewayServer } from '../../src/gateway/gateway.js';
import { kubeConfigForServer } from '../../src/kube/kube-client.js';
import { leaseNameFor } from '../../src/kube/leader-election.js';
import { POOL_GROUP_V1 } from '../../src/kube/pool-spec.js';
import { startMockVllm, type MockVllmServer } from '../../src/mockvllm/server.js';
import { FakeKubeApiServer, LEASES, PODS, podObject, POOLS_V1 } from '../helpers/fake-kube-apiserver.js';
import { healthCheck } from '../helpers/health-client.js';
import { startTestPicker } from '../helpers/picker.js';
import { waitFor, waitForAsync, within } from './wait.js';

const MODEL = 'Qwen/Qwen2.5-3B-Instruct';
const NS = 'llm';
const APP = { app: 'vllm' };
const IPS = ['127.0.0.51', '127.0.0.52', '127.0.0.53'];
let server: FakeKubeApiServer;
let mocks: MockVllmServer[] = [];
let picker: PickerServer | undefined;
let gateway: GatewayServer | undefined;
let ports: [number, number];

/** Two ports free on every address: the first server picks them, the others bind the same numbers. */
async function startReplicas(): Promise<void> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const started: MockVllmServer[] = [];
    try {
      const r0 = await startMockVllm({ host: IPS[0] ?? '', port: 0, model: MODEL, podName: 'pod-0-r0', profile: 'none' });
      started.push(r0);
      const r1 = await startMockVllm({ host: IPS[0] ?? '', port: 0, model: MODEL, podName: 'pod-0-r1', profile: 'none' });
      started.push(r1);
      for (let i = 1; i < IPS.length; i++) {
        started.push(await startMockVllm({ host: IPS[i] ?? '', port: r0.port, model: MODEL, podName: `pod-${i}-r0`, profile: 'none' }));
        started.push(await startMockVllm({ host: IPS[i] ?? '', port: r1.port, model: MODEL, podName: `pod-${i}-r1`, profile: 'none' }));
      }
      mocks = started;
      ports = [r0.port, r1.port];
      return;
    } catch {
      await Promise.all(started.map((m) => m.close()));
    }
  }
  throw new Error('could not find two ports free on every test address');
}

beforeAll(async () => {
  server = await FakeKubeApiServer.start();
  await startReplicas();
  server.apply(POOLS_V1, { metadata: { name: 'pool', namespace: NS }, spec: { selector: { matchLabels: APP }, targetPorts: ports.map((number) => ({ number })) } });
  server.apply(PODS, podObject('pod-0', NS, APP, IPS[0]));
  server.apply(PODS, podObject('pod-1', NS, APP, IPS[1]));
  server.apply(PODS, podObject('pod-2', NS, APP, IPS[2], { ready: false }));
  // The API server is down when the picker starts.
  server.setDown('unavailable');
  picker = await startTestPicker({
    discovery: { kubernetes: { namespace: NS, pool: { poolName: 'pool', poolGroup: POOL_GROUP_V1 }, kubeConfig: kubeConfigForServer(server.url), backoffBaseMs: 20, backoffMaxMs: 100 } },
    poolName: 'pool',
  });
  gateway = await startGateway({ host: '127.0.0.1', port: 0, epp: `127.0.0.1:${picker.grpcPort}` });
});

afterAll(async () => {
  await gateway?.close();
  await picker?.shutdown(1000);
  await Promise.all(mocks.map((m) => m.close()));
  await server.close();
});

async function complete(prompt: string): Promise<string> {
  const res = await fetch(`${gateway?.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: MODEL, prompt, max_tokens: 2 }) });
  expect(res.status).toBe(200);
  await res.arrayBuffer();
  return res.headers.get('x-inference-pod') ?? '';
}

describe('picker with Kubernetes discovery', () => {
  it('is NOT_SERVING while the API server is down, SERVING once the pool synced', async () => {
    const address = `127.0.0.1:${picker?.grpcHealthPort}`;
    expect(await healthCheck(address, '')).toBe('NOT_SERVING');
    server.setDown(false);
    await waitFor(() => picker?.datastore.synced === true, 'first sync');
    expect(await healthCheck(address, '')).toBe('SERVING');
    expect(await healthCheck(address, 'inference-extension')).toBe('SERVING');
  });

  it('routes only to Ready pods and uses both ranks of each', async () => {
    const seen = new Map<string, number>();
    for (let i = 0; i < 24; i++) {
      const pod = await complete(`distinct prompt number ${i} ${'x'.repeat(i)}`);
      seen.set(pod, (seen.get(pod) ?? 0) + 1);
    }
    expect([...seen.keys()].sort()).toEqual(['pod-0-r0', 'pod-0-r1', 'pod-1-r0', 'pod-1-r1']);
  });

  it('gives a deleted pod no picks within 1 s of its DELETED event', async () => {
    const ds = picker?.datastore;
    if (ds === undefined) throw new Error('no picker');
    const changed = new Promise<void>((resolve) => {
      const off = ds.onChange(() => {
        off();
        resolve();
      });
    });
    server.delete(PODS, NS, 'pod-0');
    await within(changed, 1000, 'the DELETED event reaching the datastore');
    for (let i = 0; i < 8; i++) expect(await complete(`after deletion ${i}`)).toMatch(/^pod-1-r[01]$/);
  });

  it('after dropped watches and a 410 relists and routes to a pod added meanwhile', async () => {
    server.setDown('reset');
    server.apply(PODS, podObject('pod-2', NS, APP, IPS[2]));
    server.compact();
    // Routing continues on the last known endpoints while the API server is unreachable.
    expect(await complete('while down')).toMatch(/^pod-1-r[01]$/);
    server.setDown(false);
    await waitFor(() => picker?.datastore.snapshot.endpoints.some((e) => e.name === 'pod-2-rank-1') === true, 'relist picking up pod-2');
    const seen = new Set<string>();
    for (let i = 0; i < 16 && seen.size < 4; i++) seen.add(await complete(`after relist ${i} ${'y'.repeat(i)}`));
    expect([...seen].sort()).toEqual(['pod-1-r0', 'pod-1-r1', 'pod-2-r0', 'pod-2-r1']);
  });
});

describe('picker with leader election', () => {
  it('reports readiness NOT_SERVING (liveness SERVING) while another replica holds the lease, SERVING once it leads', async () => {
    const lease = leaseNameFor(NS, 'pool');
    server.apply(LEASES, { metadata: { name: lease, namespace: NS }, spec: { holderIdentity: 'other', leaseDurationSeconds: 1, renewTime: new Date().toISOString() } });
    const standby = await startTestPicker({
      discovery: {
        kubernetes: { namespace: NS, pool: { poolName: 'pool', poolGroup: POOL_GROUP_V1 }, kubeConfig: kubeConfigForServer(server.url), leaderElection: true, identity: 'me', leaseDurationMs: 1000, renewDeadlineMs: 600, retryPeriodMs: 100 },
      },
    });
    try {
      const address = `127.0.0.1:${standby.grpcHealthPort}`;
      await waitFor(() => standby.datastore.synced, 'standby synced');
      expect(await healthCheck(address, 'readiness')).toBe('NOT_SERVING');
      expect(await healthCheck(address, 'envoy.service.ext_proc.v3.ExternalProcessor')).toBe('NOT_SERVING');
      expect(await healthCheck(address, 'liveness')).toBe('SERVING');
      expect(await healthCheck(address, 'inference-extension')).toBe('SERVICE_UNKNOWN');
      // "other" never renews: after a lease duration this replica takes over.
      await waitForAsync(async () => (await healthCheck(address, 'readiness')) === 'SERVING', 'readiness after taking the lease');
      expect(await healthCheck(address, '')).toBe('SERVING');
      expect((server.get(LEASES, NS, lease)?.spec as { holderIdentity?: string }).holderIdentity).toBe('me');
    } finally {
      await standby.shutdown(500);
    }
    // Shutdown released the lease.
    expect((server.get(LEASES, NS, lease)?.spec as { holderIdentity?: string }).holderIdentity).toBe('');
  });
});
