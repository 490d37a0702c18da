/** Entry point of the `epp` command: dispatches to a subcommand. */
import { runCommand, type Command } from './command.js';
import { UsageError } from './flags.js';
import { serveCommand } from './commands/serve.js';
import { gatewayCommand } from './commands/gateway.js';
import { mockVllmCommand } from './commands/mock-vllm.js';
import { demoCommand } from './commands/demo.js';
import { simulateCommand } from './commands/simulate.js';
import { loadtestCommand } from './commands/loadtest.js';
import { pdSidecarCommand } from './commands/pd-sidecar.js';
import { bbrCommand } from './commands/bbr.js';

const COMMANDS: readonly Command[] = [serveCommand, gatewayCommand, mockVllmCommand, demoCommand, simulateCommand, loadtestCommand, bbrCommand, pdSidecarCommand];

function write(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

function usage(): string {
  const rows = COMMANDS.map((c) => `  ${c.name.padEnd(12)} ${c.summary}`).join('\n');
  return `Usage: epp <command> [flags]\n\nCommands:\n${rows}\n\nRun 'epp <command> --help' for a command's flags.\n`;
}

async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    write(usage());
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (command === undefined) {
    process.stderr.write(`epp: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  try {
    await runCommand(command, rest, write);
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`epp ${name}: ${err.message}\nRun 'epp ${name} --help' for usage.\n`);
      return 2;
    }
    process.stderr.write(`epp ${name}: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
