/**
 * The real picker (`startPicker`, what `epp serve` runs) in the harness's own process, on ephemeral
 * loopback ports, for scenarios that read its internals: live streams, transport counters, the
 * datastore. Memory and CPU figures from it include the load client (same process).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PickerOptions, PickerServer } from '../../../src/app.js';
import { startTestPicker } from '../../../test/helpers/picker.js';
import { fetchMetrics, runningRequests } from './prom-text.js';

/** Writes an endpoints file listing `hostPorts` (`ip:port`) into a fresh temp dir; returns its path. */
export function writeEndpointsFile(hostPorts: readonly string[], extra = ''): string {
  const dir = mkdtempSync(join(tmpdir(), 'epp-faults-'));
  const path = join(dir, 'endpoints.yaml');
  const lines = hostPorts.map((hp) => {
    const i = hp.lastIndexOf(':');
    return `  - {address: ${hp.slice(0, i)}, port: ${hp.slice(i + 1)}}`;
  });
  writeFileSync(path, `endpoints:\n${lines.join('\n')}\n${extra}`);
  return path;
}

/** `count` endpoints on distinct loopback addresses 127.0.<block>.<1..count>:`port` (nothing listens there unless a pod is started). */
export function loopbackEndpoints(count: number, port = 8000, block = 0): string[] {
  return Array.from({ length: count }, (_, i) => `127.0.${block}.${i + 1}:${port}`);
}

export class InProcessPicker {
  private constructor(
    readonly server: PickerServer,
    readonly endpoints: ReadonlySet<string>,
  ) {}

  /** Starts the picker with the tests' defaults (plain text, ephemeral ports, silent logs; test/helpers/picker.ts). */
  static async start(overrides: Partial<PickerOptions> & Pick<PickerOptions, 'discovery'>, endpoints: readonly string[]): Promise<InProcessPicker> {
    const server = await startTestPicker({ poolName: 'faults', ...overrides });
    return new InProcessPicker(server, new Set(endpoints));
  }

  get grpcPort(): number {
    return this.server.grpcPort;
  }

  get healthAddress(): string {
    return `127.0.0.1:${this.server.grpcHealthPort}`;
  }

  /** Live ext_proc streams (sessions not yet released). */
  activeStreams(): number {
    return this.server.streams.active;
  }

  /** Live HTTP/2 streams in the transport. */
  transportStreams(): number {
    return this.server.extProc.transport.activeStreams;
  }

  /** `inference_objective_running_requests` summed over models, from /metrics. */
  async runningRequests(): Promise<number> {
    return runningRequests(await fetchMetrics(this.server.metricsPort));
  }

  stop(graceMs = 1000): Promise<void> {
    return this.server.shutdown(graceMs);
  }
}
