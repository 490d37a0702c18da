/** Reads a V8 `.cpuprofile` (from `node --cpu-prof`) and ranks functions and modules by self time. */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
  readonly columnNumber: number;
}

interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface SelfTime {
  readonly name: string;
  readonly where: string;
  readonly selfMs: number;
  /** Share of the busy (non-idle) time. */
  readonly share: number;
}

export interface ProfileSummary {
  readonly file: string;
  readonly totalMs: number;
  readonly idleMs: number;
  readonly busyMs: number;
  readonly functions: readonly SelfTime[];
  readonly modules: readonly SelfTime[];
  /** Inclusive (self + callees) time of the project's own functions (src/, or dist/ under src/ names), recursion counted once. */
  readonly projectInclusive: readonly SelfTime[];
}

/**
 * The newest main-thread `.cpuprofile` in `dir`, or undefined. Node names them
 * `CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile`; thread 0 is the main thread (tsx's module
 * loader hooks run in a second thread that gets its own, nearly idle, profile).
 */
export function newestProfile(dir: string): string | undefined {
  let best: { file: string; main: boolean; mtime: number } | undefined;
  for (const f of readdirSync(dir)) {
    if (!f.endsWith('.cpuprofile')) continue;
    const file = join(dir, f);
    const main = /^CPU\.\d+\.\d+\.\d+\.0\.\d+\.cpuprofile$/.test(f);
    const mtime = statSync(file).mtimeMs;
    if (best === undefined || (main && !best.main) || (main === best.main && mtime > best.mtime)) best = { file, main, mtime };
  }
  return best?.file;
}

/** Groups a script URL into a module bucket: a package, the project's src/ folder, or node internals. */
function moduleOf(url: string, root: string): string {
  if (url === '') return '(native/vm)';
  if (url.startsWith('node:')) return 'node:internals';
  const path = url.startsWith('file://') ? decodeURIComponent(url.slice('file://'.length)) : url;
  const nm = path.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = path.slice(nm + '/node_modules/'.length).split('/');
    return rest[0]?.startsWith('@') === true ? `${rest[0]}/${rest[1] ?? ''}` : (rest[0] ?? path);
  }
  const rel = relative(root, path).replace(/^dist\//, 'src/');
  return rel.startsWith('..') ? path : rel.split('/').slice(0, 2).join('/');
}

export function summarizeProfile(file: string, root: string, top = 20): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  for (const n of profile.nodes) byId.set(n.id, n);
  const selfById = new Map<number, number>();
  let totalUs = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    totalUs += dt;
    selfById.set(id, (selfById.get(id) ?? 0) + dt);
  });
  const fn = new Map<string, { name: string; where: string; us: number }>();
  const mod = new Map<string, number>();
  let idleUs = 0;
  for (const [id, us] of selfById) {
    const cf = byId.get(id)?.callFrame;
    if (cf === undefined) continue;
    const name = cf.functionName === '' ? '(anonymous)' : cf.functionName;
    if (name === '(idle)') {
      idleUs += us;
      continue;
    }
    const path = cf.url.startsWith('file://') ? relative(root, decodeURIComponent(cf.url.slice('file://'.length))) : cf.url;
    const where = cf.url === '' ? '' : `${path}:${cf.lineNumber + 1}:${cf.columnNumber + 1}`;
    const key = `${name}@${where}`;
    const e = fn.get(key) ?? { name, where, us: 0 };
    e.us += us;
    fn.set(key, e);
    const m = name === '(garbage collector)' || name === '(program)' ? name : moduleOf(cf.url, root);
    mod.set(m, (mod.get(m) ?? 0) + us);
  }
  const busyUs = totalUs - idleUs;

  // Inclusive time of project functions: walk each sampled stack once, counting a function once.
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const keyOf = (cf: CallFrame): { key: string; name: string; where: string } | undefined => {
    if (!cf.url.startsWith('file://')) return undefined;
    // dist/ (compiled runs) is reported under the src/ names it was built from.
    const path = relative(root, decodeURIComponent(cf.url.slice('file://'.length))).replace(/^dist\//, 'src/').replace(/\.js$/, '.ts');
    if (!path.startsWith('src/')) return undefined;
    const name = cf.functionName === '' ? '(anonymous)' : cf.functionName;
    return { key: `${name}@${path}`, name, where: path };
  };
  const incl = new Map<string, { name: string; where: string; us: number }>();
  for (const [id, us] of selfById) {
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const cf = byId.get(cur)?.callFrame;
      const k = cf === undefined ? undefined : keyOf(cf);
      if (k === undefined || seen.has(k.key)) continue;
      seen.add(k.key);
      const e = incl.get(k.key) ?? { name: k.name, where: k.where, us: 0 };
      e.us += us;
      incl.set(k.key, e);
    }
  }
  const rank = (entries: { name: string; where: string; us: number }[]): SelfTime[] =>
    entries
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((e) => ({ name: e.name, where: e.where, selfMs: e.us / 1000, share: busyUs > 0 ? e.us / busyUs : 0 }));
  return {
    file,
    totalMs: totalUs / 1000,
    idleMs: idleUs / 1000,
    busyMs: busyUs / 1000,
    functions: rank([...fn.values()]),
    modules: rank([...mod.entries()].map(([name, us]) => ({ name, where: '', us }))),
    projectInclusive: rank([...incl.values()]),
  };
}
