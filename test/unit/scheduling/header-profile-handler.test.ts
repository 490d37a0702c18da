import { describe, expect, it } from 'vitest';
import { buildScheduler } from '../../../src/config/build-scheduler.js';
import { loadConfig } from '../../../src/config/load-config.js';
import { registerBuiltins } from '../../../src/builtins.js';
import { BadRequestError, ResourceExhaustedError } from '../../../src/errors/errors.js';
import { HeaderProfileHandler, headerProfileHandlerFactory } from '../../../src/scheduling/plugins/profile-handlers/header-profile-handler.js';
import { MaxScorePicker } from '../../../src/scheduling/plugins/pickers/max-score-picker.js';
import type { Scheduler } from '../../../src/scheduling/scheduler.js';
import type { ProfileSpec } from '../../../src/scheduling/types.js';
import { endpoint, schedulingRequest } from '../../helpers/endpoints.js';
import { describeProfileHandler } from '../../contract/plugin-contracts.js';

const CONTEXT = { random: () => 0.5 };
const ROLE = 'llm-d.ai/role';
const POOL = [endpoint(0, {}, { [ROLE]: 'encode' }), endpoint(1, {}, { [ROLE]: 'prefill' }), endpoint(2, {}, { [ROLE]: 'decode' })];

function stages(parameters = '', profiles = ['encode', 'prefill', 'decode']): Scheduler {
  const text = [
    'apiVersion: llm-d.ai/v1alpha1',
    'kind: EndpointPickerConfig',
    'plugins:',
    '- type: encode-filter',
    '- type: prefill-filter',
    '- type: decode-filter',
    '- type: max-score-picker',
    '- type: header-profile-handler',
    parameters,
    'schedulingProfiles:',
    ...profiles.map((p) => `- name: ${p}\n  plugins:\n  - pluginRef: ${p}-filter`),
  ].filter((l) => l !== '').join('\n');
  return buildScheduler(loadConfig({ text }), registerBuiltins(), CONTEXT, undefined, 'EndpointPickerConfig', { allowExperimentalPlugins: true }).scheduler;
}

const withHeader = (headers: Record<string, string>) => schedulingRequest({ headers: new Map(Object.entries(headers)) });

function routedTo(s: Scheduler, headers: Record<string, string>): { profile: string; target: string | undefined; ran: number } {
  const r = s.schedule(withHeader(headers), POOL);
  return { profile: r.primaryProfileName, target: r.profileResults.get(r.primaryProfileName)?.targets[0]?.name, ran: r.profileResults.size };
}

const HEADERS: readonly Record<string, string>[] = [{}, { 'epp-profile': 'prefill' }, { 'epp-profile': 'encode' }, { 'epp-profile': 'nope' }, { 'epp-profile': ' ' }];
describeProfileHandler('header-profile-handler (three stages)', () => new HeaderProfileHandler('h'), ['encode', 'prefill', 'decode'], HEADERS.map((h) => () => withHeader(h)));
describeProfileHandler('header-profile-handler (no default profile)', () => new HeaderProfileHandler('h'), ['encode', 'prefill'], HEADERS.map((h) => () => withHeader(h)));
describeProfileHandler('header-profile-handler (one profile)', () => new HeaderProfileHandler('h'), ['only'], HEADERS.map((h) => () => withHeader(h)));

describe('header-profile-handler', () => {
  it('runs only the profile the EPP-Profile header names', () => {
    const s = stages();
    expect(routedTo(s, { 'epp-profile': 'prefill' })).toEqual({ profile: 'prefill', target: 'e1', ran: 1 });
    expect(routedTo(s, { 'epp-profile': ' encode ' })).toEqual({ profile: 'encode', target: 'e0', ran: 1 });
    expect(routedTo(s, { 'epp-profile': 'decode' })).toEqual({ profile: 'decode', target: 'e2', ran: 1 });
  });

  it('runs defaultProfile (decode unless set) when the header is missing or blank', () => {
    expect(routedTo(stages(), {})).toEqual({ profile: 'decode', target: 'e2', ran: 1 });
    expect(routedTo(stages(), { 'epp-profile': '   ' })).toEqual({ profile: 'decode', target: 'e2', ran: 1 });
    expect(routedTo(stages('  parameters: {defaultProfile: prefill}'), {}).profile).toBe('prefill');
  });

  it('fails with 400 naming the value when the header names no configured profile (matched case-sensitively)', () => {
    const s = stages();
    expect(() => s.schedule(withHeader({ 'epp-profile': 'Prefill' }), POOL)).toThrow(BadRequestError);
    expect(() => s.schedule(withHeader({ 'epp-profile': 'nope' }), POOL)).toThrow(/epp-profile header value "nope" \(configured: decode, encode, prefill\)/);
  });

  it('fails with 400 when the header is missing and defaultProfile is not configured', () => {
    const s = stages('', ['encode', 'prefill']);
    expect(() => s.schedule(withHeader({}), POOL)).toThrow(/missing epp-profile header, and defaultProfile "decode" is not a configured scheduling profile/);
    expect(routedTo(s, { 'epp-profile': 'encode' }).profile).toBe('encode');
  });

  it('always runs the only profile, whatever the header says', () => {
    const s = stages('', ['prefill']);
    expect(routedTo(s, { 'epp-profile': 'decode' })).toEqual({ profile: 'prefill', target: 'e1', ran: 1 });
    expect(routedTo(s, {}).profile).toBe('prefill');
  });

  it('reads a configured header name case-insensitively', () => {
    const s = stages('  parameters: {headerName: X-Stage}');
    expect(routedTo(s, { 'x-stage': 'encode' }).profile).toBe('encode');
    expect(routedTo(s, { 'epp-profile': 'encode' }).profile).toBe('decode');
  });

  it('decodes parameters: blank values take the defaults, unknown keys are refused', () => {
    const h = headerProfileHandlerFactory('h', { headerName: '  ', defaultProfile: '' }, CONTEXT) as HeaderProfileHandler;
    expect([h.headerName, h.defaultProfile]).toEqual(['epp-profile', 'decode']);
    expect(() => headerProfileHandlerFactory('h', { header: 'x' }, CONTEXT)).toThrow(/header/);
    expect(() => headerProfileHandlerFactory('h', { headerName: 3 }, CONTEXT)).toThrow(/headerName/);
  });

  it('fails with 429 when the chosen profile found no endpoint, and runs one round only', () => {
    const h = new HeaderProfileHandler('h');
    const spec: ProfileSpec = { name: 'decode', filters: [], scorers: [], picker: new MaxScorePicker('p', 1) };
    const profiles = new Map([['decode', spec], ['prefill', { ...spec, name: 'prefill' }]]);
    expect(h.pickProfiles(schedulingRequest(), profiles, new Map())).toEqual([spec]);
    expect(h.pickProfiles(schedulingRequest(), profiles, new Map([['decode', null]]))).toEqual([]);
    expect(() => h.processResults(schedulingRequest(), new Map([['decode', null]]))).toThrow(ResourceExhaustedError);
  });

  it('is Alpha: refused without --allow-experimental-plugins', () => {
    const text = 'apiVersion: llm-d.ai/v1alpha1\nkind: EndpointPickerConfig\nplugins:\n- type: header-profile-handler\n- type: max-score-picker\n';
    expect(() => buildScheduler(loadConfig({ text }), registerBuiltins(), CONTEXT, undefined, 'EndpointPickerConfig', { allowExperimentalPlugins: false })).toThrow(/Alpha stability/);
  });
});
