import { Command, CommanderError } from 'commander';
import { containerCommandNames, registerContainerCommands } from './commands/containers.js';

function baseProgram(): Command {
  return new Command('berth')
    .description('Berth: container networking, network policy and secrets for Linux')
    .version('0.1.0')
    .showHelpAfterError()
    // `berth run ROOTFS CMD -x` and `berth exec NAME CMD -x`: options after the command belong to the command.
    .enablePositionalOptions()
    .exitOverride();
}

/** Builds the `berth` command tree; each subsystem adds its subcommands in `commands/`. */
export async function buildProgram(): Promise<Command> {
  const program = baseProgram();
  const { registerCommands } = await import('./commands/index.js');
  registerCommands(program);
  return program;
}

/**
 * The container commands (`berth run`, `ps`, …) are on a container's start path: they get a program with only
 * themselves, without loading the policy, network and cluster modules (measured: ~300-500 ms of start-up).
 */
function containerProgram(): Command {
  const program = baseProgram();
  registerContainerCommands(program);
  return program;
}

export async function main(argv: readonly string[]): Promise<number> {
  try {
    const program = containerCommandNames.has(argv[0] ?? '') ? containerProgram() : await buildProgram();
    await program.parseAsync([...argv], { from: 'user' });
    // Commands whose result is a status (run, exec) set it here rather than throwing.
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    process.stderr.write(`berth: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}
