/** Leader election over a coordination.k8s.io/v1 Lease, through the real client against the fake API server. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { kubeConfigForServer } from '../../src/kube/kube-client.js';
import { LeaderElector, leaseNameFor } from '../../src/kube/leader-election.js';
import { silentLogger } from '../../src/observability/logger.js';
import { FakeKubeApiServer, LEASES } from '../helpers/fake-kube-apiserver.js';
import { waitFor } from './wait.js';

const NS = 'llm';
const LEASE = leaseNameFor(NS, 'pool');
let server: FakeKubeApiServer;
const electors: LeaderElector[] = [];

beforeEach(async () => {
  server = await FakeKubeApiServer.start();
});

afterEach(async () => {
  await Promise.all(electors.splice(0).map((e) => e.stop()));
  await server.close();
});

function elector(identity: string): LeaderElector {
  const e = new LeaderElector({
    kubeConfig: kubeConfigForServer(server.url),
    namespace: NS,
    leaseName: LEASE,
    identity,
    leaseDurationMs: 1500,
    renewDeadlineMs: 800,
    retryPeriodMs: 100,
    logger: silentLogger(),
  });
  electors.push(e);
  e.start();
  return e;
}

function holder(): unknown {
  return (server.get(LEASES, NS, LEASE)?.spec as { holderIdentity?: unknown } | undefined)?.holderIdentity;
}

describe('leader election', () => {
  it('uses the reference lease name', () => {
    expect(LEASE).toBe('epp-llm-pool.llm-d.ai');
  });

  it('one replica acquires the lease and renews it; the other waits, and takes over when it is released', async () => {
    const a = elector('a');
    await waitFor(() => a.leader, 'a to lead');
    expect(holder()).toBe('a');
    const b = elector('b');
    // Several renewals by a while b competes: b never leads.
    const rv = Number(server.get(LEASES, NS, LEASE)?.metadata.resourceVersion);
    await waitFor(() => Number(server.get(LEASES, NS, LEASE)?.metadata.resourceVersion) >= rv + 3, 'three renewals');
    expect(b.leader).toBe(false);
    expect(a.leader).toBe(true);
    const spec = server.get(LEASES, NS, LEASE)?.spec as { renewTime?: string; leaseDurationSeconds?: number };
    expect(spec.renewTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/); // MicroTime
    expect(spec.leaseDurationSeconds).toBe(2);
    await a.stop();
    expect(a.leader).toBe(false);
    await waitFor(() => b.leader, 'b to take over after release');
    expect(holder()).toBe('b');
    expect((server.get(LEASES, NS, LEASE)?.spec as { leaseTransitions?: number }).leaseTransitions).toBe(1);
  });

  it('takes over an expired lease held by a dead replica', async () => {
    server.apply(LEASES, { metadata: { name: LEASE, namespace: NS }, spec: { holderIdentity: 'dead', leaseDurationSeconds: 1, renewTime: '2020-01-01T00:00:00.000000Z' } });
    const b = elector('b');
    // Expiry is judged on b's own clock from when it first saw the record: at least one lease duration.
    await waitFor(() => b.leader, 'b to take over an expired lease', 5000);
    expect(holder()).toBe('b');
  });

  it('loses leadership when renewals fail for the renew deadline, or when another replica holds the lease', async () => {
    const a = elector('a');
    await waitFor(() => a.leader, 'a to lead');
    server.setDown('unavailable');
    await waitFor(() => !a.leader, 'a to step down while the API server is down', 3000);
    server.setDown(false);
    await waitFor(() => a.leader, 'a to lead again');
    // Someone else writes the lease (e.g. after a partition): a sees a live foreign holder and steps down.
    server.apply(LEASES, { ...server.get(LEASES, NS, LEASE)!, spec: { holderIdentity: 'intruder', leaseDurationSeconds: 60, renewTime: new Date().toISOString() } });
    await waitFor(() => !a.leader, 'a to step down for a foreign holder');
  });
});
