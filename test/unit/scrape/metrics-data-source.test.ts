import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createTlsServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import type { TLSSocket } from 'node:tls';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { Endpoint } from '../../../src/datastore/endpoint.js';
import { silentLogger } from '../../../src/observability/logger.js';
import type { MetricsDataSource} from '../../../src/scrape/data-layer-plugins.js';
import { metricsDataSourceFactory } from '../../../src/scrape/data-layer-plugins.js';
import { BUILTIN_ENGINE_SPECS, compileEngineConfig } from '../../../src/scrape/engine-config.js';
import { MetricsCollector, SYSTEM_CLOCK } from '../../../src/scrape/metrics-collector.js';
import { ScrapeError, type FetchOptions, type MetricsFetcher } from '../../../src/scrape/scrape-error.js';
import { listen } from '../../../src/util/net.js';
import { testPki, type TestPki } from '../../helpers/test-pki.js';
import { configProblems } from '../../helpers/config-problems.js';

const CONTEXT = { random: () => 0.5 };
const source = (parameters: unknown): MetricsDataSource => metricsDataSourceFactory('metrics-data-source', parameters, CONTEXT) as MetricsDataSource;

const problems = configProblems;

describe('metrics-data-source interval', () => {
  it('defaults to every --refresh-metrics-interval tick', () => {
    expect(source({}).intervalMs(50)).toBe(50);
    expect(source({ interval: '0s' }).intervalMs(200)).toBe(200);
  });

  it('rounds a longer interval to the nearest multiple of the base tick, and takes a shorter one as is (not below 50 ms)', () => {
    expect(source({ interval: '1s' }).intervalMs(50)).toBe(1000);
    expect(source({ interval: '120ms' }).intervalMs(50)).toBe(100); // 2.4 ticks → 2
    expect(source({ interval: '130ms' }).intervalMs(50)).toBe(150); // 2.6 ticks → 3
    expect(source({ interval: '100ms' }).intervalMs(200)).toBe(100);
    expect(source({ interval: '10ms' }).intervalMs(200)).toBe(50);
  });

  it('rejects what is not a duration', () => {
    expect(problems(() => source({ interval: 'often' }))[0]).toMatch(/interval/);
    expect(problems(() => source({ interval: 5 }))[0]).toMatch(/interval/);
  });
});

/** A fetcher recording the URLs asked for and answering an empty page. */
class RecordingFetcher implements MetricsFetcher {
  readonly urls: string[] = [];
  fetch(url: URL, _options: FetchOptions): Promise<string> {
    this.urls.push(url.href);
    return Promise.resolve('');
  }
  forget(): void {}
  close(): void {}
}

describe('metrics-data-source port', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('scrapes the configured port instead of each endpoint’s serving port', () => {
    const fetcher = new RecordingFetcher();
    const s = source({ port: 9090, path: '/stats' });
    const collector = new MetricsCollector({
      intervalMs: s.intervalMs(50),
      stalenessMs: 2000,
      timeoutMs: 1000,
      maxBytes: 1 << 20,
      maxBackoffMs: 1000,
      scheme: s.parameters.scheme,
      path: s.parameters.path,
      port: s.parameters.port,
      nameFilter: false,
      fetcher,
      engineFor: () => compileEngineConfig(BUILTIN_ENGINE_SPECS[0] ?? { name: 'vllm' }),
      clock: SYSTEM_CLOCK,
      logger: silentLogger(),
    });
    collector.sync([new Endpoint('a', '10.0.0.1', 8000, {}), new Endpoint('b', '10.0.0.2', 8001, {})]);
    expect(fetcher.urls).toEqual(['http://10.0.0.1:9090/stats', 'http://10.0.0.2:9090/stats']);
    collector.stop();
  });

  it('must be a port number', () => {
    expect(source({}).parameters.port).toBeUndefined();
    expect(problems(() => source({ port: 0 }))[0]).toMatch(/port/);
    expect(problems(() => source({ port: 65536 }))[0]).toMatch(/port/);
    expect(problems(() => source({ port: '9090' }))[0]).toMatch(/port/);
  });
});

describe('metrics-data-source TLS (a local https server with its own CA)', () => {
  let pki: TestPki;
  let dir: string;
  let server: Server;
  let url: URL;
  const file = (name: string, text: string): string => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  beforeAll(async () => {
    pki = await testPki();
    dir = mkdtempSync(join(tmpdir(), 'epp-mtls-'));
    // The model server's metrics port: its certificate is signed by the CA, and it demands a client certificate from the same CA.
    server = createTlsServer({ cert: pki.server.cert, key: pki.server.key, ca: pki.ca, requestCert: true, rejectUnauthorized: true }, (req, res) => {
      const cn = (req.socket as TLSSocket).getPeerCertificate().subject.CN;
      res.end(`vllm:num_requests_waiting{client="${String(cn)}"} 1\n`);
    });
    const port = await listen(server, '127.0.0.1', 0);
    url = new URL(`https://127.0.0.1:${port}/metrics`);
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function scrape(parameters: Record<string, unknown>): Promise<string> {
    const fetcher = source({ scheme: 'https', ...parameters }).createFetcher();
    try {
      return await fetcher.fetch(url, { timeoutMs: 5000, maxBytes: 1 << 20 });
    } catch (err) {
      return err instanceof ScrapeError ? `failed: ${err.kind}` : `failed: ${String(err)}`;
    } finally {
      fetcher.close();
    }
  }

  it('verifies the server against caCertPath and authenticates with the client certificate (mTLS)', async () => {
    const mtls = { insecureSkipVerify: false, caCertPath: file('ca.pem', pki.ca), clientCertPath: file('tls.crt', pki.client.cert), clientKeyPath: file('tls.key', pki.client.key) };
    expect(await scrape(mtls)).toBe('vllm:num_requests_waiting{client="epp"} 1\n');
  });

  it('without a client certificate the server refuses the scrape', async () => {
    expect(await scrape({ insecureSkipVerify: false, caCertPath: file('ca.pem', pki.ca) })).toMatch(/^failed/);
  });

  it('a server certificate from another CA fails verification; insecureSkipVerify (the default) ignores the CA, as the reference does', async () => {
    const client = { clientCertPath: file('tls.crt', pki.client.cert), clientKeyPath: file('tls.key', pki.client.key) };
    const other = file('other-ca.pem', pki.otherCa);
    expect(await scrape({ insecureSkipVerify: false, caCertPath: other, ...client })).toMatch(/^failed/);
    expect(await scrape({ caCertPath: other, ...client })).toMatch(/client="epp"/);
    // Verification on without a CA uses the system roots, which do not know the test CA.
    expect(await scrape({ insecureSkipVerify: false, ...client })).toMatch(/^failed/);
  });

  it('reports unreadable, malformed, half-given or mismatched certificate files at load, each with its parameter', () => {
    expect(problems(() => source({ scheme: 'https', insecureSkipVerify: false, caCertPath: join(dir, 'missing.pem') }))[0]).toMatch(/^caCertPath: cannot read .*missing\.pem/);
    expect(problems(() => source({ scheme: 'https', insecureSkipVerify: false, caCertPath: file('junk.pem', 'not a certificate') }))[0]).toMatch(/^caCertPath: no PEM certificate/);
    expect(problems(() => source({ scheme: 'https', clientCertPath: file('tls.crt', pki.client.cert) }))[0]).toMatch(/^clientKeyPath: .*set together/);
    expect(problems(() => source({ scheme: 'https', clientCertPath: file('tls.crt', pki.client.cert), clientKeyPath: file('wrong.key', pki.server.key) }))[0]).toMatch(/^clientCertPath: cannot load/);
    // All at once.
    expect(problems(() => source({ scheme: 'https', insecureSkipVerify: false, caCertPath: join(dir, 'a'), clientCertPath: join(dir, 'b'), clientKeyPath: join(dir, 'c') }))).toHaveLength(3);
    // With plain http the TLS files are not used (nor read), as in the reference.
    expect(source({ caCertPath: join(dir, 'missing.pem'), insecureSkipVerify: false }).parameters.tls).toMatchObject({ ca: undefined, cert: undefined });
  });
});
