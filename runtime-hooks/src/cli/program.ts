import { Command, CommanderError } from 'commander';

/** The root `berth` command, before any command group registers. */
export function baseProgram(): Command {
  return new Command('berth')
    .description('Berth: container networking, network policy and secrets for Linux')
    .version('0.1.0')
    .showHelpAfterError()
    // `berth run ROOTFS CMD -x` and `berth exec NAME CMD -x`: options after the command belong to the command.
    .enablePositionalOptions()
    .exitOverride();
}

/** Parses and runs; returns the exit code (a command whose result is a status, as run and exec, sets it). */
export async function runProgram(program: Command, argv: readonly string[]): Promise<number> {
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    process.stderr.write(`berth: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}
