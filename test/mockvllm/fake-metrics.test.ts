import { describe, it, expect } from 'vitest';
import { parseFakeMetrics } from '../../src/mockvllm/fake-metrics.js';

describe('parseFakeMetrics', () => {
  it('accepts the llm-d-inference-sim keys', () => {
    const fake = parseFakeMetrics(
      '{"running-requests":3,"waiting-requests":7,"kv-cache-usage":0.42,"loras":[{"running":"a,b","waiting":"c","timestamp":1234.5},{"running":""}]}',
    );
    expect(fake).toEqual({
      'running-requests': 3,
      'waiting-requests': 7,
      'kv-cache-usage': 0.42,
      loras: [{ running: 'a,b', waiting: 'c', timestamp: 1234.5 }, { running: '' }],
    });
  });

  it('accepts an empty object (nothing pinned)', () => {
    expect(parseFakeMetrics('{}')).toEqual({});
  });

  it('rejects invalid JSON', () => {
    expect(() => parseFakeMetrics('{running')).toThrow(/invalid JSON/);
  });

  it('rejects a document that is not an object', () => {
    expect(() => parseFakeMetrics('[1]')).toThrow(/fake metrics: .*object/i);
  });

  it('names an unknown top-level key', () => {
    expect(() => parseFakeMetrics('{"running_requests":1}')).toThrow('unknown key "running_requests"');
  });

  it('names an unknown key inside a lora entry with its path', () => {
    expect(() => parseFakeMetrics('{"loras":[{"running":"a"},{"runing":"b"}]}')).toThrow('unknown key "loras[1].runing"');
  });

  it('names a key with a value out of range', () => {
    expect(() => parseFakeMetrics('{"kv-cache-usage":1.5}')).toThrow(/"kv-cache-usage"/);
    expect(() => parseFakeMetrics('{"running-requests":-1}')).toThrow(/"running-requests"/);
  });

  it('names a key with a value of the wrong type', () => {
    expect(() => parseFakeMetrics('{"waiting-requests":2.5}')).toThrow(/"waiting-requests"/);
    expect(() => parseFakeMetrics('{"waiting-requests":"2"}')).toThrow(/"waiting-requests"/);
    expect(() => parseFakeMetrics('{"loras":[{"timestamp":"now"}]}')).toThrow(/"loras\[0\]\.timestamp"/);
  });
});
