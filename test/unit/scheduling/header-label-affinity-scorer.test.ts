import { describe, expect, it } from 'vitest';
import { buildScheduler } from '../../../src/config/build-scheduler.js';
import { loadConfig } from '../../../src/config/load-config.js';
import { registerBuiltins } from '../../../src/builtins.js';
import {
  type HeaderLabelAffinityScorer,
  headerLabelAffinityScorerFactory,
  MAX_AFFINITY_HEADER_VALUE_LENGTH,
} from '../../../src/scheduling/plugins/scorers/header-label-affinity-scorer.js';
import { describeScorer } from '../../contract/plugin-contracts.js';
import { endpoint, schedulingRequest } from '../../helpers/endpoints.js';
import { configProblems } from '../../helpers/config-problems.js';

const CONTEXT = { random: () => 0.5 };
const SLICE = 'disaggregatedset.x-k8s.io/slice';
const ZONE = 'topology.kubernetes.io/zone';

const make = (p: Record<string, unknown>): HeaderLabelAffinityScorer => headerLabelAffinityScorerFactory('s', p, CONTEXT) as HeaderLabelAffinityScorer;
const withHeaders = (headers: Record<string, string>) => schedulingRequest({ headers: new Map(Object.entries(headers)) });

const problems = (fn: () => unknown): string => configProblems(fn).join('\n');

function scores(s: HeaderLabelAffinityScorer, headers: Record<string, string>, labels: readonly Record<string, string>[]): number[] {
  const pool = labels.map((l, i) => endpoint(i, {}, l));
  const out = new Float64Array(pool.length).fill(-1);
  s.score(withHeaders(headers), pool, out);
  return Array.from(out);
}

describeScorer('header-label-affinity-scorer', () => make({ headerName: 'x-tier', labelKey: 'tier' }));

describe('header-label-affinity-scorer', () => {
  const slice = make({ headerName: 'X-Disagg-Slice', labelKey: SLICE });
  const pool: Record<string, string>[] = [{ [SLICE]: '0' }, { [SLICE]: '1' }, {}, { [SLICE]: '1' }];

  it('scores 1 where the label equals the header value, 0 elsewhere (unlabelled endpoints included)', () => {
    expect(scores(slice, { 'x-disagg-slice': '1' }, pool)).toEqual([0, 1, 0, 1]);
    expect(scores(slice, { 'x-disagg-slice': '0' }, pool)).toEqual([1, 0, 0, 0]);
  });

  it('matches the header name case-insensitively (stored lower-case) and the value exactly', () => {
    expect(slice.headerName).toBe('x-disagg-slice');
    expect(scores(slice, { 'x-disagg-slice': ' 1' }, pool)).toEqual([0, 0, 0, 0]);
    expect(scores(make({ headerName: 'x-zone', labelKey: ZONE }), { 'x-zone': 'EU-1' }, [{ [ZONE]: 'eu-1' }, { [ZONE]: 'EU-1' }])).toEqual([0, 1]);
  });

  it('scores 0 everywhere for a missing, empty or unknown header value', () => {
    expect(scores(slice, {}, pool)).toEqual([0, 0, 0, 0]);
    expect(scores(slice, { 'x-disagg-slice': '' }, pool)).toEqual([0, 0, 0, 0]);
    expect(scores(slice, { 'x-disagg-slice': '7' }, pool)).toEqual([0, 0, 0, 0]);
    expect(scores(slice, { 'x-other': '1' }, pool)).toEqual([0, 0, 0, 0]);
  });

  it('an empty header value does not match an endpoint whose label is empty', () => {
    expect(scores(slice, { 'x-disagg-slice': '' }, [{ [SLICE]: '' }])).toEqual([0]);
  });

  it('ignores a header value longer than the bound, even if a label equals it', () => {
    const atLimit = 'a'.repeat(MAX_AFFINITY_HEADER_VALUE_LENGTH);
    const over = 'a'.repeat(MAX_AFFINITY_HEADER_VALUE_LENGTH + 1);
    const s = make({ headerName: 'x-v', labelKey: 'v' });
    expect(scores(s, { 'x-v': atLimit }, [{ v: atLimit }])).toEqual([1]);
    expect(scores(s, { 'x-v': over }, [{ v: over }])).toEqual([0]);
  });

  it('does not read inherited properties as labels', () => {
    const s = make({ headerName: 'x-v', labelKey: 'constructor' });
    expect(scores(s, { 'x-v': 'function Object() { [native code] }' }, [{}])).toEqual([0]);
  });

  it('requires headerName and labelKey, reporting both at once; rejects unknown parameters', () => {
    const missing = problems(() => make({}));
    expect(missing).toContain('headerName');
    expect(missing).toContain('labelKey');
    expect(problems(() => make({ headerName: '  ', labelKey: 'x' }))).toContain("'headerName' is required");
    expect(problems(() => make({ headerName: 'x', labelKey: '' }))).toContain("'labelKey' is required");
    expect(problems(() => headerLabelAffinityScorerFactory('s', undefined, CONTEXT))).toContain('headerName');
    expect(problems(() => make({ headerName: 'x', labelKey: 'y', mode: 'strict' }))).toContain('mode');
  });
});

describe('header-label-affinity-scorer in a profile (upstream README example)', () => {
  const text = [
    'apiVersion: llm-d.ai/v1alpha1',
    'kind: EndpointPickerConfig',
    'plugins:',
    '- type: header-label-affinity-scorer',
    '  name: slice-affinity',
    `  parameters: {headerName: x-disagg-slice, labelKey: ${SLICE}}`,
    '- type: header-label-affinity-scorer',
    '  name: zone-affinity',
    `  parameters: {headerName: x-preferred-zone, labelKey: ${ZONE}}`,
    '- type: max-score-picker',
    '  name: picker',
    'schedulingProfiles:',
    '- name: decode',
    '  plugins:',
    '  - {pluginRef: slice-affinity, weight: 3}',
    '  - {pluginRef: zone-affinity, weight: 1}',
    '  - {pluginRef: picker}',
  ].join('\n');
  const POOL = [endpoint(0, {}, { [SLICE]: '0', [ZONE]: 'a' }), endpoint(1, {}, { [SLICE]: '1', [ZONE]: 'b' }), endpoint(2, {}, { [SLICE]: '0', [ZONE]: 'b' })];

  it('is Alpha: refused without --allow-experimental-plugins', () => {
    expect(() => buildScheduler(loadConfig({ text }), registerBuiltins(), CONTEXT, undefined, 'EndpointPickerConfig', { allowExperimentalPlugins: false })).toThrow(
      /header-label-affinity-scorer.*Alpha/,
    );
  });

  it('weights combine: slice (3) outranks zone (1); both together pick the endpoint matching both', () => {
    const { scheduler } = buildScheduler(loadConfig({ text }), registerBuiltins(), CONTEXT, undefined, 'EndpointPickerConfig', { allowExperimentalPlugins: true });
    const pick = (h: Record<string, string>) => scheduler.schedule(withHeaders(h), POOL).profileResults.get('decode')?.targets[0]?.name;
    expect(pick({ 'x-disagg-slice': '1', 'x-preferred-zone': 'a' })).toBe('e1');
    expect(pick({ 'x-disagg-slice': '0', 'x-preferred-zone': 'b' })).toBe('e2');
    expect(pick({ 'x-preferred-zone': 'b', 'x-disagg-slice': 'nope' })).toMatch(/^e[12]$/);
  });
});
