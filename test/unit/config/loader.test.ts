import { describe, expect, it } from 'vitest';
import { registerBuiltins } from '../../../src/builtins.js';
import { buildScheduler, type BuiltConfig } from '../../../src/config/build-scheduler.js';
import { loadAndBuildScheduler } from '../../../src/config/load-and-build.js';
import { loadConfig } from '../../../src/config/load-config.js';
import { FileDiscovery } from '../../../src/discovery/file-discovery.js';
import { CoreMetricsExtractor, MetricsDataSource } from '../../../src/scrape/data-layer-plugins.js';
import { endpoint, schedulingRequest } from '../../helpers/endpoints.js';
import { configProblems } from '../../helpers/config-problems.js';

const HEADER = 'apiVersion: llm-d.ai/v1alpha1\nkind: EndpointPickerConfig\n';

function build(body: string, allowExperimentalPlugins?: boolean): BuiltConfig {
  return buildScheduler(loadConfig({ text: HEADER + body }), registerBuiltins(), { random: () => 0.5 }, undefined, 'EndpointPickerConfig', allowExperimentalPlugins === undefined ? {} : { allowExperimentalPlugins });
}

const problems = configProblems;

describe('strict decoding, every problem at once', () => {
  it('names unknown fields at every level with a did-you-mean, together with wrong types', () => {
    const p = problems(() =>
      loadConfig({
        text: `${HEADER}plugin: []
featureGates: flowControl
schedulingProfiles:
- name: default
  plugins: [{pluginRef: a, wieght: 2}]
dataLayer: {sources: [{pluginRef: s, extractor: []}], discovery: {pluginref: d}}
requestHandler: {parser: []}
flowControl: {maxRequests: lots, saturationDetector: {pluginRef: x}, defaultRequestTtl: 1s}
`,
      }),
    );
    expect(p).toEqual(
      expect.arrayContaining([
        'plugin: unknown field "plugin" (did you mean "plugins"?)',
        expect.stringMatching(/^featureGates: /),
        'schedulingProfiles[0].plugins[0].wieght: unknown field "wieght" (did you mean "weight"?)',
        'dataLayer.sources[0].extractor: unknown field "extractor" (did you mean "extractors"?)',
        'dataLayer.discovery.pluginref: unknown field "pluginref" (did you mean "pluginRef"?)',
        'requestHandler.parser: unknown field "parser" (did you mean "parsers"?)',
        expect.stringMatching(/^flowControl\.maxRequests: invalid quantity "lots"/),
        'flowControl.defaultRequestTtl: unknown field "defaultRequestTtl" (did you mean "defaultRequestTTL"?)',
      ]),
    );
    expect(p).toHaveLength(8);
  });

  it('reports near-miss plugin types, pluginRefs and parameter names with a did-you-mean, all in one pass', () => {
    const p = problems(() =>
      build(`plugins:
- type: queue-scorrer
- type: approx-prefix-cache-producer
  parameters: {blockSizeToken: 16}
- type: prefix-cache-scorer
- type: max-score-picker
schedulingProfiles:
- name: default
  plugins: [{pluginRef: prefix-cache-scorr}, {pluginRef: max-score-picker}]
`),
    );
    expect(p).toEqual([
      expect.stringMatching(/^plugins\[0\]\.type: unknown plugin type "queue-scorrer" \(did you mean "queue-scorer"\?\)/),
      'plugins[1].parameters.blockSizeToken: unknown field "blockSizeToken" (did you mean "blockSizeTokens"?)',
      'schedulingProfiles[0].plugins[0].pluginRef: no plugin named "prefix-cache-scorr" (did you mean "prefix-cache-scorer"?)',
    ]);
    const refs = problems(() => build('plugins: [{type: queue-scorer}]\nschedulingProfiles: [{name: d, plugins: [{pluginRef: queue-scorr}]}]\n'));
    expect(refs).toEqual(['schedulingProfiles[0].plugins[0].pluginRef: no plugin named "queue-scorr" (did you mean "queue-scorer"?)']);
  });

  it('fails a reference plugin type this build lacks with "not implemented yet" naming the issue, never a schema error', () => {
    const p = problems(() =>
      build(`plugins:
- {type: token-producer, parameters: {modelName: m}}
- {type: precise-prefix-cache-scorer, parameters: {anything: 1}}
- {type: concurrency-detector}
schedulingProfiles: [{name: d, plugins: [{pluginRef: precise-prefix-cache-scorer}]}]
flowControl: {saturationDetector: {pluginRef: concurrency-detector}}
`),
    );
    expect(p).toEqual([
      'plugins[0].type: plugin type "token-producer" is not implemented yet (issue 15: precise prefix-cache routing from KV events, and tokenization)',
      'plugins[1].type: plugin type "precise-prefix-cache-scorer" is not implemented yet (issue 15: precise prefix-cache routing from KV events, and tokenization)',
      'plugins[2].type: plugin type "concurrency-detector" is not implemented yet (issue 16: flow control: queueing, fairness, ordering, usage limits, eviction)',
    ]);
  });

  it('warns (does not fail) where the reference silently accepts: parameters of a plugin that ignores them, names differing in case, non-scheduling plugins in a profile', () => {
    const built = build(`plugins:
- {type: queue-scorer, parameters: {threshold: 3}}
- {type: approx-prefix-cache-producer, parameters: {blocksizetokens: 32}}
- {type: prefix-cache-scorer}
- {type: openai-parser}
- {name: old-prefix, type: approx-prefix-cache-producer, parameters: {blockSize: 128}}
schedulingProfiles: [{name: d, plugins: [{pluginRef: queue-scorer}, {pluginRef: prefix-cache-scorer}, {pluginRef: openai-parser}]}]
`);
    expect(built.warnings).toEqual(
      expect.arrayContaining([
        'plugins[0].parameters of plugin "queue-scorer" (type queue-scorer): ignored ("threshold"): this plugin takes no parameters',
        expect.stringMatching(/^plugins\[1\]\.parameters of plugin "approx-prefix-cache-producer" \(type approx-prefix-cache-producer\): parameter "blocksizetokens" read as "blockSizeTokens"/),
        'plugins[4].parameters of plugin "old-prefix" (type approx-prefix-cache-producer): parameter "blockSize" is deprecated; use "blockSizeTokens" (read as 128 tokens)',
        expect.stringMatching(/^schedulingProfiles\[0\]\.plugins\[2\]\.pluginRef: plugin "openai-parser" \(type openai-parser\) is not a filter, scorer or picker; ignored/),
      ]),
    );
  });
});

describe('one pass over the whole document', () => {
  it('reports plugin types and parameters together with schema errors elsewhere', () => {
    const text = `${HEADER}plugins:
- {type: prefix-cache-scorr}
- {type: approx-prefix-cache-producer, parameters: {blockSizee: 16}}
- {type: tokenizer}
schedulingProfiles:
- {name: default, plugins: [{pluginRef: prefix-cache-scorer, wieght: 2}]}
`;
    const p = problems(() => loadAndBuildScheduler({ text }, registerBuiltins(), { random: () => 0.5 }, undefined));
    expect(p).toEqual([
      'schedulingProfiles[0].plugins[0].wieght: unknown field "wieght" (did you mean "weight"?)',
      expect.stringMatching(/^plugins\[0\]\.type: unknown plugin type "prefix-cache-scorr" \(did you mean "prefix-cache-scorer"\?\)/),
      expect.stringMatching(/^plugins\[2\]\.type: plugin type "tokenizer" is not implemented yet \(issue 15/),
      'plugins[1].parameters.blockSizee: unknown field "blockSizee" (did you mean "blockSize"?)',
    ]);
    // A valid document is built as buildScheduler builds it.
    expect(loadAndBuildScheduler({ text: `${HEADER}plugins: [{type: queue-scorer}]\n` }, registerBuiltins(), { random: () => 0.5 }, undefined).plugins.has('queue-scorer')).toBe(true);
  });
});

describe('producer references', () => {
  it('fails a consumer naming a producer instance that does not exist or has another type, with a did-you-mean; a prefix-cache-scorer parameter it does not take is an error', () => {
    const p = problems(() =>
      build(`plugins:
- {name: long-blocks, type: approx-prefix-cache-producer, parameters: {blockSizeTokens: 128}}
- {type: prefix-cache-scorer, parameters: {prefixMatchInfoProducerName: long-block}}
- {name: lru, type: no-hit-lru-scorer, parameters: {prefixMatchInfoProducerName: queue-scorer}}
- {type: queue-scorer}
- {type: active-request-scorer, parameters: {inFlightLoadProducerName: load}}
- {name: other, type: prefix-cache-scorer, parameters: {blockSizee: 16}}
`),
    );
    expect(p).toEqual([
      'plugins[5].parameters.blockSizee: unknown field "blockSizee"',
      'plugins[1].parameters.prefixMatchInfoProducerName: no plugin named "long-block" (did you mean "long-blocks"?)',
      'plugins[2].parameters.prefixMatchInfoProducerName: plugin "queue-scorer" has type queue-scorer, not approx-prefix-cache-producer',
      'plugins[4].parameters.inFlightLoadProducerName: no plugin named "load"',
    ]);
    const ok = build(`plugins:
- {name: long-blocks, type: approx-prefix-cache-producer, parameters: {blockSizeTokens: 128}}
- {type: prefix-cache-scorer, parameters: {prefixMatchInfoProducerName: long-blocks}}
`);
    expect(ok.plugins.has('long-blocks')).toBe(true);
  });
});

describe('YAML', () => {
  it('reads YAML 1.1 as the reference does (yes/on are booleans) and refuses duplicate keys', () => {
    expect(build('plugins: [{type: file-discovery, parameters: {path: /x, watchFile: yes}}]\ndataLayer: {discovery: {pluginRef: file-discovery}}\n').discovery?.watchFile).toBe(true);
    expect(problems(() => loadConfig({ text: `${HEADER}plugins: []\nplugins: []\n` }))).toEqual([expect.stringMatching(/^not valid YAML: .*unique/)]);
  });
});

describe('legacy forms', () => {
  it('moves top-level parser and saturationDetector to their new places with a deprecation warning', () => {
    const built = build(`plugins: [{type: passthrough-parser}, {name: sd, type: utilization-detector, parameters: {queueDepthThreshold: 7}}]
parser: {pluginRef: passthrough-parser}
saturationDetector: {pluginRef: sd}
`);
    expect(built.parsers.map((p) => p.typedName.name)).toEqual(['passthrough-parser']);
    expect(built.saturationDetector?.typedName.name).toBe('sd');
    expect(built.warnings).toEqual(
      expect.arrayContaining([expect.stringMatching(/^parser: the top-level field is deprecated; use requestHandler\.parsers/), expect.stringMatching(/^saturationDetector: the top-level field is deprecated; use flowControl\.saturationDetector/)]),
    );
  });

  it('prefers the new fields when both are set, and reports a bad legacy reference at its own path', () => {
    const built = build(`plugins: [{type: passthrough-parser}, {type: openai-parser}]
parser: {pluginRef: passthrough-parser}
requestHandler: {parsers: [{pluginRef: openai-parser}]}
`);
    expect(built.parsers.map((p) => p.typedName.type)).toEqual(['openai-parser']);
    expect(problems(() => build('saturationDetector: {pluginRef: nope}\n'))).toEqual(['saturationDetector.pluginRef: saturation detector references undefined plugin: no plugin named "nope"']);
  });

  it('warns about the deprecated apiVersion and deprecated plugin types', () => {
    const built = buildScheduler(
      loadConfig({ text: 'apiVersion: inference.networking.x-k8s.io/v1alpha1\nkind: EndpointPickerConfig\nplugins: [{type: by-label, parameters: {label: a, validValues: [b]}}]\n' }),
      registerBuiltins(),
      { random: () => 0.5 },
      undefined,
    );
    expect(built.warnings).toEqual(expect.arrayContaining([expect.stringMatching(/^apiVersion: .* is deprecated/), 'plugins[0].type: plugin type "by-label" is deprecated; use "label-selector-filter"']));
  });
});

describe('parsers', () => {
  it('defaults to the reference list in its order: openai, anthropic, vllmhttp, passthrough', () => {
    const built = build('plugins: [{type: queue-scorer}]\n');
    expect(built.parsers.map((p) => p.typedName.type)).toEqual(['openai-parser', 'anthropic-parser', 'vllmhttp-parser', 'passthrough-parser']);
    expect(built.warnings).toEqual([]);
  });

  it('instantiates a listed parser type that no plugin declares, and refuses one this build lacks', () => {
    expect(build('requestHandler: {parsers: [{pluginRef: passthrough-parser}]}\n').parsers.map((p) => p.typedName.name)).toEqual(['passthrough-parser']);
    expect(build('requestHandler: {parsers: [{pluginRef: openai-parser}, {pluginRef: anthropic-parser}, {pluginRef: vllmhttp-parser}]}\n').parsers.map((p) => p.typedName.type)).toEqual([
      'openai-parser',
      'anthropic-parser',
      'vllmhttp-parser',
    ]);
    expect(problems(() => build('requestHandler: {parsers: [{pluginRef: openai-parser}, {pluginRef: vllmgrpc-parser}]}\n'))).toEqual([
      'requestHandler.parsers[1].pluginRef: plugin type "vllmgrpc-parser" is not implemented yet (issue 14: request parsers beyond openai, anthropic, vllmhttp, sglanghttp and passthrough)',
    ]);
    expect(problems(() => build('plugins: [{type: queue-scorer}]\nrequestHandler: {parsers: [{pluginRef: queue-scorer}, {pluginRef: opnai-parser}]}\n'))).toEqual([
      'requestHandler.parsers[0].pluginRef: plugin "queue-scorer" (type queue-scorer) is not a parser',
      expect.stringMatching(/^requestHandler\.parsers\[1\]\.pluginRef: parser references undefined plugin: no plugin named "opnai-parser"/),
    ]);
  });
});

describe('feature gates', () => {
  it('reads name and name=true|false with the reference defaults', () => {
    expect([...build('').featureGates]).toEqual([
      ['flowControl', false],
      ['haPopulateNonLeaderDatastore', true],
    ]);
    const gates = build('featureGates: [flowControl, "haPopulateNonLeaderDatastore=False"]\n').featureGates;
    expect(gates.get('flowControl')).toBe(true);
    expect(gates.get('haPopulateNonLeaderDatastore')).toBe(false);
    expect(build('featureGates: [flowControl]\n').warnings).toEqual([expect.stringMatching(/flowControl is on, but flow control .* not implemented yet \(issue 16\)/)]);
  });

  it('refuses unknown gates (with a did-you-mean) and unreadable values, as the reference', () => {
    expect(problems(() => build('featureGates: [flowcontrol, "haPopulateNonLeaderDatastore=maybe", dataLayer]\n'))).toEqual([
      expect.stringMatching(/^featureGates\[0\]: feature gate "flowcontrol" is unknown or unregistered \(did you mean "flowControl"\?\)/),
      'featureGates[1]: "maybe" is not a valid value for the feature gate haPopulateNonLeaderDatastore (use true or false)',
      expect.stringMatching(/^featureGates\[2\]: feature gate "dataLayer" is unknown or unregistered \(the data layer is always on/),
    ]);
  });
});

describe('plugin references and defaults (loader/defaults.go)', () => {
  it('builds a disaggregation handler declared before its deciders', () => {
    const built = build(`plugins:
- type: disagg-profile-handler
  parameters: {deciders: {prefill: my-decider}}
- {name: my-decider, type: always-disagg-pd-decider}
- {type: decode-filter}
- {type: prefill-filter}
schedulingProfiles:
- {name: decode, plugins: [{pluginRef: decode-filter}]}
- {name: prefill, plugins: [{pluginRef: prefill-filter}]}
`);
    const pool = [endpoint(0, {}, { 'llm-d.ai/role': 'decode' }), endpoint(1, {}, { 'llm-d.ai/role': 'prefill' })];
    const result = built.scheduler.schedule(schedulingRequest(), pool);
    expect(result.profileResults.get('prefill')?.targets).toEqual([pool[1]]);
  });

  it('gives a profile without a picker the first declared picker, injecting a max-score-picker only when none is declared', () => {
    const withPicker = build(`plugins: [{type: queue-scorer}, {type: random-picker, parameters: {maxNumOfEndpoints: 2}}]
schedulingProfiles: [{name: default, plugins: [{pluginRef: queue-scorer}]}]
`);
    expect(withPicker.plugins.has('max-score-picker')).toBe(false);
    expect(withPicker.scheduler.schedule(schedulingRequest(), [endpoint(0), endpoint(1), endpoint(2)]).profileResults.get('default')?.targets).toHaveLength(2);
    const without = build('plugins: [{type: queue-scorer}]\nschedulingProfiles: [{name: default, plugins: [{pluginRef: queue-scorer}]}]\n');
    expect(without.plugins.get('max-score-picker')?.typedName.type).toBe('max-score-picker');
    expect(without.plugins.get('single-profile-handler')?.typedName.type).toBe('single-profile-handler');
    expect(without.saturationDetector?.typedName.type).toBe('utilization-detector');
  });

  it('refuses Alpha plugins unless experimental plugins are allowed', () => {
    const body = 'plugins: [{type: session-affinity-scorer}]\n';
    expect(problems(() => build(body, false))).toEqual(['plugins[0]: plugin "session-affinity-scorer" (type session-affinity-scorer) has Alpha stability level, but command line flag --allow-experimental-plugins is not set']);
    expect(build(body, true).plugins.has('session-affinity-scorer')).toBe(true);
  });
});

describe('dataLayer', () => {
  it('uses the configured source and extractor instances', () => {
    const built = build(`plugins:
- {name: src, type: metrics-data-source, parameters: {path: /custom-metrics}}
- {name: ext, type: core-metrics-extractor, parameters: {defaultEngine: sglang}}
dataLayer: {sources: [{pluginRef: src, extractors: [{pluginRef: ext}]}]}
`);
    expect(built.dataSources).toHaveLength(1);
    const [binding] = built.dataSources;
    expect(binding?.source).toBe(built.plugins.get('src'));
    expect(binding?.source).toBeInstanceOf(MetricsDataSource);
    expect(binding?.source.parameters.path).toBe('/custom-metrics');
    expect(binding?.extractors).toEqual([built.plugins.get('ext')]);
    expect(built.plugins.has('metrics-data-source')).toBe(false);
  });

  it('injects the default source and extractor unless injectDefaults is false', () => {
    const defaults = build('');
    expect(defaults.dataSources.map((b) => [b.source.typedName.name, b.extractors.map((e) => e.typedName.name)])).toEqual([['metrics-data-source', ['core-metrics-extractor']]]);
    expect(defaults.dataSources[0]?.extractors[0]).toBeInstanceOf(CoreMetricsExtractor);
    expect(build('dataLayer: {injectDefaults: false}\n').dataSources).toEqual([]);
  });

  it('checks every reference: sources, extractors, discovery', () => {
    expect(
      problems(() =>
        build(`plugins: [{type: queue-scorer}, {type: metrics-data-source}]
dataLayer:
  sources: [{pluginRef: queue-scorer}, {pluginRef: metrics-data-source, extractors: [{pluginRef: core-metrics-extractr}, {pluginRef: queue-scorer}]}]
  discovery: {pluginRef: queue-scorer}
`),
      ),
    ).toEqual([
      'dataLayer.sources[0].pluginRef: plugin "queue-scorer" (type queue-scorer) is not a data source',
      'dataLayer.sources[1].extractors[0].pluginRef: no plugin named "core-metrics-extractr"',
      'dataLayer.sources[1].extractors[1].pluginRef: plugin "queue-scorer" (type queue-scorer) is not a metrics extractor for metrics-data-source',
      'dataLayer.discovery.pluginRef: plugin "queue-scorer" (type queue-scorer) does not implement endpoint discovery',
    ]);
  });

  it('resolves a file-discovery plugin and accepts the active-active scaffolding with warnings', () => {
    const built = build(`plugins: [{type: file-discovery, parameters: {path: /etc/epp/endpoints.yaml, watchFile: true}}]
dataLayer:
  discovery: {pluginRef: file-discovery}
  peerDiscovery: {pluginRef: peers}
  crossReplicaSyncerPluginRef: syncer
  crossReplicaSyncInterval: 200ms
`);
    expect(built.discovery).toBeInstanceOf(FileDiscovery);
    expect(built.discovery?.path).toBe('/etc/epp/endpoints.yaml');
    expect(built.discovery?.watchFile).toBe(true);
    expect(built.warnings).toEqual([
      expect.stringMatching(/^dataLayer\.peerDiscovery: accepted but not acted on/),
      expect.stringMatching(/^dataLayer\.crossReplicaSyncerPluginRef: accepted but not acted on/),
      expect.stringMatching(/^dataLayer\.crossReplicaSyncInterval: accepted but not acted on/),
    ]);
    expect(problems(() => build('plugins: [{type: file-discovery}]\n'))).toEqual([expect.stringMatching(/^plugins\[0\]\.parameters\.path: /)]);
  });

  it('decodes flowControl quantities and durations as the reference (Kubernetes quantities, Go durations)', () => {
    const fc = build('flowControl: {maxBytes: 1Gi, maxRequests: "5k", defaultRequestTTL: 1m30s, priorityBands: [{priority: 1, maxRequests: 100}]}\n').flowControl;
    expect([fc?.maxBytes, fc?.maxRequests, fc?.defaultRequestTTL, fc?.priorityBands[0]?.maxRequests]).toEqual([2 ** 30, 5000, 90_000, 100]);
  });

  it('warns that flowControl settings are ignored while its gate is off', () => {
    expect(build('flowControl: {maxRequests: 5000, defaultRequestTTL: 60s}\n').warnings).toEqual([expect.stringMatching(/^flowControl: set, but the flowControl feature gate is off/)]);
    expect(problems(() => build('featureGates: [flowControl]\nflowControl: {usageLimitPolicyPluginRef: nope}\n'))).toEqual(['flowControl.usageLimitPolicyPluginRef: no plugin named "nope"']);
  });
});
