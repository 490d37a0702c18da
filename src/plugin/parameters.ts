import { z } from 'zod';
import { parseDuration } from '../util/duration.js';
import { decode } from '../config/decode.js';

/** Decodes a plugin's `parameters` (absent = `{}`), naming the plugin in every error. */
export function decodeParameters<S extends z.ZodType>(schema: S, parameters: unknown, type: string, name: string): z.output<S> {
  return decode(schema, parameters ?? {}, `parameters of plugin "${name}" (type ${type})`);
}

/** The pickers' shared parameter. */
export const pickerParametersSchema = z.strictObject({
  maxNumOfEndpoints: z.number().int().min(1).max(64).default(1),
});

/** For plugins that take no parameters: anything but an empty object is an error. */
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
