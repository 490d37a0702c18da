import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startGateway } from '../../src/gateway/gateway.js';
import { indexRoutes, loadRoutesFile, modelNotFoundBody, parsePoolFlag, RoutesError } from '../../src/gateway/model-routes.js';
import { closeServer, listen } from '../../src/util/net.js';

function file(text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'epp-routes-')), 'routes.yaml');
  writeFileSync(path, text);
  return path;
}

describe('model routes', () => {
  it('parses --pool MODEL=HOST:PORT, splitting at the last =', () => {
    expect(parsePoolFlag('org/model=a=127.0.0.1:9002')).toEqual({ model: 'org/model=a', epp: '127.0.0.1:9002' });
    expect(() => parsePoolFlag('127.0.0.1:9002')).toThrow(RoutesError);
    expect(() => parsePoolFlag('m=')).toThrow(RoutesError);
  });

  it('reads a routes file strictly', () => {
    expect(loadRoutesFile(file('routes:\n- model: a\n  epp: 127.0.0.1:1\n- model: b\n  epp: 127.0.0.1:2\n  eppTls: true\n'))).toEqual([
      { model: 'a', epp: '127.0.0.1:1' },
      { model: 'b', epp: '127.0.0.1:2', eppTls: true },
    ]);
    expect(() => loadRoutesFile(file('routes:\n- model: a\n  epp: x\n  extra: 1\n'))).toThrow(/extra/);
    expect(() => loadRoutesFile(file('routes: []\n'))).toThrow(RoutesError);
    expect(() => loadRoutesFile(join(tmpdir(), 'no-such-routes.yaml'))).toThrow(RoutesError);
  });

  it('rejects a model routed twice', () => {
    expect(() => indexRoutes([{ model: 'a', epp: 'x:1' }, { model: 'a', epp: 'y:1' }])).toThrow(/twice/);
  });

  it('writes OpenAI-style not-found errors', () => {
    expect(JSON.parse(modelNotFoundBody('m'))).toEqual({ error: { message: 'The model `m` does not exist.', type: 'invalid_request_error', param: 'model', code: 'model_not_found' } });
  });
});

describe('gateway routing by model', () => {
  it('requires exactly one of epp and pools', async () => {
    await expect(startGateway({ host: '127.0.0.1', port: 0 })).rejects.toThrow(/empty/);
    await expect(startGateway({ host: '127.0.0.1', port: 0, epp: '127.0.0.1:1', pools: [{ model: 'a', epp: '127.0.0.1:2' }] })).rejects.toThrow(/exclusive/);
  });

  it('answers 413 when the body passes the routing limit, before any picker is involved', async () => {
    const gateway = await startGateway({ host: '127.0.0.1', port: 0, pools: [{ model: 'a', epp: '127.0.0.1:1' }], routeBodyLimitBytes: 100 });
    try {
      const res = await fetch(`${gateway.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'a', prompt: 'x'.repeat(500) }) });
      expect(res.status).toBe(413);
      await res.arrayBuffer();
    } finally {
      await gateway.close();
    }
  });

  it('sends unmatched models to the * route instead of answering 404', async () => {
    // A stand-in picker is overkill here: the catch-all pool's picker is unreachable, so the request
    // fails closed with 500 — proving it went to that pool rather than 404.
    const dead = createServer();
    const port = await listen(dead, '127.0.0.1', 0);
    await closeServer(dead);
    const gateway = await startGateway({ host: '127.0.0.1', port: 0, pools: [{ model: '*', epp: `127.0.0.1:${port}` }] });
    try {
      const res = await fetch(`${gateway.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'anything', prompt: 'x' }) });
      expect(res.status).toBe(500);
      expect(await res.text()).toMatch(/^ext_proc error/);
      expect(gateway.stats.noRoute).toBe(0);
    } finally {
      await gateway.close();
    }
  });
});
