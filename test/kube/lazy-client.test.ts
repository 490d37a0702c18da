/**
 * `@kubernetes/client-node` (~28 MB of heap, seconds of start-up under tsx) is loaded only when
 * Kubernetes discovery starts (`await import('./kube/kubernetes-discovery.js')` in app.ts): no static
 * import chain from the CLI's entry point or any command module (each loaded when it runs) reaches it. Type-only imports and dynamic imports are not
 * chains (they load nothing at start).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = new URL('../../src/', import.meta.url).pathname;

/** Modules a file loads when it is loaded: `import … from 'x'` and `export … from 'x'`, minus `import type`. */
function staticImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/^(?:import|export)\s+(type\s+)?(?:[^'";]*?\sfrom\s+)?'([^']+)';/gms)) {
    if (m[1] === undefined && m[2] !== undefined) out.push(m[2]);
  }
  return out;
}

/** The chain of files from `entry` to a module named `target`, or undefined when none. */
function chainTo(entry: string, target: string): string[] | undefined {
  const seen = new Set<string>();
  const walk = (file: string, path: string[]): string[] | undefined => {
    if (seen.has(file)) return undefined;
    seen.add(file);
    for (const spec of staticImports(file)) {
      if (spec === target || spec.startsWith(`${target}/`)) return [...path, file, spec];
      if (!spec.startsWith('.')) continue;
      const next = resolve(dirname(file), spec.replace(/\.js$/, '.ts'));
      const found = walk(next, [...path, file]);
      if (found !== undefined) return found;
    }
    return undefined;
  };
  return walk(entry, []);
}

describe('the Kubernetes client stays lazy', () => {
  it('no static import chain from the CLI or its commands reaches @kubernetes/client-node', () => {
    const entries = [`${SRC}cli/main.ts`, ...readdirSync(`${SRC}cli/commands`).filter((f) => f.endsWith('.ts')).map((f) => `${SRC}cli/commands/${f}`)];
    expect(entries).toContain(`${SRC}cli/commands/serve.ts`);
    for (const entry of entries) expect(chainTo(entry, '@kubernetes/client-node')?.map((f) => f.replace(SRC, 'src/')), entry).toBeUndefined();
  });

  it('the check sees a real chain: discovery itself does reach the client', () => {
    expect(chainTo(`${SRC}kube/kubernetes-discovery.ts`, '@kubernetes/client-node')).toBeDefined();
  });
});
