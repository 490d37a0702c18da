/**
 * Command-line flags with Go `flag` semantics, so the reference EPP's arguments work unchanged:
 * `-name` and `--name` are the same flag; values come as `--name=value` or `--name value`; booleans
 * are `--name` (true) or `--name=false` (a bare following word is never taken as a bool's value).
 * A word that belongs to no flag is a usage error (the reference's commands take no arguments), so
 * `--secure-serving false` fails instead of silently leaving TLS on.
 */
import { formatDuration, parseDuration as parseGoDuration } from '../util/duration.js';

export { formatDuration };

/** `port`: an integer in 0–65535 (0 = any free port where a command allows it). */
export type FlagKind = 'string' | 'int' | 'port' | 'bool' | 'duration' | 'list';

/** One declared flag. `list` flags may repeat and also split on commas. */
export interface FlagSpec {
  readonly name: string;
  readonly kind: FlagKind;
  readonly default?: string | number | boolean | readonly string[];
  readonly help: string;
}

/** Values by flag name: strings, numbers (int; duration in milliseconds), booleans, string lists. */
export type FlagValues = Record<string, string | number | boolean | readonly string[]>;

/** Thrown for a usage mistake; the CLI prints it with the usage text and exits 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Parses a Go duration into milliseconds; an invalid one is a usage error. */
export function parseDuration(text: string): number {
  try {
    return parseGoDuration(text);
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
}

function parseBool(name: string, text: string): boolean {
  if (/^(1|t|true|TRUE|True)$/.test(text)) return true;
  if (/^(0|f|false|FALSE|False)$/.test(text)) return false;
  throw new UsageError(`invalid boolean value "${text}" for flag --${name}`);
}

function convert(spec: FlagSpec, text: string): string | number | boolean {
  switch (spec.kind) {
    case 'bool':
      return parseBool(spec.name, text);
    case 'int': {
      if (!/^-?\d+$/.test(text)) throw new UsageError(`invalid integer "${text}" for flag --${spec.name}`);
      return Number(text);
    }
    case 'port': {
      const n = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
      if (!(n >= 0 && n <= 65535)) throw new UsageError(`invalid port "${text}" for flag --${spec.name}: want an integer from 0 to 65535`);
      return n;
    }
    case 'duration':
      return parseDuration(text);
    default:
      return text;
  }
}

/**
 * Parses `argv` against `specs`; returns values (defaults filled in) and the words after `--`.
 * Any other word that is not a flag or a flag's value is a usage error.
 */
export function parseFlags(specs: readonly FlagSpec[], argv: readonly string[]): { values: FlagValues; positional: string[]; given: ReadonlySet<string> } {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const values: FlagValues = {};
  for (const s of specs) if (s.default !== undefined) values[s.name] = s.default;
  const lists = new Map<string, string[]>();
  const positional: string[] = [];
  const given = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') throw strayWord(arg, argv[i - 1], byName);
    const body = arg.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const name = eq < 0 ? body : body.slice(0, eq);
    const spec = byName.get(name);
    if (spec === undefined) throw new UsageError(`unknown flag: ${arg.slice(0, arg.length - body.length)}${name}`);
    given.add(name);
    let text: string;
    if (eq >= 0) text = body.slice(eq + 1);
    else if (spec.kind === 'bool') text = 'true';
    else {
      const next = argv[i + 1];
      if (next === undefined) throw new UsageError(`flag needs an argument: --${name}`);
      text = next;
      i++;
    }
    if (spec.kind === 'list') {
      const list = lists.get(name) ?? [];
      list.push(...text.split(',').map((p) => p.trim()).filter((p) => p.length > 0));
      lists.set(name, list);
      values[name] = list;
    } else {
      values[name] = convert(spec, text);
    }
  }
  return { values, positional, given };
}

/** The error for a word no flag takes; after a bare bool flag, it says how to give the bool a value. */
function strayWord(word: string, previous: string | undefined, byName: ReadonlyMap<string, FlagSpec>): UsageError {
  const prevName = previous !== undefined && previous.startsWith('-') && !previous.includes('=') ? previous.replace(/^--?/, '') : undefined;
  if (prevName !== undefined && byName.get(prevName)?.kind === 'bool') {
    return new UsageError(`unexpected argument "${word}" after --${prevName}: a boolean flag takes its value as --${prevName}=${word}`);
  }
  return new UsageError(`unexpected argument "${word}": flags are written --name=value or --name value`);
}

/** Renders a usage table for `--help`. */
export function formatUsage(command: string, summary: string, specs: readonly FlagSpec[]): string {
  const rows = specs.map((s) => {
    const shown = Array.isArray(s.default) ? s.default.join(',') : s.kind === 'duration' && typeof s.default === 'number' ? formatDuration(s.default) : String(s.default);
    const def = s.default === undefined || s.default === '' || (Array.isArray(s.default) && s.default.length === 0) ? '' : ` (default ${shown})`;
    return `  --${s.name}${s.kind === 'bool' ? '' : ` ${s.kind}`}\n        ${s.help}${def}`;
  });
  return `Usage: epp ${command} [flags]\n\n${summary}\n\nFlags:\n${rows.join('\n')}\n`;
}

/** Typed accessors over parsed values; a wrong kind is a programming error, not user input. */
export class Flags {
  constructor(
    private readonly values: FlagValues,
    private readonly explicit: ReadonlySet<string> = new Set(),
  ) {}
  has(name: string): boolean {
    return this.values[name] !== undefined;
  }
  string(name: string): string {
    const v = this.values[name];
    return typeof v === 'string' ? v : '';
  }
  number(name: string): number {
    const v = this.values[name];
    if (typeof v !== 'number') throw new Error(`flag --${name} is not numeric`);
    return v;
  }
  /** True when the flag was given on the command line (not only defaulted). */
  given(name: string): boolean {
    return this.explicit.has(name);
  }
  bool(name: string): boolean {
    return this.values[name] === true;
  }
  list(name: string): readonly string[] {
    const v = this.values[name];
    return Array.isArray(v) ? (v as readonly string[]) : [];
  }
}
