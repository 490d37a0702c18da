/**
 * Renders the chart with a real `helm template`. `HELM=/path/to/helm` or a helm on PATH is used when
 * present; otherwise the test run's global setup (test/deploy/helm-setup.ts) installs one with
 * test/deploy/install-helm.sh into node_modules/.cache/epp-helm. The chart tests never skip: without
 * helm they fail, saying why.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';

export const ROOT = new URL('../../', import.meta.url).pathname;
export const CHART = `${ROOT}deploy/helm/inferencepool`;

export function findHelm(): string | undefined {
  const candidates = [process.env.HELM, `${ROOT}node_modules/.cache/epp-helm/helm`, 'helm'].filter((c): c is string => c !== undefined && c !== '');
  for (const c of candidates) {
    if (c.includes('/') && !existsSync(c)) continue;
    if (spawnSync(c, ['version', '--short'], { stdio: 'ignore' }).status === 0) return c;
  }
  return undefined;
}

/** The helm binary, or undefined (then every chart test fails with HELM_MISSING_REASON). */
export const HELM = findHelm();
export const HELM_MISSING_REASON = 'helm not found and test/deploy/install-helm.sh could not install it (see the test run\'s first lines); set HELM or put helm on PATH';

export type Manifest = Record<string, unknown> & { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } };

const rendered = new Map<string, string>();

/**
 * `helm template RELEASE CHART -n NAMESPACE -f VALUES… --set … --api-versions …`, parsed into manifests.
 * `apiVersions` plays a cluster that serves those `group/version/Kind`s (`.Capabilities.APIVersions`).
 */
export function render(release: string, options: { namespace?: string; values?: string[]; set?: string[]; apiVersions?: string[] } = {}): Manifest[] {
  if (HELM === undefined) throw new Error(HELM_MISSING_REASON);
  const args = ['template', release, CHART, '-n', options.namespace ?? 'llm'];
  for (const v of options.values ?? []) args.push('-f', v);
  for (const s of options.set ?? []) args.push('--set', s);
  for (const a of options.apiVersions ?? []) args.push('--api-versions', a);
  const key = args.join('\0');
  let out = rendered.get(key);
  if (out === undefined) {
    out = execFileSync(HELM, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    rendered.set(key, out);
  }
  return parseManifests(out);
}

/** `helm template` expected to fail: returns its error output. */
export function renderError(release: string, set: string[]): string {
  if (HELM === undefined) throw new Error(HELM_MISSING_REASON);
  const r = spawnSync(HELM, ['template', release, CHART, '-n', 'llm', ...set.flatMap((s) => ['--set', s])], { encoding: 'utf8' });
  if (r.status === 0) throw new Error('helm template succeeded');
  return r.stderr;
}

/** Every non-empty YAML document of a multi-document text. */
export function parseManifests(text: string): Manifest[] {
  return parseAllDocuments(text)
    .map((d) => {
      if (d.errors.length > 0) throw new Error(d.errors.map((e) => e.message).join('; '));
      return d.toJSON() as unknown;
    })
    .filter((d): d is Manifest => typeof d === 'object' && d !== null);
}

export const byKind = (docs: Manifest[], kind: string): Manifest[] => docs.filter((d) => d.kind === kind);
export function one(docs: Manifest[], kind: string, name?: string): Manifest {
  const found = docs.filter((d) => d.kind === kind && (name === undefined || d.metadata.name === name));
  if (found.length !== 1) throw new Error(`expected one ${kind}${name === undefined ? '' : ` ${name}`}, found ${found.length}`);
  return found[0] as Manifest;
}

/** `helm lint --strict` output; throws when the chart fails it. */
export function lint(set: string[]): string {
  if (HELM === undefined) throw new Error(HELM_MISSING_REASON);
  return execFileSync(HELM, ['lint', '--strict', CHART, ...set.flatMap((s) => ['--set', s])], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}
