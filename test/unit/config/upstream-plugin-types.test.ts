/**
 * Our plugin catalog held against the reference's: every type llm-d-router v0.10 registers in
 * `registerInTreePlugins` (fixture taken from its runner) is either registered here, with the same
 * stability level, or listed in `unimplemented-plugins.ts` with the issue that builds it — never
 * silently unknown. Issue 14 shrinks the second list.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { registerBuiltins } from '../../../src/builtins.js';
import { UNIMPLEMENTED_PLUGIN_TYPES } from '../../../src/config/unimplemented-plugins.js';

interface UpstreamType {
  readonly stability: string;
  readonly deprecated: boolean;
}
const upstream = (JSON.parse(readFileSync(new URL('../../fixtures/upstream-v0.10/plugin-types.json', import.meta.url), 'utf8')) as { types: Record<string, UpstreamType> }).types;
const registry = registerBuiltins();
const registered = new Set(registry.types());

describe("the reference's plugin types (v0.10 registerInTreePlugins)", () => {
  it('are each registered here or listed as not implemented yet, never both', () => {
    const unaccounted = Object.keys(upstream).filter((t) => !registered.has(t) && !UNIMPLEMENTED_PLUGIN_TYPES.has(t));
    expect(unaccounted).toEqual([]);
    expect([...registered].filter((t) => UNIMPLEMENTED_PLUGIN_TYPES.has(t))).toEqual([]);
    expect(Object.keys(upstream).length).toBeGreaterThanOrEqual(95);
  });

  it('keep their stability level, and the deprecated ones say so', () => {
    for (const [type, info] of Object.entries(upstream)) {
      if (!registered.has(type)) continue;
      const ours = registry.registration(type);
      expect(ours?.stability.toLowerCase(), type).toBe(info.stability.toLowerCase());
      if (info.deprecated) expect(ours?.deprecatedFor, `${type} is deprecated upstream`).toBeDefined();
    }
  });

  it('lists as not implemented only types the reference has (or registers elsewhere: parsers, detectors)', () => {
    const extra = [...UNIMPLEMENTED_PLUGIN_TYPES.keys()].filter((t) => !(t in upstream) && !/-parser$|-detector$|-policy$|fairness|ordering|filtering/.test(t));
    expect(extra).toEqual([]);
  });
});
