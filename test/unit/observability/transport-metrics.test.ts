import { describe, expect, it } from 'vitest';
import { EppMetrics } from '../../../src/observability/metrics.js';

describe('ext_proc transport metrics', () => {
  it('reports connections, streams, buffered bytes, refused streams and closes by reason as of each scrape', async () => {
    const metrics = new EppMetrics();
    const stats = { connections: 2, activeStreams: 7, bufferedBytes: 1234, streamsRefused: 3, closesByReason: new Map([['peer-closed', 5], ['rapid-reset', 1]]) };
    metrics.attachTransport(stats);
    let page = await metrics.registry.metrics();
    expect(page).toMatch(/^llm_d_epp_extproc_connections 2$/m);
    expect(page).toMatch(/^llm_d_epp_extproc_streams 7$/m);
    expect(page).toMatch(/^llm_d_epp_extproc_buffered_bytes 1234$/m);
    expect(page).toMatch(/^llm_d_epp_extproc_streams_refused_total 3$/m);
    expect(page).toMatch(/^llm_d_epp_extproc_connection_closes_total\{reason="rapid-reset"\} 1$/m);
    stats.closesByReason.set('peer-closed', 6);
    stats.connections = 1;
    page = await metrics.registry.metrics();
    expect(page).toMatch(/^llm_d_epp_extproc_connection_closes_total\{reason="peer-closed"\} 6$/m);
    expect(page).toMatch(/^llm_d_epp_extproc_connections 1$/m);
  });
});
