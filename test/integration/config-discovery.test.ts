/** `dataLayer.discovery.pluginRef` naming a `file-discovery` plugin as the picker's only discovery source. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { PickerServer } from '../../src/app.js';
import { ConfigError } from '../../src/config/decode.js';
import { startTestPicker } from '../helpers/picker.js';
import { RawExtProcClient, requestBody, requestHeaders } from '../helpers/raw-extproc-client.js';

const running: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of running.splice(0)) await stop();
});

function configWithFile(entries: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'epp-cd-')), 'endpoints.yaml');
  writeFileSync(path, `endpoints:\n${entries}`);
  return `apiVersion: llm-d.ai/v1alpha1
kind: EndpointPickerConfig
plugins:
- type: file-discovery
  parameters: {path: ${JSON.stringify(path)}, watchFile: true}
dataLayer:
  discovery: {pluginRef: file-discovery}
`;
}

async function destination(picker: PickerServer): Promise<string> {
  const client = new RawExtProcClient(`127.0.0.1:${picker.grpcPort}`);
  running.push(() => Promise.resolve(client.close()));
  const s = client.open();
  s.send(requestHeaders({ ':path': '/v1/completions' }));
  s.send(requestBody(JSON.stringify({ model: 'm', prompt: 'hello' }), true));
  await s.until((x) => x.responses.length >= 1 || x.ended, 5000);
  s.halfClose();
  return s.responses[0]?.msg.request_headers?.response?.header_mutation?.set_headers?.find((h) => h.header?.key === 'x-gateway-destination-endpoint')?.header?.raw_value?.toString() ?? 'none';
}

describe('file-discovery from the config', () => {
  it('discovers the endpoints of the file and routes to them', async () => {
    const picker = await startTestPicker({ config: { text: configWithFile('- {name: only, address: 127.0.0.71, port: "8123"}\n') }, discovery: { configured: true } });
    running.push(() => picker.shutdown(1000));
    expect(picker.datastore.snapshot.endpoints.map((e) => e.name)).toEqual(['only']);
    expect(await destination(picker)).toBe('127.0.0.71:8123');
  });

  it('is required when no discovery flag is given, and exclusive with --endpoints-file', async () => {
    await expect(startTestPicker({ discovery: { configured: true } })).rejects.toThrow(/a discovery source is required: dataLayer\.discovery\.pluginRef/);
    await expect(startTestPicker({ config: { text: configWithFile('- {name: a, address: 127.0.0.71, port: "1"}\n') }, discovery: { endpointsFile: '/nonexistent' } })).rejects.toThrow(ConfigError);
  });
});
