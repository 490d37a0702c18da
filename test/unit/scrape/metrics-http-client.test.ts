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

/** A server streaming `total` bytes of metrics text in 64 KiB writes, honouring backpressure; counts what the kernel took. */
async function streamingServer(total: number, framing: 'chunked' | 'close' | 'content-length'): Promise<{ url: URL; written: () => number; finished: () => boolean }> {
  let written = 0;
  let finished = false;
  const block = Buffer.from('vllm:num_requests_waiting{engine="0"} 0.0\n'.repeat(1560)); // ~64 KiB
  const s = await serve((_req, res) => {
    if (framing === 'content-length') res.setHeader('content-length', total);
    if (framing === 'close') {
      res.setHeader('connection', 'close');
      res.useChunkedEncodingByDefault = false; // the body ends with the connection
    }
    res.writeHead(200, { 'content-type': 'text/plain' });
    const pump = (): void => {
      while (written < total) {
        const chunk = block.subarray(0, Math.min(block.length, total - written));
        written += chunk.length;
        if (!res.write(chunk)) {
          res.once('drain', pump);
          return;
        }
      }
      finished = true;
      res.end();
    };
    res.on('close', () => res.removeAllListeners('drain'));
    pump();
  });
  return { url: s.url, written: () => written, finished: () => finished };
}

describe('KeepAliveMetricsFetcher against misbehaving servers', () => {
  it('fails a connection reset as a network error, also after retrying a reused connection', async () => {
    let n = 0;
    const s = await serve((req, res) => {
      if (++n === 1) res.end('vllm:a 1\n');
      else req.socket.resetAndDestroy();
    });
    const f = fetcher();
    expect(await f.fetch(s.url, OPTIONS)).toBe('vllm:a 1\n');
    expect(await failure(f.fetch(s.url, OPTIONS))).toBe('network');
    expect(n).toBe(3); // the reused connection's failure was retried once on a fresh one
    expect(await failure(f.fetch(s.url, OPTIONS))).toBe('network');
  });

  it('fails a 500 (and any non-200) without reading its body, and an answer that is not HTTP', async () => {
    const error = await serve((_req, res) => res.writeHead(500).end('x'.repeat(100_000)));
    expect(await failure(fetcher().fetch(error.url, OPTIONS))).toBe('http-status');
    const noContent = await serve((_req, res) => res.writeHead(204).end());
    expect(await failure(fetcher().fetch(noContent.url, OPTIONS))).toBe('http-status');
    const raw = createNetServer((sock: Socket) => {
      sock.on('error', () => undefined); // the client hangs up on it
      sock.once('data', () => sock.write('\u0000\u00ffgarbage\r\n\r\nmore'));
    });
    const port = await listen(raw, '127.0.0.1', 0);
    cleanup.push(() => raw.close());
    expect(await failure(fetcher().fetch(new URL(`http://127.0.0.1:${port}/metrics`), OPTIONS))).toBe('network');
  });

  it('gives up on a never-ending header block at 64 KiB', async () => {
    const raw = createNetServer((sock: Socket) => {
      sock.on('error', () => undefined);
      sock.once('data', () => sock.write(`HTTP/1.1 200 OK\r\nx-filler: ${'y'.repeat(200_000)}`));
    });
    const port = await listen(raw, '127.0.0.1', 0);
    cleanup.push(() => raw.close());
    expect(await failure(fetcher().fetch(new URL(`http://127.0.0.1:${port}/metrics`), OPTIONS))).toBe('network');
  });

  it.each(['chunked', 'close', 'content-length'] as const)('abandons a 50 MB page (%s) at the size cap while it streams, never buffering it whole', async (framing) => {
    const cap = 1 << 20;
    const s = await streamingServer(50_000_000, framing);
    const f = fetcher();
    const before = process.memoryUsage().arrayBuffers;
    expect(await failure(f.fetch(s.url, { timeoutMs: 10_000, maxBytes: cap }))).toBe('too-large');
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(32 * cap);
    // The server could hand the kernel no more than the cap plus the sockets' buffers before the
    // client hung up (a declared length is refused before reading the body at all).
    expect(s.finished()).toBe(false);
    expect(s.written()).toBeLessThan(cap + 24 * 1024 * 1024);
    // The connection was dropped: the next scrape opens a fresh one and fails the same way.
    expect(await failure(f.fetch(s.url, { timeoutMs: 10_000, maxBytes: cap }))).toBe('too-large');
  });
});
