import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPicker, type PickerOptions, type PickerServer } from '../../src/app.js';
import { silentLogger } from '../../src/observability/logger.js';

/** Writes an endpoints file into a fresh temp dir and returns its path. */
export function writeEndpointsFile(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'epp-test-'));
  const path = join(dir, 'endpoints.yaml');
  writeFileSync(path, text);
  return path;
}

/** Starts a plain-text picker on ephemeral loopback ports with test defaults. */
export function startTestPicker(overrides: Partial<PickerOptions> & Pick<PickerOptions, 'discovery'>): Promise<PickerServer> {
  return startPicker({
    host: '127.0.0.1',
    grpcPort: 0,
    grpcHealthPort: 0,
    metricsPort: 0,
    secureServing: false,
    certPath: '',
    config: 'default',
    maxRequestBodyBytes: 32 * 1024 * 1024,
    decisionTimeoutMs: 5000,
    requestBodyMode: 'full-duplex',
    disableSubsetFilter: false,
    healthChecking: false,
    refreshMetricsIntervalMs: 50,
    metricsStalenessMs: 2000,
    poolName: 'test',
    logger: silentLogger(),
    ...overrides,
  });
}
