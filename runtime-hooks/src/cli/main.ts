import type { Command } from 'commander';
import { registerCommands } from './commands/index.js';
import { registerCompletionCommand } from './completion.js';
import { addExamples } from './examples.js';
import { baseProgram, runProgram } from './program.js';

/** Builds the `berth` command tree; each subsystem adds its subcommands in `commands/`. */
export function buildProgram(): Command {
  const program = baseProgram();
  registerCommands(program);
  registerCompletionCommand(program);
  addExamples(program);
  return program;
}

export async function main(argv: readonly string[]): Promise<number> {
  return runProgram(buildProgram(), argv);
}
