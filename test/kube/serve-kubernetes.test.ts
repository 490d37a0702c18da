/**
 * `epp serve` with Kubernetes discovery as an operator runs it: a child process reading KUBECONFIG
 * and NAMESPACE, against the fake API server; and how the discovery flags are validated.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { discoverySource, serveCommand } from '../../src/cli/commands/serve.js';
import { Flags, parseFlags, UsageError } from '../../src/cli/flags.js';
import { parseLabelSelector } from '../../src/kube/label-selector.js';
import { FakeKubeApiServer, PODS, podObject, POOLS_V1 } from '../helpers/fake-kube-apiserver.js';
import { healthCheck } from '../helpers/health-client.js';
import { waitForAsync } from './wait.js';

const bin = new URL('../../bin/epp.js', import.meta.url).pathname;
let child: ChildProcess | undefined;
let server: FakeKubeApiServer | undefined;

afterEach(async () => {
  child?.kill('SIGKILL');
  child = undefined;
  await server?.close();
  server = undefined;
});

function kubeconfigFile(url: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'epp-kube-'));
  const path = join(dir, 'config');
  writeFileSync(
    path,
    ['apiVersion: v1', 'kind: Config', 'clusters:', `- name: fake`, `  cluster: {server: "${url}", insecure-skip-tls-verify: true}`, 'users:', '- name: u', '  user: {token: t}', 'contexts:', '- name: c', '  context: {cluster: fake, user: u}', 'current-context: c', ''].join('\n'),
  );
  return path;
}

describe('epp serve with Kubernetes discovery', () => {
  it('watches the pool named by --pool-name in $NAMESPACE through KUBECONFIG and becomes SERVING', async () => {
    server = await FakeKubeApiServer.start();
    server.apply(POOLS_V1, { metadata: { name: 'pool', namespace: 'team' }, spec: { selector: { matchLabels: { app: 'vllm' } }, targetPorts: [{ number: 8000 }] } });
    server.apply(PODS, podObject('vllm-0', 'team', { app: 'vllm' }, '127.0.0.61'));
    const env: NodeJS.ProcessEnv = { ...process.env, KUBECONFIG: kubeconfigFile(server.url), NAMESPACE: 'team' };
    delete env.KUBERNETES_SERVICE_HOST;
    const proc = spawn(process.execPath, [bin, 'serve', '--pool-name', 'pool', '--secure-serving=false', '--bind-address', '127.0.0.1', '--grpc-port=0', '--grpc-health-port=0', '--metrics-port=0'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    const healthPort = await new Promise<number>((resolve, reject) => {
      const logs: string[] = [];
      const timer = setTimeout(() => reject(new Error(`epp serve did not start: ${logs.join('\n')}`)), 15_000);
      let buffered = '';
      proc.stdout?.on('data', (chunk: Buffer) => {
        buffered += chunk.toString();
        for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          logs.push(line);
          const entry = JSON.parse(line) as { msg?: string; grpcHealthPort?: number };
          if (entry.msg === 'endpoint picker serving') {
            clearTimeout(timer);
            resolve(entry.grpcHealthPort ?? 0);
          }
        }
      });
      proc.stderr?.on('data', (c: Buffer) => logs.push(c.toString()));
      proc.on('exit', (code) => reject(new Error(`epp serve exited ${code}: ${logs.join('\n')}`)));
    });
    await waitForAsync(async () => (await healthCheck(`127.0.0.1:${healthPort}`, '')) === 'SERVING', 'SERVING after the pool synced', 10_000);
    expect(server.requests.some((r) => r.path === '/api/v1/namespaces/team/pods' && r.query.get('labelSelector') === 'app=vllm')).toBe(true);
  });

  it('rejects contradictory or malformed discovery flags', () => {
    const cases: [string[], string][] = [
      [['--pool-name', 'p', '--endpoint-selector', 'a=b', '--endpoint-target-ports', '8000'], 'mutually exclusive'],
      [['--endpoint-selector', 'a=b'], '--endpoint-target-ports needs 1 to 8 ports'],
      [['--endpoint-selector', 'a in b', '--endpoint-target-ports', '8000'], `invalid endpoint-selector "a in b": unable to parse requirement: found 'b' expected: '('`],
      [['--endpoint-selector', 'app=-x', '--endpoint-target-ports', '8000'], 'invalid endpoint-selector "app=-x": unable to parse requirement: values[0][app]: Invalid value: "-x"'],
      [['--endpoint-selector', ' ', '--endpoint-target-ports', '8000'], '--endpoint-selector is blank'],
      [['--endpoint-target-ports', '8000'], 'a discovery source is required'],
      [['--pool-name', 'p', '--pool-group', 'example.com'], 'unsupported --pool-group'],
      [['--endpoint-selector', 'a=b', '--endpoint-target-ports', '8000,8000'], 'unique'],
      [['--endpoint-selector', 'a=b', '--endpoint-target-ports', '1,2,3,4,5,6,7,8,9'], '1 to 8'],
    ];
    for (const [args, message] of cases) {
      expect(() => discoverySource(flagsOf(args)), args.join(' ')).toThrow(message);
      expect(() => discoverySource(flagsOf(args)), args.join(' ')).toThrow(UsageError);
    }
  });

  it('turns the flags into a discovery config: pool, namespace from $NAMESPACE, standalone selector and ports, leader election', () => {
    const saved = process.env.NAMESPACE;
    process.env.NAMESPACE = 'from-env';
    try {
      expect(discoverySource(flagsOf(['--pool-name', 'p', '--ha-enable-leader-election']))).toEqual({
        kubernetes: { namespace: 'from-env', pool: { poolName: 'p', poolGroup: 'inference.networking.k8s.io' }, leaderElection: true },
      });
      const standalone = discoverySource(flagsOf(['--pool-namespace', 'ns', '--endpoint-selector', 'app=vllm,tier=gpu', '--endpoint-target-ports', '8000,8001']));
      expect(standalone).toMatchObject({ kubernetes: { namespace: 'ns', pool: { selector: parseLabelSelector('app=vllm,tier=gpu'), targetPorts: [8000, 8001] }, leaderElection: false } });
      // The full grammar: set-based, inequality and existence requirements.
      const setBased = discoverySource(flagsOf(['--pool-namespace', 'ns', '--endpoint-selector', 'app in (vllm, sglang),tier!=cpu,!canary,gpu', '--endpoint-target-ports', '8000']));
      expect(setBased).toMatchObject({
        kubernetes: {
          pool: {
            selector: [
              { key: 'app', operator: 'in', values: ['sglang', 'vllm'] },
              { key: 'canary', operator: '!', values: [] },
              { key: 'gpu', operator: 'exists', values: [] },
              { key: 'tier', operator: '!=', values: ['cpu'] },
            ],
          },
        },
      });
    } finally {
      if (saved === undefined) delete process.env.NAMESPACE;
      else process.env.NAMESPACE = saved;
    }
  });
});

function flagsOf(args: string[]): Flags {
  return new Flags(parseFlags(serveCommand.flags, args).values);
}
