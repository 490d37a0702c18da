/**
 * A child process serving one static /metrics page on N loopback endpoints (127.0.1.x:8000..), the
 * scrape targets of bench/scrape/collector.ts. Prints "ready" when all listen.
 * Usage: tsx bench/scrape/metrics-farm.ts --endpoints N --page FILE
 */
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { endpoints: { type: 'string', default: '256' }, page: { type: 'string' } } });
const text = readFileSync(values.page ?? '', 'utf8');
const page = Buffer.from(text);
const n = Number(values.endpoints);
let served = 0;
// Honours prometheus_client's `name[]` filter like vLLM does: only the listed families.
const filtered = new Map<string, Buffer>();
function pageFor(url: string): Buffer {
  const q = url.indexOf('?');
  if (q < 0) return page;
  let cached = filtered.get(url);
  if (cached === undefined) {
    const names = new Set(new URLSearchParams(url.slice(q + 1)).getAll('name[]'));
    const keep = text.split('\n').filter((line) => {
      const name = line.startsWith('# ') ? (line.split(' ')[2] ?? '') : (line.split(/[{ ]/)[0] ?? '');
      return names.has(name);
    });
    cached = Buffer.from(`${keep.join('\n')}\n`);
    filtered.set(url, cached);
  }
  return cached;
}
const server = createServer((req, res) => {
  served++;
  const body = pageFor(req.url ?? '/');
  res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'content-length': body.length });
  res.end(body);
});
server.keepAliveTimeout = 60_000;
// One server, many addresses: each endpoint is its own 127.0.1.x (and port), like distinct pods.
const listens: Promise<void>[] = [];
for (let i = 0; i < n; i++) {
  const host = `127.0.${1 + Math.floor(i / 250)}.${1 + (i % 250)}`;
  const s = createServer(server.listeners('request')[0] as Parameters<typeof createServer>[0]);
  s.keepAliveTimeout = 60_000;
  listens.push(new Promise((r) => s.listen(8000, host, () => r())));
}
await Promise.all(listens);
process.stdout.write('ready\n');
setInterval(() => process.stdout.write(`served ${served}\n`), 1000).unref();
process.on('SIGTERM', () => process.exit(0));
