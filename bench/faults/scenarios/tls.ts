/**
 * Row 28: TLS on the ext_proc port. A self-signed certificate at start that gateways accept without
 * verifying it; certificate rotation under load with `--enable-cert-reload` (new handshakes get the
 * new certificate, connections already open keep streaming); a broken certificate file keeps the
 * current one; a plaintext client on the TLS port is turned away.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { selfSignedCertificate, type KeyPair } from '../../../src/extproc/tls.js';
import { createLogger } from '../../../src/observability/logger.js';
import { CrashWatch } from '../harness/crash-watch.js';
import { FakeEnvoyConnection, FakeEnvoyPool } from '../harness/extproc-client.js';
import { runExchange } from '../harness/exchange.js';
import { FrameConnection } from '../harness/frame-client.js';
import { InProcessPicker, loopbackEndpoints } from '../harness/in-process-picker.js';
import { completionBody, postHeaders } from '../harness/messages.js';
import { ScenarioReport } from '../harness/report.js';
import { requestPhase } from '../harness/request-phase.js';
import type { FaultScenario } from '../harness/scenario.js';
import { pollUntil } from '../harness/wait.js';

/** Routes one request over a TLS connection trusting `ca` (or nothing: no verification); 'routed' or the error. */
async function routeOver(port: number, endpoints: ReadonlySet<string>, ca?: string): Promise<string> {
  let c: FakeEnvoyConnection;
  try {
    c = await FakeEnvoyConnection.connect({ port, tls: ca === undefined ? {} : { ca } });
  } catch (err) {
    return `handshake failed: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
  }
  try {
    const pool = { open: () => c.open(), goaways: 0, closes: 0 };
    const r = await requestPhase(pool, { headers: postHeaders('/v1/completions', 'tls'), body: completionBody(1, 128), endpoints, timeoutMs: 5000 });
    return r.kind === 'routed' && r.violations.length === 0 ? 'routed' : `${r.kind} ${r.violations.join('; ')}`;
  } finally {
    c.destroy();
  }
}

export const tlsScenario: FaultScenario = {
  id: 'tls',
  title: 'TLS: self-signed start, rotation under load, a broken certificate, plaintext on the TLS port',
  rows: ['28'],
  async run(ctx) {
    const report = new ScenarioReport('tls', ctx.scale);
    const row = report.row('28', 'TLS: self-signed start, rotation under load (--enable-cert-reload), a broken tls.crt, a plaintext client', 'new handshakes use the new cert within debounce + 1 s; a bad file keeps the old; plaintext rejected; 0 crashes');
    const crashes = new CrashWatch();
    const endpoints = loopbackEndpoints(2, 8000, 220);
    const discovery = { endpoints: endpoints.map((hp, i) => ({ name: `e${i}`, address: hp.split(':')[0] ?? '', port: 8000, labels: {} })) };
    try {
      // Self-signed at start: an RSA-4096 key made by the picker (at CI scale a ready 2048-bit pair, for time).
      {
        const t0 = performance.now();
        const keyPair: KeyPair | undefined = ctx.scale === 'ci' ? await selfSignedCertificate(2048) : undefined;
        const picker = await InProcessPicker.start({ secureServing: true, ...(keyPair === undefined ? {} : { keyPair }), discovery }, endpoints);
        const startMs = performance.now() - t0;
        try {
          const unverified = await routeOver(picker.grpcPort, picker.endpoints);
          row.figure(ctx.scale === 'ci' ? 'start with a given self-signed pair' : 'start with a self-signed RSA-4096 certificate made at start', Math.round(startMs), 'ms');
          row.figure('gateway without verification (as Istio insecureSkipVerify)', unverified);
          row.check('a gateway that does not verify connects to the self-signed certificate', unverified === 'routed', unverified);
        } finally {
          await picker.stop();
        }
      }
      const [a, b] = await Promise.all([selfSignedCertificate(2048), selfSignedCertificate(2048)]);
      const dir = mkdtempSync(join(tmpdir(), 'epp-faults-cert-'));
      writeFileSync(join(dir, 'tls.crt'), a.cert);
      writeFileSync(join(dir, 'tls.key'), a.key);
      const lines: string[] = [];
      const logger = createLogger(2, 'faults', { write: (line: string) => lines.push(line) });
      const picker = await InProcessPicker.start({ secureServing: true, certPath: dir, enableCertReload: true, logger, discovery }, endpoints);
      const pool = await FakeEnvoyPool.open({ port: picker.grpcPort, tls: { ca: a.cert } }, 1);
      try {
        row.check('a gateway trusting the first certificate is served', (await routeOver(picker.grpcPort, picker.endpoints, a.cert)) === 'routed');
        // A long response phase on a connection opened before the rotation.
        const before = pool.open();
        const longRun = before === undefined ? Promise.resolve(undefined) : runExchange(before, { seq: 1, body: completionBody(1, 256), chunkBytes: 0, responseChunks: 30, chunkIntervalMs: 100, endpoints: picker.endpoints, timeoutMs: 20_000 });
        writeFileSync(join(dir, 'tls.key'), b.key);
        writeFileSync(join(dir, 'tls.crt'), b.cert);
        const rotatedMs = await pollUntil(async () => (await routeOver(picker.grpcPort, picker.endpoints, b.cert)) === 'routed', 5000, 25);
        const oldAfter = await routeOver(picker.grpcPort, picker.endpoints, a.cert);
        row.figure('rotation: files written → first handshake with the new certificate', Math.round(rotatedMs), 'ms (debounce 250 ms)');
        row.figure('a gateway trusting only the old certificate after the rotation', oldAfter);
        row.timing('new handshakes use the new certificate within debounce + 1 s', rotatedMs, 1250);
        // A broken certificate file: the current one stays.
        const failedBefore = lines.filter((l) => l.includes('certificate reload failed')).length;
        writeFileSync(join(dir, 'tls.crt'), 'not a certificate');
        const reportedMs = await pollUntil(() => lines.filter((l) => l.includes('certificate reload failed')).length > failedBefore, 5000, 10);
        const afterBad = await routeOver(picker.grpcPort, picker.endpoints, b.cert);
        row.figure('broken tls.crt: failure logged after', Math.round(reportedMs), 'ms');
        row.check('a broken certificate file keeps the current certificate', !Number.isNaN(reportedMs) && afterBad === 'routed', afterBad);
        const long = await longRun;
        row.figure('a streaming exchange on a connection opened before the rotation', long?.ok === true ? `completed (${(long.responseMs / 1000).toFixed(1)} s response phase)` : (long?.reason ?? 'not run'));
        row.check('connections open before the rotation keep streaming', long?.ok === true, long?.reason ?? 'not run');
        // Plaintext HTTP/2 on the TLS port.
        let plaintext = 'accepted';
        try {
          const c = await FrameConnection.connect({ port: picker.grpcPort });
          c.destroy();
        } catch (err) {
          plaintext = `rejected: ${err instanceof Error ? err.message : String(err)}`;
        }
        row.figure('plaintext HTTP/2 client on the TLS port', plaintext);
        row.check('plaintext rejected', plaintext !== 'accepted', plaintext);
        row.check('0 crashes', crashes.count === 0, crashes.errors.slice(0, 1).join(''));
        row.see('test/integration/tls-health.test.ts');
      } finally {
        pool.destroy();
        await picker.stop();
      }
    } finally {
      crashes.stop();
    }
    return report.result();
  },
};
