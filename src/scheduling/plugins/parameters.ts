import { z } from 'zod';
import { decode } from '../../config/decode.js';

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
