/**
 * The `file-discovery` plugin (`dataLayer.discovery.pluginRef`): endpoints listed in a YAML or JSON
 * file in the reference's format, loaded at start and, with `watchFile: true`, reloaded on change.
 *
 * ```yaml
 * plugins:
 * - type: file-discovery
 *   parameters: {path: /etc/epp/endpoints.yaml, watchFile: true}
 * dataLayer:
 *   discovery: {pluginRef: file-discovery}
 * ---
 * endpoints:                      # the file
 * - name: vllm-0                  # required, unique per namespace
 *   namespace: default            # optional
 *   address: 10.0.0.1             # IPv4
 *   port: "8000"                  # a string, as the reference writes it (a number is accepted too)
 *   labels: {llm-d.ai/role: decode}
 * ```
 * As in the reference: an invalid entry fails the initial load; on a reload it is reported and
 * skipped while the valid entries apply; endpoints absent from the new version are removed; files
 * over 1 MiB are refused. Fields the reference does not know are ignored with a warning (it ignores
 * them silently). `--endpoints-file` is the shorthand with this project's richer format (ports for
 * data-parallel ranks, objectives).
 */
import { isIPv4 } from 'node:net';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { EndpointSpec } from '../datastore/endpoint.js';
import type { Logger } from '../observability/logger.js';
import type { Plugin, TypedName } from '../plugin/plugin.js';
import { decodeParameters } from '../plugin/parameters.js';
import type { PluginFactory } from '../plugin/registry.js';
import { EndpointsFileSource, type LocalPool } from './endpoints-file.js';

export const FILE_DISCOVERY_TYPE = 'file-discovery';

const parametersSchema = z.strictObject({
  path: z.string().min(1, { message: "'path' parameter is required" }),
  watchFile: z.boolean().default(false),
});

const ENTRY_FIELDS = new Set(['name', 'namespace', 'address', 'port', 'labels']);
const MAX_ENTRIES = 10_000;

/** Decodes the reference's endpoints file: valid entries, and a message per invalid one. */
export function parseDiscoveryFile(text: string): { readonly endpoints: EndpointSpec[]; readonly problems: string[]; readonly ignored: string[] } {
  const raw: unknown = parseYaml(text) ?? {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error('the endpoints file must be a mapping with an `endpoints` list');
  const list: unknown = (raw as Record<string, unknown>).endpoints ?? [];
  if (!Array.isArray(list)) throw new Error('endpoints: must be a list');
  if (list.length > MAX_ENTRIES) throw new Error(`endpoints: at most ${MAX_ENTRIES} entries`);
  const endpoints: EndpointSpec[] = [];
  const problems: string[] = [];
  const ignored = Object.keys(raw).filter((k) => k !== 'endpoints');
  const seen = new Set<string>();
  list.forEach((entry: unknown, i) => {
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      problems.push(`endpoints[${i}]: must be a mapping`);
      return;
    }
    const e = entry as Record<string, unknown>;
    for (const key of Object.keys(e)) if (!ENTRY_FIELDS.has(key)) ignored.push(`endpoints[${i}].${key}`);
    const name = typeof e.name === 'string' ? e.name : '';
    const namespace = typeof e.namespace === 'string' && e.namespace !== '' ? e.namespace : 'default';
    const address = typeof e.address === 'string' ? e.address : '';
    const portText = typeof e.port === 'number' ? String(e.port) : typeof e.port === 'string' ? e.port : '';
    const port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
    const labels = e.labels ?? {};
    if (name === '') problems.push(`endpoints[${i}]: name is required`);
    else if (!isIPv4(address)) problems.push(`endpoint "${name}": invalid IPv4 address "${address}"`);
    else if (!(port >= 1 && port <= 65535)) problems.push(`endpoint "${name}": invalid port "${portText}"`);
    else if (typeof labels !== 'object' || labels === null || Array.isArray(labels) || Object.values(labels).some((v) => typeof v !== 'string'))
      problems.push(`endpoint "${name}": labels must map strings to strings`);
    else {
      // Namespace and name identify an endpoint; a later entry with the same pair replaces an earlier one.
      const id = namespace === 'default' ? name : `${namespace}/${name}`;
      if (seen.has(id)) endpoints.splice(endpoints.findIndex((x) => x.name === id), 1);
      seen.add(id);
      endpoints.push({ name: id, address, port, labels: labels as Record<string, string> });
    }
  });
  return { endpoints, problems, ignored };
}

/** A configured `file-discovery` instance; the composition root starts it in place of Kubernetes discovery. */
export class FileDiscovery implements Plugin {
  readonly typedName: TypedName;
  #source: EndpointsFileSource | undefined;

  constructor(
    name: string,
    readonly path: string,
    readonly watchFile: boolean,
  ) {
    this.typedName = { type: FILE_DISCOVERY_TYPE, name };
  }

  /** Loads the file (throws when unreadable, unparsable or holding an invalid entry) and watches it if asked. */
  start(onEndpoints: (specs: EndpointSpec[]) => void, logger: Logger, debounceMs?: number): void {
    const parse = (text: string, source: string, initial: boolean): LocalPool => {
      const file = parseDiscoveryFile(text);
      if (file.ignored.length > 0) logger.warn({ path: source, fields: file.ignored.slice(0, 20) }, 'endpoints file: unknown fields ignored');
      if (file.problems.length > 0) {
        const message = `invalid endpoints in ${source}:\n${file.problems.map((p) => `  - ${p}`).join('\n')}`;
        if (initial) throw new Error(message);
        logger.error({ path: source, problems: file.problems.slice(0, 20) }, 'endpoints file: invalid entries skipped');
      }
      return { endpoints: file.endpoints, objectives: new Map() };
    };
    this.#source = new EndpointsFileSource({
      path: this.path,
      logger,
      parse,
      watch: this.watchFile,
      onEndpoints: (specs) => onEndpoints(specs),
      ...(debounceMs === undefined ? {} : { debounceMs }),
    });
    this.#source.start();
  }

  /** Re-reads the file now (tests; the watcher calls the same). */
  reload(): void {
    this.#source?.reload();
  }

  close(): void {
    this.#source?.close();
  }
}

export function isFileDiscovery(p: Plugin): p is FileDiscovery {
  return p instanceof FileDiscovery;
}

export const fileDiscoveryFactory: PluginFactory = (name, parameters) => {
  const p = decodeParameters(parametersSchema, parameters, FILE_DISCOVERY_TYPE, name);
  return new FileDiscovery(name, p.path, p.watchFile);
};
