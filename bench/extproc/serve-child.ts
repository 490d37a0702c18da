/**
 * Fallback launcher for the picker child: runs the same `epp serve` command object that
 * `bin/epp.js serve` dispatches to, without importing the CLI's other subcommands. Used only when
 * `bin/epp.js` cannot start (e.g. another subcommand is mid-edit in a shared tree), or when asked for
 * with `--picker-launcher direct`. The measured code path (startPicker and everything under it) is
 * identical.
 *
 *   node --import tsx bench/extproc/serve-child.ts <epp serve flags>
 */
import { runCommand } from '../../src/cli/command.js';
import { serveCommand } from '../../src/cli/commands/serve.js';

try {
  await runCommand(serveCommand, process.argv.slice(2), (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`));
  process.exitCode = 0;
} catch (err) {
  process.stderr.write(`serve-child: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}
