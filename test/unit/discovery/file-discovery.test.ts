import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { EndpointSpec } from '../../../src/datastore/endpoint.js';
import { FileDiscovery, fileDiscoveryFactory, parseDiscoveryFile } from '../../../src/discovery/file-discovery.js';
import { silentLogger } from '../../../src/observability/logger.js';
import { collectParameterWarnings } from '../../../src/plugin/parameters.js';

function tempFile(text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'epp-fd-')), 'endpoints.yaml');
  writeFileSync(path, text);
  return path;
}

describe('parseDiscoveryFile (the reference format)', () => {
  it('reads name, namespace, address, port as a string (or number) and labels', () => {
    const file = parseDiscoveryFile(`endpoints:
- {name: vllm-0, address: 10.0.0.1, port: "8000", labels: {llm-d.ai/role: decode}}
- {name: vllm-1, namespace: team, address: 10.0.0.2, port: 8001}
`);
    expect(file.endpoints).toEqual([
      { name: 'vllm-0', address: '10.0.0.1', port: 8000, labels: { 'llm-d.ai/role': 'decode' } },
      { name: 'team/vllm-1', address: '10.0.0.2', port: 8001, labels: {} },
    ]);
    expect(file.problems).toEqual([]);
  });

  it('reports each invalid entry, keeps the valid ones, names ignored fields, and lets a later duplicate replace an earlier one', () => {
    const file = parseDiscoveryFile(`endpoints:
- {name: a, address: "::1", port: "8000"}
- {name: b, address: 10.0.0.2, port: "99999"}
- {address: 10.0.0.3, port: "1"}
- {name: c, address: 10.0.0.4, port: "2", weight: 3}
- {name: c, address: 10.0.0.5, port: "3"}
extra: true
`);
    expect(file.problems).toEqual(['endpoint "a": invalid IPv4 address "::1"', 'endpoint "b": invalid port "99999"', 'endpoints[2]: name is required']);
    expect(file.endpoints).toEqual([{ name: 'c', address: '10.0.0.5', port: 3, labels: {} }]);
    expect(file.ignored).toEqual(['extra', 'endpoints[3].weight']);
  });
});

describe('file-discovery plugin', () => {
  it('requires path, defaults watchFile to false, refuses unknown parameters', () => {
    const p = fileDiscoveryFactory('fd', { path: '/x' }, { random: Math.random }) as FileDiscovery;
    expect([p.path, p.watchFile]).toEqual(['/x', false]);
    expect(() => fileDiscoveryFactory('fd', {}, { random: Math.random })).toThrow(/path/);
    expect(() => collectParameterWarnings(() => fileDiscoveryFactory('fd', { path: '/x', watchfile: true }, { random: Math.random }))).not.toThrow();
    expect(() => fileDiscoveryFactory('fd', { path: '/x', watchFiles: true }, { random: Math.random })).toThrow(/watchFiles: unknown field "watchFiles" \(did you mean "watchFile"\?\)/);
  });

  it('fails the initial load on an invalid entry; on reload applies the valid entries, drops removed ones and skips invalid ones', () => {
    const path = tempFile('endpoints:\n- {name: a, address: 10.0.0.1, port: "1"}\n- {name: b, address: nope, port: "2"}\n');
    const seen: EndpointSpec[][] = [];
    expect(() => new FileDiscovery('fd', path, false).start((s) => seen.push(s), silentLogger())).toThrow(/endpoint "b": invalid IPv4 address "nope"/);
    writeFileSync(path, 'endpoints:\n- {name: a, address: 10.0.0.1, port: "1"}\n- {name: b, address: 10.0.0.2, port: "2"}\n');
    const discovery = new FileDiscovery('fd', path, true);
    discovery.start((s) => seen.push(s), silentLogger(), 10);
    expect(seen.at(-1)?.map((e) => e.name)).toEqual(['a', 'b']);
    writeFileSync(path, 'endpoints:\n- {name: b, address: 10.0.0.2, port: "2"}\n- {name: c, address: bad, port: "3"}\n');
    discovery.reload();
    expect(seen.at(-1)?.map((e) => e.name)).toEqual(['b']);
    discovery.close();
  });

  it('refuses a file over 1 MiB', () => {
    const path = tempFile(`endpoints: []\n#${'x'.repeat(1024 * 1024)}\n`);
    expect(() => new FileDiscovery('fd', path, false).start(() => undefined, silentLogger())).toThrow(/larger than 1048576 bytes/);
  });
});
