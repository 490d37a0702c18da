import type { z } from 'zod';
import { didYouMean } from './did-you-mean.js';

/** A configuration input that failed validation; `problems` lists every error with its path. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly source: string,
    readonly problems: readonly string[],
  ) {
    super(`invalid ${source}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/** Formats a zod issue path as `a.b[2].c`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out === '' ? '(root)' : out;
}

/** The parts of zod's internal schema definition this module walks (stable across zod 4 releases). */
interface SchemaDef {
  readonly type: string;
  readonly shape?: Record<string, z.ZodType>;
  readonly innerType?: z.ZodType;
  readonly element?: z.ZodType;
  readonly valueType?: z.ZodType;
  readonly in?: z.ZodType;
  readonly options?: readonly z.ZodType[];
  readonly left?: z.ZodType;
  readonly right?: z.ZodType;
}

function defOf(schema: z.ZodType): SchemaDef {
  return (schema as unknown as { _zod: { def: SchemaDef } })._zod.def;
}

/** The object schemas `schema` may be once wrappers (optional, default, pipe, union…) are looked through. */
function objectShapes(schema: z.ZodType, depth = 0): Record<string, z.ZodType>[] {
  if (depth > 16) return [];
  const def = defOf(schema);
  if (def.type === 'object' && def.shape !== undefined) return [def.shape];
  const inner = def.innerType ?? def.in;
  if (inner !== undefined) return objectShapes(inner, depth + 1);
  if (def.options !== undefined) return def.options.flatMap((o) => objectShapes(o, depth + 1));
  if (def.left !== undefined && def.right !== undefined) return [...objectShapes(def.left, depth + 1), ...objectShapes(def.right, depth + 1)];
  return [];
}

/** The schemas the value at `path` below `schema` may be decoded with. */
function schemasAt(schema: z.ZodType, path: readonly PropertyKey[], depth = 0): z.ZodType[] {
  if (path.length === 0) return [schema];
  if (depth > 32) return [];
  const [head, ...rest] = path;
  const def = defOf(schema);
  const inner = def.innerType ?? def.in;
  if (inner !== undefined) return schemasAt(inner, path, depth + 1);
  if (def.options !== undefined) return def.options.flatMap((o) => schemasAt(o, path, depth + 1));
  if (def.left !== undefined && def.right !== undefined) return [...schemasAt(def.left, path, depth + 1), ...schemasAt(def.right, path, depth + 1)];
  if (def.type === 'array' && typeof head === 'number' && def.element !== undefined) return schemasAt(def.element, rest, depth + 1);
  if (def.type === 'record' && def.valueType !== undefined) return schemasAt(def.valueType, rest, depth + 1);
  if (def.type === 'object' && def.shape !== undefined && typeof head === 'string') {
    const field = def.shape[head];
    return field === undefined ? [] : schemasAt(field, rest, depth + 1);
  }
  return [];
}

/** Whether `schema` (looked through wrappers) is an object that accepts unknown keys (`looseObject`). */
export function acceptsUnknownFields(schema: z.ZodType, depth = 0): boolean {
  if (depth > 16) return false;
  const def = defOf(schema) as SchemaDef & { readonly catchall?: z.ZodType };
  if (def.type === 'object') return def.catchall !== undefined && defOf(def.catchall).type !== 'never';
  const inner = def.innerType ?? def.in;
  return inner !== undefined && acceptsUnknownFields(inner, depth + 1);
}

/** The field names an object decoded by `schema` at `path` accepts (empty when not an object). */
export function knownFieldsAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  return [...new Set(schemasAt(schema, path).flatMap((s) => objectShapes(s).flatMap((shape) => Object.keys(shape))))];
}

/** Every problem `schema` finds in `input`, each with its path; unknown fields get a "did you mean". */
export function decodeProblems(schema: z.ZodType, issues: readonly z.core.$ZodIssue[]): string[] {
  const problems: string[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      const known = knownFieldsAt(schema, issue.path);
      for (const key of issue.keys) problems.push(`${formatPath([...issue.path, key])}: unknown field "${key}"${didYouMean(key, known)}`);
    } else {
      problems.push(`${formatPath(issue.path)}: ${issue.message}`);
    }
  }
  return problems;
}

/** Validates `input` with `schema`, throwing a ConfigError that lists every problem with its path. */
export function decode<S extends z.ZodType>(schema: S, input: unknown, source: string): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw new ConfigError(source, decodeProblems(schema, result.error.issues));
}
