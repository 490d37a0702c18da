import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { createServer as createNetServer, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { selfSignedCertificate } from '../../../src/extproc/tls.js';
import { KeepAliveMetricsFetcher } from '../../../src/scrape/metrics-http-client.js';
import { ScrapeError } from '../../../src/scrape/scrape-error.js';
import { listen } from '../../../src/util/net.js';

const OPTIONS = { timeoutMs: 2000, maxBytes: 1 << 20 };
const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const fn of cleanup.splice(0)) fn();
});

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ url: URL; server: Server; connections: () => number }> {
  const server = createServer(handler);
  let connections = 0;
  server.on('connection', () => connections++);
  const port = await listen(server, '127.0.0.1', 0);
  cleanup.push(() => {
    server.closeAllConnections();
    server.close();
  });
  return { url: new URL(`http://127.0.0.1:${port}/metrics?name[]=a`), server, connections: () => connections };
}

function fetcher(): KeepAliveMetricsFetcher {
  const f = new KeepAliveMetricsFetcher({ insecureSkipVerify: true });
  cleanup.push(() => f.close());
  return f;
}

async function failure(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return err instanceof ScrapeError ? err.kind : `not a ScrapeError: ${String(err)}`;
  }
  return 'resolved';
}

describe('KeepAliveMetricsFetcher', () => {
  it('reads Content-Length bodies over one reused connection and sends the path with its query', async () => {
    const paths: string[] = [];
    const s = await serve((req, res) => {
      paths.push(req.url ?? '');
      res.end(`page ${paths.length}\n`);
    });
    const f = fetcher();
    for (let i = 1; i <= 5; i++) expect(await f.fetch(s.url, OPTIONS)).toBe(`page ${i}\n`);
    expect(s.connections()).toBe(1);
    expect(paths[0]).toBe('/metrics?name[]=a');
  });

  it('decodes chunked bodies, whatever the chunk boundaries', async () => {
    const s = await serve((_req, res) => {
      res.write('vllm:a 1\n');
      res.write('x'.repeat(70_000));
      res.end('\nlast 2\n');
    });
    const text = await fetcher().fetch(s.url, OPTIONS);
    expect(text.startsWith('vllm:a 1\n')).toBe(true);
    expect(text.endsWith('\nlast 2\n')).toBe(true);
    expect(text.length).toBe(9 + 70_000 + 8);
  });

  it('reads a body delimited by the end of the connection', async () => {
    const server = createNetServer((sock: Socket) => {
      sock.once('data', () => sock.end('HTTP/1.0 200 OK\r\ncontent-type: text/plain\r\n\r\nold style\n'));
    });
    const port = await listen(server, '127.0.0.1', 0);
    cleanup.push(() => server.close());
    expect(await fetcher().fetch(new URL(`http://127.0.0.1:${port}/metrics`), OPTIONS)).toBe('old style\n');
  });

  it('enforces the size cap from Content-Length and while a chunked body streams', async () => {
    const declared = await serve((_req, res) => res.end('y'.repeat(5000)));
    expect(await failure(fetcher().fetch(declared.url, { timeoutMs: 2000, maxBytes: 4096 }))).toBe('too-large');
    const streamed = await serve((_req, res) => {
      for (let i = 0; i < 10; i++) res.write('z'.repeat(1000));
      res.end();
    });
    expect(await failure(fetcher().fetch(streamed.url, { timeoutMs: 2000, maxBytes: 4096 }))).toBe('too-large');
  });

  it('classifies refused connections, non-200 answers and deadlines', async () => {
    const gone = await serve(() => undefined);
    const url = new URL(gone.url);
    gone.server.close();
    gone.server.closeAllConnections();
    expect(await failure(fetcher().fetch(url, OPTIONS))).toBe('refused');
    const notFound = await serve((_req, res) => res.writeHead(404).end('nope'));
    expect(await failure(fetcher().fetch(notFound.url, OPTIONS))).toBe('http-status');
    const silent = await serve(() => undefined);
    expect(await failure(fetcher().fetch(silent.url, { timeoutMs: 50, maxBytes: 1024 }))).toBe('timeout');
  });

  it('retries once on a fresh connection when the server closed the kept-alive one', async () => {
    let n = 0;
    const s = await serve((_req, res) => {
      n++;
      res.end(`ok ${n}`);
    });
    const f = fetcher();
    expect(await f.fetch(s.url, OPTIONS)).toBe('ok 1');
    s.server.closeIdleConnections(); // the server drops the idle keep-alive socket
    expect(await f.fetch(s.url, OPTIONS)).toBe('ok 2');
    expect(s.connections()).toBe(2);
  });

  it('scrapes HTTPS with a self-signed certificate when verification is skipped', async () => {
    const pair = await selfSignedCertificate(2048);
    const server = createTlsServer({ cert: pair.cert, key: pair.key }, (_req, res) => res.end('secure 1\n'));
    const port = await listen(server, '127.0.0.1', 0);
    cleanup.push(() => {
      server.closeAllConnections();
      server.close();
    });
    const url = new URL(`https://127.0.0.1:${port}/metrics`);
    expect(await fetcher().fetch(url, OPTIONS)).toBe('secure 1\n');
    const strict = new KeepAliveMetricsFetcher({ insecureSkipVerify: false });
    cleanup.push(() => strict.close());
    expect(await failure(strict.fetch(url, OPTIONS))).toBe('network');
  });
});
