import { describe, expect, it } from 'vitest';
import { runCommand } from '../../src/cli/command.js';
import { gatewayCommand } from '../../src/cli/commands/gateway.js';
import { UsageError } from '../../src/cli/flags.js';

describe('epp gateway command', () => {
  it('documents its flags', async () => {
    let usage = '';
    await runCommand(gatewayCommand, ['--help'], (text) => (usage = text));
    for (const flag of ['--host', '--port', '--epp', '--epp-tls', '--request-body-mode', '--failure-mode-allow', '--processor-timeout', '--v']) {
      expect(usage).toContain(flag);
    }
    expect(usage).toContain('127.0.0.1:9002');
  });

  it('rejects bad flag values before starting anything', async () => {
    await expect(runCommand(gatewayCommand, ['--request-body-mode=streamed'], () => undefined)).rejects.toThrow(UsageError);
    await expect(runCommand(gatewayCommand, ['--port=70000'], () => undefined)).rejects.toThrow(UsageError);
    await expect(runCommand(gatewayCommand, ['--processor-timeout=0'], () => undefined)).rejects.toThrow(UsageError);
  });
});
