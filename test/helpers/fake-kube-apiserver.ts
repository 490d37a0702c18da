/**
 * A fake kube-apiserver on 127.0.0.1 that speaks the real list/watch HTTP protocol, so discovery is
 * tested through the real `@kubernetes/client-node` and never through a mock of it.
 *
 * What it implements, per resource (pods, InferencePools in both groups, InferenceObjectives and
 * InferenceModelRewrites in both `llm-d.ai` and the legacy `inference.networking.x-k8s.io`, Leases):
 * - API discovery: `GET /apis/{group}/{version}` → an APIResourceList of the installed resources of
 *   that group version, 404 when none is installed (as for a CRD that is not installed);
 * - list: `GET …/namespaces/{ns}/{plural}` → `{kind: <Kind>List, metadata: {resourceVersion}, items}`;
 *   `labelSelector` (the full Kubernetes grammar, parsed with src/kube/label-selector.ts, whose
 *   fidelity to `labels.Parse` is tested on its own; 400 BadRequest when it does not parse) and
 *   `fieldSelector` (`metadata.name`, `metadata.namespace`) are honoured;
 * - watch: `?watch=true&resourceVersion=N[&allowWatchBookmarks=true]` streams chunked
 *   newline-delimited JSON events (ADDED/MODIFIED/DELETED/BOOKMARK/ERROR) newer than N. With a
 *   selector, an object that stops matching is sent as DELETED and one that starts matching as ADDED,
 *   as the real server does. A resourceVersion older than the compacted history gets 410 Gone, either
 *   as an ERROR event carrying a Status with code 410 (the real server's way) or as HTTP 410;
 * - `GET/POST/PUT` on single Leases (optimistic concurrency on `metadata.resourceVersion`, 409 on
 *   conflict) for leader election;
 * - faults: dropped watch connections, going down (503 or reset connections), uninstalled CRDs (404).
 *
 * One global resourceVersion counter orders every write, like etcd's revision.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { LabelSelectorError, matchesLabels, parseLabelSelector } from '../../src/kube/label-selector.js';

/** A resource the server knows: where it lives in the URL space and its kind. */
export interface FakeResource {
  readonly group: string; // '' = core
  readonly version: string;
  readonly plural: string;
  readonly kind: string;
}

export const PODS: FakeResource = { group: '', version: 'v1', plural: 'pods', kind: 'Pod' };
export const POOLS_V1: FakeResource = { group: 'inference.networking.k8s.io', version: 'v1', plural: 'inferencepools', kind: 'InferencePool' };
export const POOLS_V1ALPHA2: FakeResource = { group: 'inference.networking.x-k8s.io', version: 'v1alpha2', plural: 'inferencepools', kind: 'InferencePool' };
/** InferenceObjectives as llm-d-router v0.10 serves them. */
export const OBJECTIVES: FakeResource = { group: 'llm-d.ai', version: 'v1alpha2', plural: 'inferenceobjectives', kind: 'InferenceObjective' };
export const MODEL_REWRITES: FakeResource = { group: 'llm-d.ai', version: 'v1alpha2', plural: 'inferencemodelrewrites', kind: 'InferenceModelRewrite' };
/** The same kinds in the group they were served from before v0.10. */
export const LEGACY_OBJECTIVES: FakeResource = { group: 'inference.networking.x-k8s.io', version: 'v1alpha2', plural: 'inferenceobjectives', kind: 'InferenceObjective' };
export const LEGACY_MODEL_REWRITES: FakeResource = { group: 'inference.networking.x-k8s.io', version: 'v1alpha2', plural: 'inferencemodelrewrites', kind: 'InferenceModelRewrite' };
export const LEASES: FakeResource = { group: 'coordination.k8s.io', version: 'v1', plural: 'leases', kind: 'Lease' };

const ALL_RESOURCES = [PODS, POOLS_V1, POOLS_V1ALPHA2, OBJECTIVES, MODEL_REWRITES, LEGACY_OBJECTIVES, LEGACY_MODEL_REWRITES, LEASES];

/** A stored object: any JSON with `metadata.name` and `metadata.namespace`. */
export type KubeObject = Record<string, unknown> & { metadata: Record<string, unknown> & { name: string; namespace: string } };

interface StoredEvent {
  readonly rv: number;
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED';
  readonly object: KubeObject;
  /** The object before this write (for selector transitions). */
  readonly previous: KubeObject | undefined;
}

interface Watcher {
  readonly res: ServerResponse;
  readonly key: string;
  readonly namespace: string;
  readonly matches: (o: KubeObject) => boolean;
  readonly bookmarks: boolean;
}

/** One request the server saw, for assertions (e.g. that a watch resumed from a resourceVersion). */
export interface SeenRequest {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
}

/** How the server is down: 503 answers, or connections reset before any answer. */
export type DownMode = 'unavailable' | 'reset';

function keyOf(r: FakeResource): string {
  return `${r.group}/${r.version}/${r.plural}`;
}

function status(code: number, reason: string, message: string): Record<string, unknown> {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

function labelsOf(o: KubeObject): Record<string, string> {
  const labels = o.metadata.labels;
  return typeof labels === 'object' && labels !== null ? (labels as Record<string, string>) : {};
}

/** A Kubernetes label selector, or the parse error the real server answers 400 with. */
function labelMatcher(selector: string | null): ((o: KubeObject) => boolean) | string {
  if (selector === null || selector === '') return () => true;
  try {
    const parsed = parseLabelSelector(selector);
    return (o) => matchesLabels(parsed, labelsOf(o));
  } catch (err) {
    if (err instanceof LabelSelectorError) return err.message;
    throw err;
  }
}

function fieldMatcher(selector: string | null): (o: KubeObject) => boolean {
  if (selector === null || selector === '') return () => true;
  const terms = selector.split(',').map((t) => /^([^=]+)==?(.*)$/.exec(t.trim()));
  return (o) =>
    terms.every((m) => {
      if (m === null) return false;
      if (m[1] === 'metadata.name') return o.metadata.name === m[2];
      if (m[1] === 'metadata.namespace') return o.metadata.namespace === m[2];
      return false;
    });
}

export class FakeKubeApiServer {
  readonly #server: Server;
  #port = 0;
  #rv = 1000;
  /** Oldest resourceVersion a watch may still resume from; older → 410. */
  #compactedRv = 0;
  readonly #objects = new Map<string, Map<string, KubeObject>>();
  readonly #events = new Map<string, StoredEvent[]>();
  readonly #installed = new Set<string>(ALL_RESOURCES.map(keyOf));
  readonly #watchers = new Set<Watcher>();
  readonly #sockets = new Set<Socket>();
  #down: DownMode | false = false;
  /** How a too-old watch is refused: an ERROR event (real server) or HTTP 410. */
  goneMode: 'event' | 'http' = 'event';
  readonly requests: SeenRequest[] = [];
  /** TCP connections accepted (including those reset while down). */
  connections = 0;

  private constructor() {
    this.#server = createServer((req, res) => this.#handle(req, res));
    this.#server.on('connection', (socket) => {
      this.connections++;
      if (this.#down === 'reset') {
        socket.destroy();
        return;
      }
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
  }

  /** Starts a server on 127.0.0.1 at an ephemeral port. */
  static async start(): Promise<FakeKubeApiServer> {
    const s = new FakeKubeApiServer();
    await new Promise<void>((resolve) => s.#server.listen(0, '127.0.0.1', resolve));
    s.#port = (s.#server.address() as AddressInfo).port;
    return s;
  }

  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  /** The current (latest) resourceVersion. */
  get resourceVersion(): string {
    return String(this.#rv);
  }

  /** Makes a CRD answer 404 (not installed) or serve again. */
  setInstalled(resource: FakeResource, installed: boolean): void {
    if (installed) this.#installed.add(keyOf(resource));
    else this.#installed.delete(keyOf(resource));
  }

  /** Goes down (dropping open watches) or comes back up. */
  setDown(mode: DownMode | false): void {
    this.#down = mode;
    if (mode !== false) this.dropWatches();
  }

  /** Creates or replaces an object (ADDED or MODIFIED) and returns its resourceVersion. */
  apply(resource: FakeResource, object: KubeObject): string {
    const key = keyOf(resource);
    const store = this.#store(key);
    const id = `${object.metadata.namespace}/${object.metadata.name}`;
    const previous = store.get(id);
    const rv = ++this.#rv;
    const apiVersion = resource.group === '' ? resource.version : `${resource.group}/${resource.version}`;
    const stored: KubeObject = { ...object, apiVersion, kind: resource.kind, metadata: { uid: `uid-${id}`, ...object.metadata, resourceVersion: String(rv) } };
    store.set(id, stored);
    this.#record(key, { rv, type: previous === undefined ? 'ADDED' : 'MODIFIED', object: stored, previous });
    return String(rv);
  }

  /** Deletes an object (DELETED event); false if it did not exist. */
  delete(resource: FakeResource, namespace: string, name: string): boolean {
    const key = keyOf(resource);
    const store = this.#store(key);
    const id = `${namespace}/${name}`;
    const previous = store.get(id);
    if (previous === undefined) return false;
    store.delete(id);
    const rv = ++this.#rv;
    this.#record(key, { rv, type: 'DELETED', object: { ...previous, metadata: { ...previous.metadata, resourceVersion: String(rv) } }, previous });
    return true;
  }

  get(resource: FakeResource, namespace: string, name: string): KubeObject | undefined {
    return this.#store(keyOf(resource)).get(`${namespace}/${name}`);
  }

  /** Forgets the event history up to now: watches resuming from an older resourceVersion get 410. */
  compact(): void {
    this.#compactedRv = this.#rv;
    this.#events.clear();
  }

  /** Ends every open watch: `abrupt` destroys the socket mid-stream, otherwise the stream ends cleanly. */
  dropWatches(abrupt = true): void {
    for (const w of this.#watchers) {
      if (abrupt) w.res.socket?.destroy();
      else w.res.end();
    }
    this.#watchers.clear();
  }

  /** Sends every open watch an ERROR event with a 410 Status (then closes it), as after compaction. */
  expireWatches(): void {
    this.compact();
    for (const w of this.#watchers) {
      w.res.write(`${JSON.stringify({ type: 'ERROR', object: status(410, 'Expired', 'too old resource version') })}\n`);
      w.res.end();
    }
    this.#watchers.clear();
  }

  /** Sends a BOOKMARK at the current resourceVersion to watches that allow bookmarks. */
  bookmark(): void {
    for (const w of this.#watchers) {
      if (!w.bookmarks) continue;
      const r = ALL_RESOURCES.find((x) => keyOf(x) === w.key);
      w.res.write(`${JSON.stringify({ type: 'BOOKMARK', object: { kind: r?.kind, apiVersion: r?.version, metadata: { resourceVersion: String(this.#rv) } } })}\n`);
    }
  }

  /** Open watch streams (for assertions). */
  get openWatches(): number {
    return this.#watchers.size;
  }

  /** Open watch streams of one resource. */
  openWatchesOf(resource: FakeResource): number {
    let n = 0;
    for (const w of this.#watchers) if (w.key === keyOf(resource)) n++;
    return n;
  }

  /** Watch requests seen for a resource, oldest first. */
  watchRequests(resource: FakeResource): SeenRequest[] {
    return this.requests.filter((r) => r.query.get('watch') === 'true' && r.path.endsWith(`/${resource.plural}`) && r.path.includes(resource.group === '' ? '/api/v1/' : `/apis/${resource.group}/${resource.version}/`));
  }

  async close(): Promise<void> {
    this.dropWatches();
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #store(key: string): Map<string, KubeObject> {
    let store = this.#objects.get(key);
    if (store === undefined) {
      store = new Map();
      this.#objects.set(key, store);
    }
    return store;
  }

  #record(key: string, event: StoredEvent): void {
    let log = this.#events.get(key);
    if (log === undefined) {
      log = [];
      this.#events.set(key, log);
    }
    log.push(event);
    for (const w of this.#watchers) if (w.key === key) this.#send(w, event);
  }

  #send(w: Watcher, e: StoredEvent): void {
    const ns = e.object.metadata.namespace;
    if (ns !== w.namespace) return;
    const now = e.type !== 'DELETED' && w.matches(e.object);
    const before = e.previous !== undefined && w.matches(e.previous);
    let type: string | undefined;
    if (e.type === 'DELETED') type = before ? 'DELETED' : undefined;
    else if (now && before) type = 'MODIFIED';
    else if (now) type = 'ADDED';
    else if (before) type = 'DELETED';
    if (type === undefined) return;
    w.res.write(`${JSON.stringify({ type, object: e.object })}\n`);
  }

  #json(res: ServerResponse, code: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://fake');
    this.requests.push({ method: req.method ?? 'GET', path: url.pathname, query: url.searchParams });
    if (this.#down === 'reset') {
      req.socket.destroy();
      return;
    }
    if (this.#down === 'unavailable') {
      this.#json(res, 503, status(503, 'ServiceUnavailable', 'the server is currently unable to handle the request'));
      return;
    }
    const gv = /^\/apis\/([^/]+)\/([^/]+)\/?$/.exec(url.pathname);
    if (gv !== null && req.method === 'GET') {
      this.#discovery(res, gv[1] ?? '', gv[2] ?? '');
      return;
    }
    const m = /^\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))\/namespaces\/([^/]+)\/([^/]+)(?:\/([^/]+))?$/.exec(url.pathname);
    const resource = m === null ? undefined : ALL_RESOURCES.find((r) => r.plural === m[5] && (m[1] !== undefined ? r.group === '' && r.version === m[1] : r.group === m[2] && r.version === m[3]));
    if (m === null || resource === undefined || !this.#installed.has(keyOf(resource))) {
      this.#json(res, 404, status(404, 'NotFound', 'the server could not find the requested resource'));
      return;
    }
    const namespace = m[4] ?? '';
    const name = m[6];
    if (name !== undefined) {
      this.#single(req, res, resource, namespace, name);
      return;
    }
    if (req.method === 'POST') {
      this.#create(req, res, resource, namespace);
      return;
    }
    const labels = labelMatcher(url.searchParams.get('labelSelector'));
    if (typeof labels === 'string') {
      this.#json(res, 400, status(400, 'BadRequest', labels));
      return;
    }
    const fields = fieldMatcher(url.searchParams.get('fieldSelector'));
    const matches = (o: KubeObject): boolean => labels(o) && fields(o);
    if (url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1') {
      this.#watch(res, resource, namespace, matches, url.searchParams);
      return;
    }
    const items = [...this.#store(keyOf(resource)).values()].filter((o) => o.metadata.namespace === namespace && matches(o));
    const apiVersion = resource.group === '' ? resource.version : `${resource.group}/${resource.version}`;
    this.#json(res, 200, { kind: `${resource.kind}List`, apiVersion, metadata: { resourceVersion: String(this.#rv) }, items });
  }

  /** `GET /apis/{group}/{version}`: the installed resources of that group version. */
  #discovery(res: ServerResponse, group: string, version: string): void {
    const served = ALL_RESOURCES.filter((r) => r.group === group && r.version === version && this.#installed.has(keyOf(r)));
    if (served.length === 0) {
      this.#json(res, 404, status(404, 'NotFound', 'the server could not find the requested resource'));
      return;
    }
    this.#json(res, 200, {
      kind: 'APIResourceList',
      apiVersion: 'v1',
      groupVersion: `${group}/${version}`,
      resources: served.flatMap((r) => [
        { name: r.plural, singularName: r.kind.toLowerCase(), namespaced: true, kind: r.kind, verbs: ['delete', 'deletecollection', 'get', 'list', 'patch', 'create', 'update', 'watch'] },
        { name: `${r.plural}/status`, singularName: '', namespaced: true, kind: r.kind, verbs: ['get', 'patch', 'update'] },
      ]),
    });
  }

  #watch(res: ServerResponse, resource: FakeResource, namespace: string, matches: (o: KubeObject) => boolean, query: URLSearchParams): void {
    const key = keyOf(resource);
    const rvText = query.get('resourceVersion') ?? '';
    const from = rvText === '' || rvText === '0' ? undefined : Number(rvText);
    if (from !== undefined && from < this.#compactedRv) {
      if (this.goneMode === 'http') {
        this.#json(res, 410, status(410, 'Expired', `too old resource version: ${from} (${this.#compactedRv})`));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
      res.end(`${JSON.stringify({ type: 'ERROR', object: status(410, 'Expired', `too old resource version: ${from} (${this.#compactedRv})`) })}\n`);
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    const w: Watcher = { res, key, namespace, matches, bookmarks: query.get('allowWatchBookmarks') === 'true' };
    if (from === undefined) {
      // No resourceVersion: the current state as ADDED events, then changes.
      for (const o of this.#store(key).values()) if (o.metadata.namespace === namespace && matches(o)) res.write(`${JSON.stringify({ type: 'ADDED', object: o })}\n`);
    } else {
      for (const e of this.#events.get(key) ?? []) if (e.rv > from) this.#send(w, e);
    }
    this.#watchers.add(w);
    res.on('close', () => this.#watchers.delete(w));
  }

  #single(req: IncomingMessage, res: ServerResponse, resource: FakeResource, namespace: string, name: string): void {
    const current = this.get(resource, namespace, name);
    if (req.method === 'GET') {
      if (current === undefined) this.#json(res, 404, status(404, 'NotFound', `${resource.plural} "${name}" not found`));
      else this.#json(res, 200, current);
      return;
    }
    if (req.method !== 'PUT') {
      this.#json(res, 405, status(405, 'MethodNotAllowed', 'method not allowed'));
      return;
    }
    void readJson(req).then((body) => {
      if (body === undefined || body.metadata.name !== name) {
        this.#json(res, 400, status(400, 'BadRequest', 'invalid body'));
        return;
      }
      if (current === undefined) {
        this.#json(res, 404, status(404, 'NotFound', `${resource.plural} "${name}" not found`));
        return;
      }
      const rv = body.metadata.resourceVersion;
      if (rv !== undefined && rv !== '' && rv !== current.metadata.resourceVersion) {
        this.#json(res, 409, status(409, 'Conflict', 'the object has been modified; please apply your changes to the latest version and try again'));
        return;
      }
      this.apply(resource, { ...body, metadata: { ...body.metadata, namespace } });
      this.#json(res, 200, this.get(resource, namespace, name));
    });
  }

  #create(req: IncomingMessage, res: ServerResponse, resource: FakeResource, namespace: string): void {
    void readJson(req).then((body) => {
      if (body === undefined || typeof body.metadata.name !== 'string') {
        this.#json(res, 400, status(400, 'BadRequest', 'invalid body'));
        return;
      }
      if (this.get(resource, namespace, body.metadata.name) !== undefined) {
        this.#json(res, 409, status(409, 'AlreadyExists', `${resource.plural} "${body.metadata.name}" already exists`));
        return;
      }
      const { resourceVersion: _ignored, ...meta } = body.metadata;
      this.apply(resource, { ...body, metadata: { ...meta, namespace, name: body.metadata.name } });
      this.#json(res, 201, this.get(resource, namespace, body.metadata.name));
    });
  }
}

async function readJson(req: IncomingMessage): Promise<(KubeObject & { metadata: { resourceVersion?: string } }) | undefined> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  try {
    const v = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
    if (typeof v !== 'object' || v === null || typeof (v as { metadata?: unknown }).metadata !== 'object') return undefined;
    return v as KubeObject & { metadata: { resourceVersion?: string } };
  } catch {
    return undefined;
  }
}

/** A Ready pod in `namespace` with `labels`, IP `ip` (test fixture). */
export function podObject(name: string, namespace: string, labels: Record<string, string>, ip: string | undefined, extra: { ready?: boolean; deleting?: boolean; annotations?: Record<string, string> } = {}): KubeObject {
  return {
    metadata: {
      name,
      namespace,
      labels,
      ...(extra.annotations === undefined ? {} : { annotations: extra.annotations }),
      ...(extra.deleting === true ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}),
    },
    spec: { containers: [{ name: 'vllm', image: 'vllm/vllm-openai' }] },
    status: {
      phase: 'Running',
      ...(ip === undefined ? {} : { podIP: ip }),
      conditions: [{ type: 'Ready', status: extra.ready === false ? 'False' : 'True' }],
    },
  };
}
