import { describe, expect, it } from 'vitest';
import { serveCommand } from '../../../src/cli/commands/serve.js';
import { Flags, parseFlags } from '../../../src/cli/flags.js';

const flagsOf = (args: string[]): Flags => new Flags(parseFlags(serveCommand.flags, args).values);

describe('epp serve --enable-grpc-stream-metrics', () => {
  it('is a boolean flag, off by default, as llm-d', () => {
    expect(flagsOf([]).bool('enable-grpc-stream-metrics')).toBe(false);
    expect(flagsOf(['--enable-grpc-stream-metrics']).bool('enable-grpc-stream-metrics')).toBe(true);
    expect(flagsOf(['--enable-grpc-stream-metrics=false']).bool('enable-grpc-stream-metrics')).toBe(false);
    expect(flagsOf(['-enable-grpc-stream-metrics=true']).bool('enable-grpc-stream-metrics')).toBe(true);
  });
});
