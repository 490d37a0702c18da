/** The opt-in ext_proc stream metrics (`--enable-grpc-stream-metrics`), driven by the real Process method. */
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { GrpcServerCall } from '../../../src/grpc/grpc-server-call.js';
import type { ProcessingRequest__Output, ProcessingResponse } from '../../../src/extproc/proto.js';
import { processMethod, StreamTracker } from '../../../src/extproc/service.js';
import { GrpcStreamMetrics } from '../../../src/observability/grpc-stream-metrics.js';
import { silentLogger } from '../../../src/observability/logger.js';
import { startTestPicker } from '../../helpers/picker.js';

function call(): GrpcServerCall<ProcessingRequest__Output, ProcessingResponse> {
  return { send: () => undefined, end: () => undefined } as unknown as GrpcServerCall<ProcessingRequest__Output, ProcessingResponse>;
}

describe('ext_proc stream metrics', () => {
  it('counts open streams, their duration and how each ended (OK on a clean end, Canceled on RST_STREAM)', async () => {
    const registry = new Registry();
    let now = 1000;
    const tracker = new StreamTracker(new GrpcStreamMetrics(registry, () => now));
    const method = processMethod(() => ({ onMessage: () => undefined, onStreamEnd: () => undefined }), silentLogger(), tracker, 'test');
    const a = method.start(call());
    const b = method.start(call());
    const c = method.start(call());
    expect(await registry.metrics()).toMatch(/^llm_d_epp_extproc_streams_inflight 3$/m);
    now += 20;
    a.onHalfClose();
    now += 480;
    b.onCancel();
    b.onCancel(); // a second end of the same stream counts nothing
    const text = await registry.metrics();
    expect(text).toMatch(/^llm_d_epp_extproc_streams_inflight 1$/m);
    expect(text).toContain('llm_d_epp_extproc_streams_total{code="OK"} 1');
    expect(text).toContain('llm_d_epp_extproc_streams_total{code="Canceled"} 1');
    expect(text).toMatch(/^llm_d_epp_extproc_stream_duration_seconds_count 2$/m);
    expect(text).toMatch(/^llm_d_epp_extproc_stream_duration_seconds_sum 0.52$/m);
    expect(text).toContain('llm_d_epp_extproc_stream_duration_seconds_bucket{le="0.05"} 1');
    expect(text).toContain('llm_d_epp_extproc_stream_duration_seconds_bucket{le="0.5"} 2');
    c.onHalfClose();
    expect(await registry.metrics()).toMatch(/^llm_d_epp_extproc_streams_inflight 0$/m);
  });

  it('is off by default: a picker started without the flag registers none of them', async () => {
    const picker = await startTestPicker({ discovery: { endpoints: [{ name: 'a', address: '127.0.0.31', port: 8000, labels: {} }] } });
    try {
      const text = await picker.metrics.registry.metrics();
      expect(text).toContain('llm_d_epp_request_total');
      expect(text).not.toContain('llm_d_epp_extproc_streams_inflight');
      expect(text).not.toContain('llm_d_epp_extproc_streams_total');
    } finally {
      await picker.shutdown(1000);
    }
  });
});
