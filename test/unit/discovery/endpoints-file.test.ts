import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import type { EndpointSpec } from '../../../src/datastore/endpoint.js';
import { EndpointsFileSource, parseEndpointsFile } from '../../../src/discovery/endpoints-file.js';
import { silentLogger } from '../../../src/observability/logger.js';

describe('parseEndpointsFile', () => {
  it('expands ports into rank endpoints and defaults names to address:port', () => {
    const specs = parseEndpointsFile(
      `endpoints:
  - {name: vllm-0, address: 127.0.0.1, port: 8001, labels: {llm-d.ai/role: decode}}
  - {name: dp, address: 127.0.0.2, ports: [9000, 9001]}
  - {address: '::1', port: 7000}
`,
      'f',
    );
    expect(specs).toEqual([
      { name: 'vllm-0', address: '127.0.0.1', port: 8001, labels: { 'llm-d.ai/role': 'decode' } },
      { name: 'dp-rank-0', address: '127.0.0.2', port: 9000, labels: {} },
      { name: 'dp-rank-1', address: '127.0.0.2', port: 9001, labels: {} },
      { name: '::1:7000', address: '::1', port: 7000, labels: {} },
    ]);
  });

  it('reports every problem with its path', () => {
    expect(() =>
      parseEndpointsFile('endpoints:\n  - {address: nope, port: 1}\n  - {address: 127.0.0.1}\n  - {address: 127.0.0.1, port: 70000, foo: 1}\n', 'f'),
    ).toThrow(/endpoints\[0\]\.address: must be an IPv4 or IPv6 address[\s\S]*endpoints\[1\]: set exactly one of port or ports[\s\S]*endpoints\[2\]/);
    expect(() => parseEndpointsFile('endpoints:\n  - {name: a, address: 127.0.0.1, port: 1}\n  - {name: a, address: 127.0.0.2, port: 1}\n', 'f')).toThrow('duplicate endpoint name "a"');
  });
});

describe('EndpointsFileSource', () => {
  it('loads at start, reloads on change (also on atomic rename), and keeps the last good set on a bad write', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'epp-ep-'));
    const path = join(dir, 'endpoints.yaml');
    writeFileSync(path, 'endpoints:\n  - {address: 127.0.0.1, port: 8001}\n');
    const seen: EndpointSpec[][] = [];
    const source = new EndpointsFileSource({ path, logger: silentLogger(), onEndpoints: (s) => seen.push(s), debounceMs: 10 });
    source.start();
    try {
      expect(seen).toHaveLength(1);
      writeFileSync(path, 'endpoints:\n  - {address: 127.0.0.1, port: 8001}\n  - {address: 127.0.0.1, port: 8002}\n');
      await vi.waitFor(() => expect(seen.at(-1)).toHaveLength(2), { timeout: 5000 });
      writeFileSync(join(dir, 'tmp'), 'endpoints: []\n');
      renameSync(join(dir, 'tmp'), path);
      await vi.waitFor(() => expect(seen.at(-1)).toHaveLength(0), { timeout: 5000 });
      const count = seen.length;
      writeFileSync(path, 'endpoints: [ {address: bad');
      source.reload();
      expect(seen).toHaveLength(count);
    } finally {
      source.close();
    }
  });
});
