/**
 * `featureGates`: entries are `name` (on) or `name=<bool>`, with the reference's gate names and
 * defaults. An unknown gate or an unreadable value is an error, as in the reference.
 */
import { didYouMean } from './did-you-mean.js';

export const FLOW_CONTROL_GATE = 'flowControl';
export const HA_POPULATE_NON_LEADER_DATASTORE_GATE = 'haPopulateNonLeaderDatastore';

/** Registered gates and their defaults (reference v0.10, `cmd/epp/runner`). */
export const FEATURE_GATE_DEFAULTS: ReadonlyMap<string, boolean> = new Map([
  [FLOW_CONTROL_GATE, false],
  [HA_POPULATE_NON_LEADER_DATASTORE_GATE, true],
]);

/** Gates the reference dropped, with why; naming one is still an error there and here. */
const REMOVED_GATES: ReadonlyMap<string, string> = new Map([['dataLayer', 'the data layer is always on since the reference removed this gate']]);

/** Go's strconv.ParseBool after the reference lower-cases and trims the value. */
function parseGoBool(text: string): boolean | undefined {
  const v = text.trim().toLowerCase();
  if (v === '1' || v === 't' || v === 'true') return true;
  if (v === '0' || v === 'f' || v === 'false') return false;
  return undefined;
}

/** Every gate's value (defaults overridden by `entries`) and the problems found, each with its path. */
export function resolveFeatureGates(entries: readonly string[]): { readonly gates: ReadonlyMap<string, boolean>; readonly problems: string[] } {
  const gates = new Map(FEATURE_GATE_DEFAULTS);
  const problems: string[] = [];
  entries.forEach((entry, i) => {
    const [name = '', value, ...rest] = entry.split('=');
    const at = `featureGates[${i}]`;
    if (!FEATURE_GATE_DEFAULTS.has(name)) {
      const removed = REMOVED_GATES.get(name);
      problems.push(`${at}: feature gate "${name}" is unknown or unregistered${removed === undefined ? didYouMean(name, FEATURE_GATE_DEFAULTS.keys()) : ` (${removed})`} (known: ${[...FEATURE_GATE_DEFAULTS.keys()].join(', ')})`);
      return;
    }
    const parsed = value === undefined ? true : rest.length > 0 ? undefined : parseGoBool(value);
    if (parsed === undefined) {
      problems.push(`${at}: "${entry.slice(name.length + 1)}" is not a valid value for the feature gate ${name} (use true or false)`);
      return;
    }
    gates.set(name, parsed);
  });
  return { gates, problems };
}
