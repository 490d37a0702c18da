/**
 * The `haPopulateNonLeaderDatastore` feature gate with leader election against a fake API server:
 * on (the default) a standby keeps its datastore populated; off, a standby's datastore stays empty
 * (yet synced, so liveness holds) until it takes the lease.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PickerServer } from '../../src/app.js';
import { kubeConfigForServer } from '../../src/kube/kube-client.js';
import { leaseNameFor } from '../../src/kube/leader-election.js';
import { POOL_GROUP_V1 } from '../../src/kube/pool-spec.js';
import { FakeKubeApiServer, LEASES, PODS, podObject, POOLS_V1 } from '../helpers/fake-kube-apiserver.js';
import { healthCheck } from '../helpers/health-client.js';
import { startTestPicker } from '../helpers/picker.js';
import { waitFor } from './wait.js';

const NS = 'ha';
let server: FakeKubeApiServer;

beforeAll(async () => {
  server = await FakeKubeApiServer.start();
  server.apply(POOLS_V1, { metadata: { name: 'pool', namespace: NS }, spec: { selector: { matchLabels: { app: 'vllm' } }, targetPorts: [{ number: 8000 }] } });
  server.apply(PODS, podObject('pod-0', NS, { app: 'vllm' }, '127.0.0.61'));
  server.apply(PODS, podObject('pod-1', NS, { app: 'vllm' }, '127.0.0.62'));
});

afterAll(async () => {
  await server.close();
});

async function standby(identity: string, featureGates: string): Promise<PickerServer> {
  // Another replica holds the lease and never renews it: this one takes over after a lease duration.
  server.apply(LEASES, { metadata: { name: leaseNameFor(NS, 'pool'), namespace: NS }, spec: { holderIdentity: 'other', leaseDurationSeconds: 1, renewTime: new Date().toISOString() } });
  return startTestPicker({
    config: { text: `apiVersion: llm-d.ai/v1alpha1\nkind: EndpointPickerConfig\nfeatureGates: ${featureGates}\n` },
    discovery: {
      kubernetes: { namespace: NS, pool: { poolName: 'pool', poolGroup: POOL_GROUP_V1 }, kubeConfig: kubeConfigForServer(server.url), leaderElection: true, identity, leaseDurationMs: 1000, renewDeadlineMs: 600, retryPeriodMs: 100 },
    },
  });
}

describe('haPopulateNonLeaderDatastore', () => {
  it('on by default: a standby discovers the pool before it leads', async () => {
    const picker = await standby('a', '[]');
    try {
      await waitFor(() => picker.datastore.snapshot.endpoints.length === 2, 'the standby populated');
      expect(await healthCheck(`127.0.0.1:${picker.grpcHealthPort}`, 'readiness')).toBe('NOT_SERVING');
    } finally {
      await picker.shutdown(500);
    }
  });

  it('off: a standby keeps an empty (synced) datastore until it takes the lease', async () => {
    const picker = await standby('b', '["haPopulateNonLeaderDatastore=false"]');
    try {
      const address = `127.0.0.1:${picker.grpcHealthPort}`;
      await waitFor(() => picker.datastore.synced, 'the standby synced');
      expect(picker.datastore.snapshot.endpoints).toHaveLength(0);
      expect(await healthCheck(address, 'liveness')).toBe('SERVING');
      expect(await healthCheck(address, 'readiness')).toBe('NOT_SERVING');
      await waitFor(() => picker.datastore.snapshot.endpoints.length === 2, 'endpoints once it leads', 10_000);
      expect(await healthCheck(address, 'readiness')).toBe('SERVING');
    } finally {
      await picker.shutdown(500);
    }
  });
});
