/**
 * `epp serve` as an operator runs it: a child process with the reference's flags, driven by an
 * Envoy-like client, then stopped with SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { healthCheck } from '../helpers/health-client.js';
import { writeEndpointsFile } from '../helpers/picker.js';
import { RawExtProcClient, requestBody, requestHeaders } from '../helpers/raw-extproc-client.js';

const bin = new URL('../../bin/epp.js', import.meta.url).pathname;
let child: ChildProcess | undefined;

afterEach(() => {
  child?.kill('SIGKILL');
  child = undefined;
});

/** Starts `epp serve` and resolves with the ports from its "serving" log line. */
function serve(args: string[]): Promise<{ grpcPort: number; grpcHealthPort: number; logs: string[] }> {
  const proc = spawn(process.execPath, [bin, 'serve', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  child = proc;
  const logs: string[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`epp serve did not start: ${logs.join('\n')}`)), 15_000);
    let buffered = '';
    proc.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        logs.push(line);
        const entry = JSON.parse(line) as { msg?: string; grpcPort?: number; grpcHealthPort?: number };
        if (entry.msg === 'endpoint picker serving') {
          clearTimeout(timer);
          resolve({ grpcPort: entry.grpcPort ?? 0, grpcHealthPort: entry.grpcHealthPort ?? 0, logs });
        }
      }
    });
    proc.stderr?.on('data', (c: Buffer) => logs.push(c.toString()));
    proc.on('exit', (code) => reject(new Error(`epp serve exited ${code}: ${logs.join('\n')}`)));
  });
}

describe('epp serve (child process)', () => {
  it('routes over ext_proc with --flag value and --flag=value forms, and drains on SIGTERM', async () => {
    const file = writeEndpointsFile('endpoints:\n  - {name: vllm-0, address: 127.0.0.41, port: 8000}\n');
    const { grpcPort, grpcHealthPort, logs } = await serve([
      '--endpoints-file', file,
      '--secure-serving=false',
      '--bind-address', '127.0.0.1',
      '--grpc-port=0', '--grpc-health-port', '0', '--metrics-port=0',
      '--drain-timeout=1s',
    ]);
    expect(await healthCheck(`127.0.0.1:${grpcHealthPort}`, 'inference-extension')).toBe('SERVING');
    const client = new RawExtProcClient(`127.0.0.1:${grpcPort}`);
    const s = client.open();
    s.send(requestHeaders({ ':path': '/v1/chat/completions', 'x-request-id': 'child-1' }));
    s.send(requestBody('{"model":"m","messages":[{"role":"user","content":"hi"}]}', true));
    await s.until((x) => x.responses.length === 2);
    expect(s.responses[0]?.msg.request_headers?.response?.header_mutation?.set_headers?.[0]?.header?.raw_value?.toString()).toBe('127.0.0.41:8000');
    s.halfClose();

    const exited = new Promise<number | null>((resolve) => child?.on('exit', (code) => resolve(code)));
    child?.kill('SIGTERM');
    // As the reference: not ready, but still routing, during the drain window.
    await vi.waitFor(async () => expect(await healthCheck(`127.0.0.1:${grpcHealthPort}`, 'readiness')).toBe('NOT_SERVING'));
    const late = client.open();
    late.send(requestHeaders({ ':path': '/v1/chat/completions', 'x-request-id': 'child-2' }));
    late.send(requestBody('{"model":"m","messages":[{"role":"user","content":"hi"}]}', true));
    await late.until((x) => x.responses.length === 2);
    expect(late.responses[0]?.msg.request_headers?.response?.header_mutation?.set_headers?.[0]?.header?.raw_value?.toString()).toBe('127.0.0.41:8000');
    late.halfClose();
    client.close();
    expect(await exited).toBe(0);
    expect(logs.some((l) => l.includes('endpoint picker stopped'))).toBe(true);
  });
});
