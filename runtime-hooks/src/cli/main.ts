import { Command, CommanderError } from 'commander';
import { registerCommands } from './commands/index.js';

/** Builds the `berth` command tree; each subsystem adds its subcommands in `commands/`. */
export function buildProgram(): Command {
  const program = new Command('berth')
    .description('Berth: container networking, network policy and secrets for Linux')
    .version('0.1.0')
    .showHelpAfterError()
    // `berth run ROOTFS CMD -x` and `berth exec NAME CMD -x`: options after the command belong to the command.
    .enablePositionalOptions()
    .exitOverride();
  registerCommands(program);
  return program;
}

export async function main(argv: readonly string[]): Promise<number> {
  try {
    await buildProgram().parseAsync([...argv], { from: 'user' });
    // Commands whose result is a status (run, exec) set it here rather than throwing.
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    process.stderr.write(`berth: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}
