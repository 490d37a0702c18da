import { z } from 'zod';
import { parseDuration } from '../util/duration.js';
import { acceptsUnknownFields, decode, knownFieldsAt } from '../config/decode.js';
import { didYouMean } from '../config/did-you-mean.js';

/**
 * Warnings about parameters the reference accepts without acting on them. Plugin factories run
 * synchronously inside `collectParameterWarnings`, which is how a warning reaches the loader without
 * every factory taking a logger.
 */
let warningSink: string[] | undefined;

/** Runs `build` and returns what it built with the parameter warnings raised meanwhile. */
export function collectParameterWarnings<T>(build: () => T): { readonly value: T; readonly warnings: readonly string[] } {
  const outer = warningSink;
  const warnings: string[] = [];
  warningSink = warnings;
  try {
    return { value: build(), warnings };
  } finally {
    warningSink = outer;
  }
}

function warn(message: string): void {
  warningSink?.push(message);
}

/** Raises a start-up warning about a plugin's parameters from inside its factory (e.g. a deprecated name it still maps). */
export function warnParameter(type: string, name: string, message: string): void {
  warn(`parameters of plugin "${name}" (type ${type}): ${message}`);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Top-level parameter names that differ from a known one only in case are renamed to it, as Go's
 * `encoding/json` matches field names case-insensitively (the reference accepts `blocksize` for
 * `blockSize`); each rename is warned about.
 */
function foldCase(schema: z.ZodType, parameters: unknown, label: string): unknown {
  if (!isPlainObject(parameters)) return parameters;
  const known = knownFieldsAt(schema, []);
  if (known.length === 0) return parameters;
  let out: Record<string, unknown> | undefined;
  for (const key of Object.keys(parameters)) {
    if (known.includes(key)) continue;
    const match = known.find((k) => k.toLowerCase() === key.toLowerCase());
    if (match === undefined || match in parameters) continue;
    out ??= { ...parameters };
    out[match] = out[key];
    delete out[key];
    warn(`${label}: parameter "${key}" read as "${match}" (names are case-sensitive here; the reference matches them case-insensitively)`);
  }
  return out ?? parameters;
}

/**
 * Plugin types whose reference factories never read their parameters (v0.10: the factory ignores its
 * decoder), so anything configured for them is accepted there. Here it is accepted with a warning.
 */
const REFERENCE_IGNORES_PARAMETERS: ReadonlySet<string> = new Set([
  'openai-parser',
  'passthrough-parser',
  'decode-filter',
  'prefill-filter',
  'encode-filter',
  'always-disagg-pd-decider',
  'single-profile-handler',
  'kv-cache-utilization-scorer',
  'lora-affinity-scorer',
  'queue-scorer',
  'running-requests-size-scorer',
]);

/**
 * Decodes a plugin's `parameters` (absent = `{}`), naming the plugin in every error. Unknown
 * parameters are errors with a "did you mean", as the reference's strict decoder rejects them. A
 * plugin that takes none (`noParametersSchema`) refuses any, except the types whose reference
 * factory ignores its parameters: those get a warning instead.
 */
export function decodeParameters<S extends z.ZodType>(schema: S, parameters: unknown, type: string, name: string): z.output<S> {
  const label = `parameters of plugin "${name}" (type ${type})`;
  if ((schema as z.ZodType) === noParametersSchema && REFERENCE_IGNORES_PARAMETERS.has(type)) {
    if (parameters !== undefined && parameters !== null && !(isPlainObject(parameters) && Object.keys(parameters).length === 0)) {
      const keys = isPlainObject(parameters) ? Object.keys(parameters).map((k) => `"${k}"`).join(', ') : JSON.stringify(parameters);
      warn(`${label}: ignored (${keys}): this plugin takes no parameters`);
    }
    return decode(schema, {}, label);
  }
  const folded = foldCase(schema, parameters ?? {}, label);
  // A plugin that accepts parameters it does not know still gets them named, so a typo is seen.
  if (isPlainObject(folded) && acceptsUnknownFields(schema)) {
    const known = knownFieldsAt(schema, []);
    for (const key of Object.keys(folded)) if (!known.includes(key)) warn(`${label}: parameter "${key}" is not used by this plugin and is ignored${didYouMean(key, known)}`);
  }
  return decode(schema, folded, label);
}

/** The pickers' shared parameter. */
export const pickerParametersSchema = z.strictObject({
  maxNumOfEndpoints: z.number().int().min(1).max(64).default(1),
});

/** For plugins that take no parameters (see decodeParameters for the ones that ignore them with a warning). */
export const noParametersSchema = z.strictObject({});

/** A Go-style duration string (`200ms`, `1s`) decoded to milliseconds. */
export const durationSchema = z.string().transform((text, ctx) => {
  try {
    return parseDuration(text);
  } catch {
    ctx.addIssue({ code: 'custom', message: `invalid duration "${text}"` });
    return z.NEVER;
  }
});
