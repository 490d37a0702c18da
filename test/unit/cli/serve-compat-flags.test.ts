import { describe, expect, it } from 'vitest';
import { compatibilityNotes, serveCommand } from '../../../src/cli/commands/serve.js';
import { Flags, parseFlags, UsageError } from '../../../src/cli/flags.js';

const flagsOf = (args: string[]): Flags => new Flags(parseFlags(serveCommand.flags, args).values);

describe('epp serve: the reference chart flags', () => {
  it("accepts the upstream chart's extra arguments and names the ones it does not act on", () => {
    const args = ['--pool-name', 'p', '--zap-encoder', 'json', '--tracing=false', '--metrics-endpoint-auth=false', '--enable-pprof=false', '--v', '3'];
    const notes = compatibilityNotes(flagsOf(args));
    expect(notes).toHaveLength(4);
    expect(notes.join('\n')).toMatch(/--zap-encoder: logs are always JSON/);
    expect(notes.join('\n')).toMatch(/--tracing/);
  });

  it('says nothing about defaults', () => {
    expect(compatibilityNotes(flagsOf(['--pool-name', 'p', '--model-server-metrics-scheme', 'http', '--refresh-prometheus-metrics-interval', '5s']))).toEqual([]);
  });

  it('rejects the retired metric-name flags when set, as the reference does', () => {
    expect(() => compatibilityNotes(flagsOf(['--total-queued-requests-metric', 'sglang:num_queue_reqs']))).toThrow(UsageError);
    expect(() => compatibilityNotes(flagsOf(['--cache-info-metric=x']))).toThrow(/engineConfigs/);
  });
});
