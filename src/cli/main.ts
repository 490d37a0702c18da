/** Entry point of the `epp` command: dispatches to a subcommand. */
import { runCommand, type Command } from './command.js';
import { UsageError } from './flags.js';

// Each command is imported only when it runs (or for the usage table): a long-running `serve` should
// not carry the simulator, the gateway and the other commands in its heap, which every full
// collection marks.
const COMMANDS: Readonly<Record<string, () => Promise<Command>>> = {
  serve: async () => (await import('./commands/serve.js')).serveCommand,
  gateway: async () => (await import('./commands/gateway.js')).gatewayCommand,
  'mock-vllm': async () => (await import('./commands/mock-vllm.js')).mockVllmCommand,
  demo: async () => (await import('./commands/demo.js')).demoCommand,
  simulate: async () => (await import('./commands/simulate.js')).simulateCommand,
  loadtest: async () => (await import('./commands/loadtest.js')).loadtestCommand,
  bbr: async () => (await import('./commands/bbr.js')).bbrCommand,
  'pd-sidecar': async () => (await import('./commands/pd-sidecar.js')).pdSidecarCommand,
};

function write(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

async function usage(): Promise<string> {
  const commands = await Promise.all(Object.values(COMMANDS).map((load) => load()));
  const rows = commands.map((c) => `  ${c.name.padEnd(12)} ${c.summary}`).join('\n');
  return `Usage: epp <command> [flags]\n\nCommands:\n${rows}\n\nRun 'epp <command> --help' for a command's flags.\n`;
}

async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    write(await usage());
    return name === undefined ? 2 : 0;
  }
  const load = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (load === undefined) {
    process.stderr.write(`epp: unknown command "${name}"\n\n${await usage()}`);
    return 2;
  }
  const command = await load();
  if (command.name !== name) throw new Error(`command table: "${name}" loads "${command.name}"`);
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
