/**
 * ServedCrdReflector's timing, on hand-advanced timers with a scripted API discovery: how often it asks
 * again while the preferred group is absent, that it stops asking once it watches that group, that a
 * failed or hung discovery call is retried with backoff rather than read as "not installed". (The
 * group choice itself, through the real client, is in inference-api-groups.test.ts.)
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { kubeConfigForServer } from '../../src/kube/kube-client.js';
import { decodeObjective, OBJECTIVE_KIND, type ObjectiveInfo } from '../../src/kube/objectives.js';
import { INFERENCE_API_GROUP, LEGACY_INFERENCE_API_GROUP } from '../../src/kube/inference-api-groups.js';
import { ServedCrdReflector } from '../../src/kube/served-crd.js';
import { silentLogger } from '../../src/observability/logger.js';
import { FakeKubeApiServer } from '../helpers/fake-kube-apiserver.js';
import { ManualTimers } from '../helpers/manual-timers.js';

let server: FakeKubeApiServer;
let timers: ManualTimers;
let reflector: ServedCrdReflector<ObjectiveInfo> | undefined;
/** Groups that serve InferenceObjective, per the scripted discovery; 'fail' throws, 'hang' never answers. */
let served: Set<string> | 'fail' | 'hang';
let asked: string[];

beforeEach(async () => {
  server = await FakeKubeApiServer.start();
  timers = new ManualTimers();
  served = new Set();
  asked = [];
});

afterEach(async () => {
  await reflector?.stop();
  reflector = undefined;
  await server.close();
});

/** Lets pending promise callbacks run (no time passes on the manual clock). */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
}

function start(recheckMs?: number): ServedCrdReflector<ObjectiveInfo> {
  reflector = new ServedCrdReflector<ObjectiveInfo>({
    name: 'inferenceobjectives',
    kubeConfig: kubeConfigForServer(server.url),
    namespace: 'llm',
    served: OBJECTIVE_KIND,
    decode: decodeObjective,
    onChange: () => undefined,
    logger: silentLogger(),
    timers,
    random: () => 1,
    backoffBaseMs: 200,
    backoffMaxMs: 1000,
    ...(recheckMs === undefined ? {} : { recheckMs }),
    discover: (group) => {
      asked.push(group);
      if (served === 'fail') return Promise.reject(new Error('503 Service Unavailable'));
      if (served === 'hang') return new Promise(() => undefined);
      return Promise.resolve(served.has(group) ? new Set(['InferenceObjective']) : undefined);
    },
  });
  reflector.start();
  return reflector;
}

describe('ServedCrdReflector timing', () => {
  it('asks both groups, again every 60 s while llm-d.ai is absent, and never again once it watches llm-d.ai', async () => {
    const r = start();
    await settle();
    expect(asked).toEqual([INFERENCE_API_GROUP, LEGACY_INFERENCE_API_GROUP]);
    expect(r.synced).toBe(true);
    expect(r.resource).toBeUndefined();
    timers.advance(59_999);
    await settle();
    expect(asked.length).toBe(2);
    served = new Set([LEGACY_INFERENCE_API_GROUP]);
    timers.advance(1);
    await settle();
    expect(asked.length).toBe(4);
    expect(r.resource?.group).toBe(LEGACY_INFERENCE_API_GROUP);
    // Watching the legacy group, it keeps looking for llm-d.ai.
    served = new Set([INFERENCE_API_GROUP, LEGACY_INFERENCE_API_GROUP]);
    timers.advance(60_000);
    await settle();
    expect(asked.length).toBe(6);
    timers.advance(10 * 60_000);
    await settle();
    expect(asked.length).toBe(6);
  });

  it('takes the recheck interval it is given', async () => {
    start(5000);
    await settle();
    timers.advance(5000);
    await settle();
    expect(asked.length).toBe(4);
  });

  it('retries a failing discovery with capped backoff, and is not synced meanwhile', async () => {
    served = 'fail';
    const r = start();
    await settle();
    expect(asked).toEqual([INFERENCE_API_GROUP]);
    expect(r.synced).toBe(false);
    for (const delay of [200, 400, 800, 1000, 1000]) {
      const before = asked.length;
      timers.advance(delay - 1);
      await settle();
      expect(asked.length).toBe(before);
      timers.advance(1);
      await settle();
      expect(asked.length).toBe(before + 1);
    }
    served = new Set([INFERENCE_API_GROUP]);
    timers.advance(1000);
    await settle();
    expect(r.resource?.group).toBe(INFERENCE_API_GROUP);
  });

  it('gives up on a discovery call that does not answer within 30 s and asks again', async () => {
    served = 'hang';
    const r = start();
    await settle();
    expect(asked.length).toBe(1);
    timers.advance(30_000);
    await settle();
    expect(r.synced).toBe(false);
    served = new Set();
    timers.advance(200);
    await settle();
    expect(asked.length).toBe(3);
    expect(r.synced).toBe(true);
  });
});
