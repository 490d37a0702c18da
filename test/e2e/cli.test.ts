/** The `epp` command as a user runs it: exit codes and messages for bad input. */
import { execFile } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { writeEndpointsFile } from '../helpers/picker.js';

const bin = new URL('../../bin/epp.js', import.meta.url).pathname;

function epp(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { timeout: 20_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
      resolve({ code, stdout, stderr });
    });
  });
}

describe('epp CLI', () => {
  it('lists commands and prints per-command flags', async () => {
    const top = await epp(['help']);
    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(/serve[\s\S]*gateway[\s\S]*mock-vllm[\s\S]*demo/);
    const serve = await epp(['serve', '--help']);
    expect(serve.stdout).toContain('--grpc-port port');
  });

  it('exits 2 with a clear message on usage errors', async () => {
    const r = await epp(['serve', '--no-such-flag']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown flag: --no-such-flag');
    const missing = await epp(['serve', '--secure-serving=false']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--endpoints-file');
  });

  it('exits 2 for a stray word after a bool flag, a bad port, and the removed pd-sidecar --connector', async () => {
    const [stray, port, connector] = await Promise.all([epp(['serve', '--secure-serving', 'false']), epp(['serve', '--grpc-port=99999']), epp(['pd-sidecar', '--connector=nixlv2'])]);
    // A bool given a separate word used to leave TLS on silently; now it is a usage error that shows the fix.
    expect(stray.code).toBe(2);
    expect(stray.stderr).toContain('a boolean flag takes its value as --secure-serving=false');
    expect(port.code).toBe(2);
    expect(port.stderr).toContain('invalid port "99999" for flag --grpc-port');
    expect(connector.code).toBe(2);
    expect(connector.stderr).toContain('--connector was removed in llm-d v0.10: use --kv-connector');
  }, 60_000);

  it('stops start-up listing every config problem with its path', async () => {
    const r = await epp([
      'serve',
      '--secure-serving=false',
      `--endpoints-file=${writeEndpointsFile('endpoints: []\n')}`,
      '--config-text',
      'apiVersion: llm-d.ai/v1alpha1\nkind: EndpointPickerConfig\nplugins:\n- type: bogus\n- type: max-score-picker\n  parameters: {maxNumOfEndpoints: -1}\n',
      '--grpc-port=0',
      '--grpc-health-port=0',
      '--metrics-port=0',
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('plugins[0].type: unknown plugin type "bogus"');
    expect(r.stderr).toContain('plugins[1].parameters');
  });
});
