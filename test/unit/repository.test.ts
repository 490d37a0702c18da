/** Checks that keep generated code, docs and the command line in step. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { serveCommand } from '../../src/cli/commands/serve.js';
import { parseEndpointsFile } from '../../src/discovery/endpoints-file.js';

const root = new URL('../../', import.meta.url).pathname;

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? files(join(dir, n)) : [join(dir, n)]));
}

describe('repository', () => {
  it('src/generated matches what npm run gen:proto produces', () => {
    const out = mkdtempSync(join(tmpdir(), 'epp-gen-'));
    execFileSync(process.execPath, [join(root, 'scripts/gen-proto.mjs'), out]);
    const fresh = files(out).map((f) => relative(out, f)).sort();
    const checked = files(join(root, 'src/generated')).map((f) => relative(join(root, 'src/generated'), f)).sort();
    expect(checked).toEqual(fresh);
    for (const f of fresh) expect(readFileSync(join(root, 'src/generated', f), 'utf8'), f).toBe(readFileSync(join(out, f), 'utf8'));
  });

  it('README documents every epp serve flag', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    for (const f of serveCommand.flags) expect(readme, f.name).toContain(f.name === 'v' ? '`-v`' : `--${f.name}`);
  });

  it('the example Envoy config and endpoints file parse', () => {
    const envoy = parseYaml(readFileSync(join(root, 'deploy/envoy/envoy-extproc.yaml'), 'utf8')) as { static_resources: { clusters: unknown[] } };
    expect(envoy.static_resources.clusters).toHaveLength(2);
    expect(readFileSync(join(root, 'deploy/envoy/envoy-extproc.yaml'), 'utf8')).toContain('request_body_mode: FULL_DUPLEX_STREAMED');
    const local = join(root, 'deploy/local/endpoints.yaml');
    expect(parseEndpointsFile(readFileSync(local, 'utf8'), local).map((e) => e.name)).toEqual(['vllm-0', 'vllm-1', 'vllm-dp-rank-0', 'vllm-dp-rank-1']);
  });
});
