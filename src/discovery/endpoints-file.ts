/**
 * Local discovery: endpoints listed in a YAML (or JSON) file, reloaded when the file changes.
 *
 * ```yaml
 * endpoints:
 *   - name: vllm-0            # optional; default address:port
 *     address: 127.0.0.1
 *     port: 8001              # or ports: [8001, 8002] — one endpoint per port (data-parallel ranks)
 *     labels: {llm-d.ai/role: decode}
 * objectives:                 # optional: priority by x-gateway-inference-objective (InferenceObjective)
 *   - {name: batch, priority: -1}
 * ```
 * With several ports and a name, endpoints are named `<name>-rank-<i>` as the reference names the
 * ranks of a pod. A file that fails to parse on reload is reported and the last good set is kept.
 */
import { watch, readFileSync, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { isIP } from 'node:net';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { decode } from '../config/decode.js';
import type { EndpointSpec } from '../datastore/endpoint.js';
import type { Logger } from '../observability/logger.js';

const port = z.number().int().min(1).max(65535);

const entrySchema = z
  .strictObject({
    name: z.string().min(1).max(253).optional(),
    address: z.string().refine((a) => isIP(a) !== 0, { message: 'must be an IPv4 or IPv6 address' }),
    port: port.optional(),
    ports: z.array(port).min(1).max(8).optional(),
    labels: z.record(z.string(), z.string()).default({}),
  })
  .refine((e) => (e.port === undefined) !== (e.ports === undefined), { message: 'set exactly one of port or ports' })
  .refine((e) => e.ports === undefined || new Set(e.ports).size === e.ports.length, { message: 'ports must be unique', path: ['ports'] });

const fileSchema = z.strictObject({
  // An empty YAML list is often written as a bare key (`endpoints:`), which parses as null.
  endpoints: z
    .array(entrySchema)
    .nullish()
    .transform((v) => v ?? []),
  /** Local stand-in for InferenceObjective resources: priority by objective name. */
  objectives: z
    .array(z.strictObject({ name: z.string().min(1), priority: z.number().int().min(-2147483648).max(2147483647).default(0) }))
    .nullish()
    .transform((v) => v ?? []),
});

/** What an endpoints file declares. */
export interface LocalPool {
  readonly endpoints: EndpointSpec[];
  readonly objectives: ReadonlyMap<string, number>;
}

/** Parses the endpoints file's text into endpoint specs (throws ConfigError listing every problem). */
export function parseEndpointsFile(text: string, source: string): EndpointSpec[] {
  return parseLocalPool(text, source).endpoints;
}

/** Parses an endpoints file: endpoints and objectives (throws, listing every problem). */
export function parseLocalPool(text: string, source: string): LocalPool {
  let raw: unknown;
  try {
    raw = parseYaml(text) ?? {};
  } catch (err) {
    throw new Error(`invalid ${source}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  const file = decode(fileSchema, raw, source);
  const specs: EndpointSpec[] = [];
  const names = new Set<string>();
  const problems: string[] = [];
  file.endpoints.forEach((e, i) => {
    const ports = e.ports ?? (e.port === undefined ? [] : [e.port]);
    ports.forEach((p, rank) => {
      const name = e.name === undefined ? `${e.address}:${p}` : ports.length > 1 ? `${e.name}-rank-${rank}` : e.name;
      if (names.has(name)) problems.push(`endpoints[${i}]: duplicate endpoint name "${name}"`);
      names.add(name);
      specs.push({ name, address: e.address, port: p, labels: e.labels });
    });
  });
  const objectives = new Map<string, number>();
  file.objectives.forEach((o, i) => {
    if (objectives.has(o.name)) problems.push(`objectives[${i}]: duplicate objective "${o.name}"`);
    objectives.set(o.name, o.priority);
  });
  if (problems.length > 0) throw new Error(`invalid ${source}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  return { endpoints: specs, objectives };
}

export interface EndpointsFileSourceOptions {
  readonly path: string;
  readonly onEndpoints: (specs: EndpointSpec[], objectives: ReadonlyMap<string, number>) => void;
  readonly logger: Logger;
  /** Quiet period after a change event before re-reading (editors write in several steps). */
  readonly debounceMs?: number;
  /** Reads the file's text (default: `parseLocalPool`, this module's format); throws when invalid. */
  readonly parse?: (text: string, source: string, initial: boolean) => LocalPool;
  /** Watch the file and reload on change (default true); false loads it once. */
  readonly watch?: boolean;
  /** Larger files are refused (default 1 MiB). */
  readonly maxBytes?: number;
}

/** Endpoints files larger than this are refused, as the reference refuses them. */
export const MAX_ENDPOINTS_FILE_BYTES = 1024 * 1024;

/** Watches an endpoints file and pushes each valid version to `onEndpoints`. */
export class EndpointsFileSource {
  readonly #path: string;
  #watcher: FSWatcher | undefined;
  #timer: NodeJS.Timeout | undefined;
  #lastText: string | undefined;

  constructor(private readonly options: EndpointsFileSourceOptions) {
    this.#path = resolve(options.path);
  }

  /** Loads the file once (throws if it is missing or invalid) and, unless `watch` is false, starts watching it. */
  start(): void {
    this.#load(true);
    if (this.options.watch === false) return;
    // Watch the directory, not the file: editors and `kubectl cp`-style tools replace files by rename,
    // which ends a watch on the old inode.
    const name = basename(this.#path);
    this.#watcher = watch(dirname(this.#path), { persistent: false }, (_event, changed) => {
      if (changed !== null && changed !== name) return;
      clearTimeout(this.#timer);
      this.#timer = setTimeout(() => this.reload(), this.options.debounceMs ?? 100);
    });
    this.#watcher.on('error', (err) => this.options.logger.error({ err, path: this.#path }, 'endpoints file watch failed'));
  }

  /** Re-reads the file now; an invalid or unreadable file is logged and the last good set kept. */
  reload(): void {
    try {
      this.#load(false);
    } catch (err) {
      this.options.logger.error({ err: err instanceof Error ? err.message : String(err), path: this.#path }, 'endpoints file reload failed; keeping the previous endpoints');
    }
  }

  close(): void {
    clearTimeout(this.#timer);
    this.#watcher?.close();
    this.#watcher = undefined;
  }

  #load(initial: boolean): void {
    const bytes = readFileSync(this.#path);
    const maxBytes = this.options.maxBytes ?? MAX_ENDPOINTS_FILE_BYTES;
    if (bytes.length > maxBytes) throw new Error(`endpoints file ${this.#path} is larger than ${maxBytes} bytes`);
    const text = bytes.toString('utf8');
    if (!initial && text === this.#lastText) return;
    const pool = (this.options.parse ?? parseLocalPool)(text, this.#path, initial);
    this.#lastText = text;
    this.options.onEndpoints(pool.endpoints, pool.objectives);
    this.options.logger.info({ path: this.#path, endpoints: pool.endpoints.length, objectives: pool.objectives.size }, 'endpoints loaded');
  }
}
