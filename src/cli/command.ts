import { formatUsage, parseFlags, Flags, UsageError, type FlagSpec } from './flags.js';

/** One `epp` subcommand. `run` resolves when the command has finished (servers: after shutdown). */
export interface Command {
  readonly name: string;
  readonly summary: string;
  readonly flags: readonly FlagSpec[];
  run(flags: Flags, positional: readonly string[]): Promise<void>;
}

/** Parses argv for `command` and runs it; `--help` prints the usage table instead. */
export async function runCommand(command: Command, argv: readonly string[], out: (text: string) => void): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h') || argv.includes('-help')) {
    out(formatUsage(command.name, command.summary, command.flags));
    return;
  }
  const { values, positional, given } = parseFlags(command.flags, argv);
  // No command takes arguments: a word after `--` is as much a mistake as one before it.
  if (positional.length > 0) throw new UsageError(`epp ${command.name} takes no arguments, got "${positional[0] ?? ''}"`);
  await command.run(new Flags(values, given), positional);
}

/**
 * Resolves on the first SIGINT or SIGTERM and removes its listeners, so a long-running command can
 * `await untilSignal()` and then shut down in order.
 */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (sig: NodeJS.Signals): void => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve(sig);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}
