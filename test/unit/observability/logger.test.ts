import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { boundLogFields, createLogger, LOG_FIELD_MAX } from '../../../src/observability/logger.js';

describe('logger backstop', () => {
  it(`cuts every top-level string field of a log line to ${LOG_FIELD_MAX} characters`, () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString('utf8'));
        done();
      },
    });
    const logger = createLogger(2, 'test', sink);
    logger.info({ 'x-request-id': 'r'.repeat(1 << 20), err: 'short' }, 'request rejected');
    const line = JSON.parse(lines[0] ?? '{}') as Record<string, unknown>;
    expect(line['x-request-id']).toBe(`${'r'.repeat(LOG_FIELD_MAX)}…(1048576 chars)`);
    expect(line.err).toBe('short');
    expect((lines[0] ?? '').length).toBeLessThan(LOG_FIELD_MAX + 200);
  });

  it('returns the fields object itself when nothing needs cutting', () => {
    const fields = { a: 'x', n: 1 };
    expect(boundLogFields(fields)).toBe(fields);
  });
});
