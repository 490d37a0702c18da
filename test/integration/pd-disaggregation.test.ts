/**
 * P/D disaggregation through the real picker over gRPC, with prefill- and decode-labelled mock
 * replicas: long uncached prompts get a decode destination and an `x-prefiller-host-port` naming a
 * prefill replica; cached and short prompts do not; a client's own copy of the header never survives.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { PickerServer } from '../../src/app.js';
import { startMockVllm, type MockVllmServer } from '../../src/mockvllm/server.js';
import { startTestPicker } from '../helpers/picker.js';
import { RawExtProcClient, requestBody, requestHeaders } from '../helpers/raw-extproc-client.js';

const CONFIG = `apiVersion: llm-d.ai/v1alpha1
kind: EndpointPickerConfig
plugins:
- type: prefill-filter
- type: decode-filter
- type: prefix-cache-scorer
- type: queue-scorer
- type: prefix-based-pd-decider
  parameters: {nonCachedTokens: 16}
- type: disagg-profile-handler
  parameters:
    deciders: {prefill: prefix-based-pd-decider}
schedulingProfiles:
- name: prefill
  plugins: [{pluginRef: prefill-filter}, {pluginRef: prefix-cache-scorer, weight: 2}, {pluginRef: queue-scorer}]
- name: decode
  plugins: [{pluginRef: decode-filter}, {pluginRef: prefix-cache-scorer, weight: 2}, {pluginRef: queue-scorer}]
`;

let mocks: MockVllmServer[] = [];
let picker: PickerServer;
let client: RawExtProcClient;
const ROLES = ['decode', 'decode', 'prefill', 'prefill'] as const;

beforeAll(async () => {
  mocks = await Promise.all(ROLES.map((_, i) => startMockVllm({ host: `127.0.0.${151 + i}`, port: 0, model: 'm', profile: 'none' })));
  picker = await startTestPicker({
    config: { text: CONFIG },
    discovery: { endpoints: mocks.map((m, i) => ({ name: `${ROLES[i]}-${i}`, address: m.host, port: m.port, labels: { 'llm-d.ai/role': ROLES[i] ?? '' } })) },
  });
  client = new RawExtProcClient(`127.0.0.1:${picker.grpcPort}`);
  // The saturation guard treats prefill replicas with unknown metrics as saturated.
  await vi.waitFor(() => expect(picker.datastore.snapshot.endpoints.every((e) => e.metrics.known)).toBe(true), { timeout: 5000 });
});

afterAll(async () => {
  client.close();
  await picker.shutdown(1000);
  await Promise.all(mocks.map((m) => m.close()));
});

interface Routed {
  readonly set: Map<string, string>;
  readonly removed: readonly string[];
}

async function route(prompt: string, headers: Record<string, string> = {}): Promise<Routed> {
  const s = client.open();
  s.send(requestHeaders({ ':path': '/v1/completions', ...headers }));
  s.send(requestBody(JSON.stringify({ model: 'm', prompt, max_tokens: 4 }), true));
  await s.until((x) => x.responses.length >= 1);
  s.halfClose();
  const mutation = s.responses[0]?.msg.request_headers?.response?.header_mutation;
  const set = new Map<string, string>();
  for (const h of mutation?.set_headers ?? []) set.set(h.header?.key ?? '', h.header?.raw_value?.toString() ?? '');
  return { set, removed: mutation?.remove_headers ?? [] };
}

const decodes = (): string[] => mocks.slice(0, 2).map((m) => `${m.host}:${m.port}`);
const prefills = (): string[] => mocks.slice(2).map((m) => `${m.host}:${m.port}`);

describe('P/D disaggregation through the picker', () => {
  it('disaggregates a long uncached prompt onto a decode destination and a prefill replica', async () => {
    const prompt = `Summarise this document. ${'Lorem ipsum dolor sit amet, consectetur adipiscing elit. '.repeat(40)}`;
    const first = await route(prompt);
    const destination = first.set.get('x-gateway-destination-endpoint') ?? '';
    expect(decodes()).toContain(destination);
    expect(prefills()).toContain(first.set.get('x-prefiller-host-port'));

    // Cached on that decode replica now: same destination, no prefill.
    const again = await route(prompt);
    expect(again.set.get('x-gateway-destination-endpoint')).toBe(destination);
    expect(again.set.has('x-prefiller-host-port')).toBe(false);

    // The serving picker counts both decisions.
    const exposition = await picker.metrics.registry.metrics();
    expect(exposition).toMatch(/llm_d_inference_scheduler_disagg_decision_total\{[^}]*decision_type="prefill-decode"[^}]*\} [1-9]/);
    expect(exposition).toMatch(/llm_d_inference_scheduler_disagg_decision_total\{[^}]*decision_type="decode-only"[^}]*\} [1-9]/);
  });

  it('does not disaggregate short prompts', async () => {
    const r = await route('What is 2 + 2?');
    expect(decodes()).toContain(r.set.get('x-gateway-destination-endpoint'));
    expect(r.set.has('x-prefiller-host-port')).toBe(false);
  });

  it('never forwards a client-supplied x-prefiller-host-port or x-encoder-hosts-ports', async () => {
    const short = await route('hi there', { 'x-prefiller-host-port': '10.9.9.9:8000', 'x-encoder-hosts-ports': '10.9.9.9:1' });
    expect(short.set.has('x-prefiller-host-port')).toBe(false);
    expect(short.removed).toEqual(expect.arrayContaining(['x-prefiller-host-port', 'x-encoder-hosts-ports']));
    // On a disaggregated request the picker's own value overwrites the client's.
    const long = await route(`Another long document. ${'Sed ut perspiciatis unde omnis iste natus error. '.repeat(40)}`, { 'x-prefiller-host-port': '10.9.9.9:8000' });
    expect(prefills()).toContain(long.set.get('x-prefiller-host-port'));
  });
});
