/**
 * deploy/helm/inferencepool rendered by a real `helm template` and validated against the Kubernetes
 * and CRD schemas; its EndpointPickerConfig loads with our own loader and its picker arguments parse
 * with `epp serve`'s flags.
 */
import { describe, expect, it, vi } from 'vitest';
import { serveCommand } from '../../src/cli/commands/serve.js';
import { parseFlags } from '../../src/cli/flags.js';
import { expectValid, validateManifest } from './kube-schema.js';
import { HELM, HELM_MISSING_REASON, byKind, lint, one, render, renderError, type Manifest } from './helm.js';
import { buildPickerConfig } from './picker-config.js';

// Only the commands' flag tables are needed: keep the server stacks they start out of this test file.
vi.mock('../../src/app.js', () => ({}));

/** `epp serve` flags the chart passes that the Kubernetes discovery change adds. */
const PENDING_SERVE_FLAGS = new Set(['ha-enable-leader-election']);

const SELECT = 'inferencePool.modelServers.matchLabels.app=vllm-qwen';

type Json = Record<string, unknown>;
interface Container {
  name: string;
  args: string[];
  ports: { name: string; containerPort: number }[];
  livenessProbe: { grpc: { port: number; service: string } };
  readinessProbe: { grpc: { port: number; service: string } };
  volumeMounts: { name: string; mountPath: string }[];
}
const podSpec = (d: Manifest): Json => ((d.spec as Json).template as Json).spec as Json;
const container = (d: Manifest): Container => (podSpec(d).containers as Container[])[0] as Container;

/** Parses the picker's arguments as `epp serve` would; flags still to come are only checked by name. */
function serveFlags(args: readonly string[]): Record<string, unknown> {
  const known = new Set(serveCommand.flags.map((f) => f.name));
  const pending = args.filter((a) => PENDING_SERVE_FLAGS.has(a.replace(/^--?/, '').split('=')[0] ?? '') && !known.has(a.replace(/^--?/, '').split('=')[0] ?? ''));
  return parseFlags(serveCommand.flags, args.filter((a) => !pending.includes(a))).values;
}

describe('helm chart deploy/helm/inferencepool', () => {
  it('has helm, and the chart passes helm lint --strict', () => {
    expect(HELM, HELM_MISSING_REASON).toBeDefined();
    expect(lint([SELECT, 'inferenceExtension.replicas=3', 'provider.name=istio', 'experimentalHttpRoute.enabled=true'])).toContain('0 chart(s) failed');
  });

  describe('with default values', () => {
    const docs = HELM === undefined ? [] : render('qwen', { set: [SELECT] });

    it('renders the pool, the picker and its RBAC, all valid against the Kubernetes and CRD schemas', () => {
      expect(docs.map((d) => `${d.kind}/${d.metadata.name}`).sort()).toEqual(
        ['ConfigMap/qwen-epp', 'Deployment/qwen-epp', 'InferencePool/qwen', 'Role/qwen-epp', 'RoleBinding/qwen-epp', 'Service/qwen-epp', 'ServiceAccount/qwen-epp'].sort(),
      );
      for (const d of docs) expect(d.metadata.namespace, `${d.kind} namespace`).toBe('llm');
      expectValid(docs);
    });

    it('points the InferencePool at the picker Service', () => {
      expect(one(docs, 'InferencePool').spec).toEqual({
        selector: { matchLabels: { app: 'vllm-qwen' } },
        targetPorts: [{ number: 8000 }],
        appProtocol: 'http',
        endpointPickerRef: { kind: 'Service', name: 'qwen-epp', port: { number: 9002 }, failureMode: 'FailOpen' },
      });
      const svc = one(docs, 'Service').spec as Json;
      expect(svc.ports).toEqual([
        { name: 'grpc-ext-proc', protocol: 'TCP', port: 9002, targetPort: 'grpc', appProtocol: 'http2' },
        { name: 'http-metrics', protocol: 'TCP', port: 9090, targetPort: 'metrics' },
      ]);
      expect(svc.selector).toEqual((one(docs, 'Deployment').spec as Json & { selector: { matchLabels: unknown } }).selector.matchLabels);
    });

    it('grants exactly the reference verbs, in the namespace only: objectives and rewrites in llm-d.ai and the legacy group', () => {
      expect(one(docs, 'Role').rules).toEqual([
        { apiGroups: [''], resources: ['pods'], verbs: ['get', 'watch', 'list'] },
        { apiGroups: ['inference.networking.k8s.io'], resources: ['inferencepools'], verbs: ['get', 'watch', 'list'] },
        { apiGroups: ['llm-d.ai'], resources: ['inferenceobjectives', 'inferencemodelrewrites'], verbs: ['get', 'watch', 'list'] },
        { apiGroups: ['inference.networking.x-k8s.io'], resources: ['inferenceobjectives', 'inferencemodelrewrites'], verbs: ['get', 'watch', 'list'] },
      ]);
      const binding = one(docs, 'RoleBinding');
      expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'qwen-epp', namespace: 'llm' }]);
      expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'qwen-epp' });
      expect(podSpec(one(docs, 'Deployment')).serviceAccountName).toBe('qwen-epp');
      expect(docs.some((d) => d.kind.startsWith('Cluster'))).toBe(false);
    });

    it('runs `epp serve` with the reference flags, gRPC probes on 9003 and a non-root read-only container', () => {
      const dep = one(docs, 'Deployment');
      const c = container(dep);
      expect(serveFlags(c.args)).toMatchObject({
        'pool-name': 'qwen',
        'pool-namespace': 'llm',
        'pool-group': 'inference.networking.k8s.io',
        'config-file': '/config/default-plugins.yaml',
        'grpc-port': 9002,
        'grpc-health-port': 9003,
        'metrics-port': 9090,
        'secure-serving': true,
        'cert-path': '',
        'drain-timeout': 30_000,
      });
      expect(c.args).not.toContain('--ha-enable-leader-election');
      expect(c.ports.map((p) => [p.name, p.containerPort])).toEqual([['grpc', 9002], ['grpc-health', 9003], ['metrics', 9090]]);
      expect(c.livenessProbe.grpc).toEqual({ port: 9003, service: 'inference-extension' });
      expect(c.readinessProbe.grpc).toEqual({ port: 9003, service: 'inference-extension' });
      expect(c.volumeMounts).toContainEqual({ name: 'plugins-config', mountPath: '/config', readOnly: true });
      expect(podSpec(dep).securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65532 });
      expect((c as unknown as Json).securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
      expect((dep.spec as Json).strategy).toEqual({ type: 'Recreate' });
      expect(podSpec(dep).terminationGracePeriodSeconds).toBe(130);
    });

    it('ships a default EndpointPickerConfig that our loader accepts (prefix 3 / kv 2 / queue 2)', () => {
      const text = (one(docs, 'ConfigMap').data as Record<string, string>)['default-plugins.yaml'] ?? '';
      expect(text).toMatch(/pluginRef: prefix-cache-scorer\n\s+weight: 3/);
      expect(text).toMatch(/pluginRef: kv-cache-utilization-scorer\n\s+weight: 2/);
      expect(text).toMatch(/pluginRef: queue-scorer\n\s+weight: 2/);
      const built = buildPickerConfig(text);
      expect(built.plugins).toEqual(expect.arrayContaining(['prefix-cache-scorer', 'kv-cache-utilization-scorer', 'queue-scorer', 'max-score-picker', 'core-metrics-extractor']));
      expect(built.picked).toBeDefined();
    });
  });

  it('with replicas > 1 turns on leader election: flag, Lease RBAC and liveness/readiness probes', () => {
    const docs = render('qwen', { set: [SELECT, 'inferenceExtension.replicas=3'] });
    expectValid(docs);
    const c = container(one(docs, 'Deployment'));
    expect(c.args).toContain('--ha-enable-leader-election');
    serveFlags(c.args);
    expect(c.livenessProbe.grpc).toEqual({ port: 9003, service: 'liveness' });
    expect(c.readinessProbe.grpc).toEqual({ port: 9003, service: 'readiness' });
    expect(one(docs, 'Role', 'qwen-epp-leader-election').rules).toEqual([
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'] },
      { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
    ]);
    expect(one(docs, 'RoleBinding', 'qwen-epp-leader-election').roleRef).toMatchObject({ kind: 'Role', name: 'qwen-epp-leader-election' });
  });

  it('mounts a TLS Secret and passes --cert-path; --secure-serving=false drops TLS', () => {
    const withCert = container(one(render('qwen', { set: [SELECT, 'inferenceExtension.tls.certSecretName=epp-tls'] }), 'Deployment'));
    expect(serveFlags(withCert.args)).toMatchObject({ 'secure-serving': true, 'cert-path': '/etc/epp/tls' });
    expect(withCert.volumeMounts).toContainEqual({ name: 'tls', mountPath: '/etc/epp/tls', readOnly: true });
    const docs = render('qwen', { set: [SELECT, 'inferenceExtension.tls.secureServing=false', 'inferenceExtension.tls.certSecretName=epp-tls', 'provider.name=istio'] });
    expectValid(docs);
    const plain = container(one(docs, 'Deployment'));
    expect(serveFlags(plain.args)).toMatchObject({ 'secure-serving': false, 'cert-path': '' });
    expect(plain.volumeMounts.map((m) => m.name)).not.toContain('tls');
    expect(one(docs, 'DestinationRule').spec).toEqual({ host: 'qwen-epp.llm.svc.cluster.local' });
  });

  it('renders every optional part valid: Istio DestinationRule, HTTPRoute, objectives, custom config, gRPC model servers', () => {
    const docs = render('qwen', {
      set: [
        SELECT,
        'provider.name=istio',
        'experimentalHttpRoute.enabled=true',
        'experimentalHttpRoute.headerMatches.X-Gateway-Model-Name=Qwen/Qwen2.5-3B-Instruct',
        'inferenceObjectives[0].name=chat',
        'inferenceObjectives[0].priority=2',
        'inferenceObjectives[1].name=batch',
        'inferenceObjectives[1].priority=-1',
        'inferencePool.modelServerProtocol=grpc',
        'inferencePool.modelServerType=sglang',
        'inferenceExtension.flags.v=3',
        'inferenceExtension.flags.max-request-body-bytes=1048576',
      ],
    });
    expectValid(docs);
    expect(byKind(docs, 'InferenceObjective').map((d) => [d.apiVersion, d.metadata.name, (d.spec as Json).priority])).toEqual([
      ['llm-d.ai/v1alpha2', 'chat', 2],
      ['llm-d.ai/v1alpha2', 'batch', -1],
    ]);
    expect((one(docs, 'InferencePool').spec as Json).appProtocol).toBe('kubernetes.io/h2c');
    expect(one(docs, 'DestinationRule').spec).toMatchObject({ trafficPolicy: { tls: { mode: 'SIMPLE', insecureSkipVerify: true } } });
    const route = one(docs, 'HTTPRoute').spec as { rules: Json[] };
    expect(route.rules[0]).toMatchObject({ backendRefs: [{ group: 'inference.networking.k8s.io', kind: 'InferencePool', name: 'qwen' }] });
    expect(serveFlags(container(one(docs, 'Deployment')).args)).toMatchObject({ v: 3, 'max-request-body-bytes': 1048576 });
    const config = (one(docs, 'ConfigMap').data as Record<string, string>)['default-plugins.yaml'] ?? '';
    expect(config).toContain('defaultEngine: "sglang"');
    expect(buildPickerConfig(config).picked).toBeDefined();
  });

  it('creates InferenceObjectives in llm-d.ai/v1alpha2, in the legacy group only on a cluster serving just that one, or where told', () => {
    const objectives = ['inferenceObjectives[0].name=batch', 'inferenceObjectives[0].priority=-1'];
    const NEW = 'llm-d.ai/v1alpha2/InferenceObjective';
    const LEGACY = 'inference.networking.x-k8s.io/v1alpha2/InferenceObjective';
    const groupOf = (options: { set?: string[]; apiVersions?: string[] }): string[] => {
      const docs = render('qwen', { set: [SELECT, ...objectives, ...(options.set ?? [])], apiVersions: options.apiVersions ?? [] });
      expectValid(docs);
      return byKind(docs, 'InferenceObjective').map((d) => d.apiVersion);
    };
    expect(groupOf({})).toEqual(['llm-d.ai/v1alpha2']);
    expect(groupOf({ apiVersions: [NEW] })).toEqual(['llm-d.ai/v1alpha2']);
    expect(groupOf({ apiVersions: [LEGACY] })).toEqual(['inference.networking.x-k8s.io/v1alpha2']);
    expect(groupOf({ apiVersions: [NEW, LEGACY] })).toEqual(['llm-d.ai/v1alpha2']);
    expect(groupOf({ set: ['inferenceObjectivesApiGroup=inference.networking.x-k8s.io'] })).toEqual(['inference.networking.x-k8s.io/v1alpha2']);
    expect(groupOf({ set: ['inferenceObjectivesApiGroup=llm-d.ai'], apiVersions: [LEGACY] })).toEqual(['llm-d.ai/v1alpha2']);
    expect(renderError('qwen', [SELECT, ...objectives, 'inferenceObjectivesApiGroup=example.com'])).toContain('inferenceObjectivesApiGroup must be llm-d.ai or inference.networking.x-k8s.io');
  });

  it('refuses values without a pod selector, bad ports or a config file that does not exist', () => {
    expect(renderError('qwen', [])).toContain('inferencePool.modelServers.matchLabels is required');
    expect(renderError('qwen', [SELECT, 'inferenceExtension.pluginsConfigFile=nope.yaml'])).toContain('nope.yaml');
    expect(renderError('qwen', [SELECT, 'inferenceExtension.failureMode=Sometimes'])).toContain('failureMode');
  });

  it('the schema check catches a wrong type or an unknown field in what the chart renders', () => {
    const docs = render('qwen', { set: [SELECT] });
    const dep = structuredClone(one(docs, 'Deployment'));
    (dep.spec as Json).replicas = 'one';
    (container(dep) as unknown as Json).livenessProbes = {};
    expect(validateManifest(dep)).toEqual([
      expect.stringMatching(/\$\.spec\.replicas: must be integer/),
      expect.stringMatching(/containers\[0\]\.livenessProbes: unknown field of V1Container/),
    ]);
    const pool = structuredClone(one(docs, 'InferencePool'));
    ((pool.spec as Json).targetPorts as Json[])[0] = { number: '8000' };
    (pool.spec as Json).endpointPickerRefs = {};
    expect(validateManifest(pool)).toEqual(
      expect.arrayContaining([expect.stringMatching(/targetPorts\.0\.number: must be integer/), expect.stringMatching(/additional properties \(endpointPickerRefs\)/)]),
    );
  });
});
