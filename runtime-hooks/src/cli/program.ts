import { Command, CommanderError } from 'commander';
import { startFailedExitCode } from '../containers/run.js';
import { berthVersion } from '../version.js';

/** The exit codes of `berth`, as `berth --help` and the README list them. */
export const exitCodes = {
  ok: 0,
  /** The command ran and failed: bad input, refused request, unreachable berthd, … (the message says which). */
  error: 1,
  /** The command line itself is wrong: unknown command or option, missing argument, an option value out of its choices. */
  usage: 2,
  /** `berth run`: the container could not be started (docker's code); otherwise run and exec exit with the container's own status. */
  startFailed: startFailedExitCode,
} as const;

const exitCodeLines: readonly (readonly [string, string])[] = [
  [String(exitCodes.ok), 'success'],
  [String(exitCodes.error), 'the command failed (the message on stderr says why)'],
  [String(exitCodes.usage), 'usage error: unknown command or option, missing argument, invalid --output'],
  [String(exitCodes.startFailed), 'berth run: the container could not be started'],
  ['other', 'berth run and berth exec: the container\'s own exit status (128+N when killed by signal N)'],
];

const conventions = `
Output:
  Results go to stdout as a table (default) or as JSON with -o json (--output json); inspect commands print JSON
  by default. Progress of long work and errors ("berth: <what failed and why>") go to stderr.

Exit codes:
${exitCodeLines.map(([code, meaning]) => `  ${code.padEnd(7)}${meaning}`).join('\n')}

Shell completion:
  source <(berth completion bash)     (or save it as /etc/bash_completion.d/berth)`;

/** The root `berth` command, before any command group registers. */
export function baseProgram(): Command {
  return new Command('berth')
    .description('Berth: container networking, network policy and secrets for Linux')
    .version(berthVersion)
    .showHelpAfterError('(add --help for the usage and examples)')
    // Parser errors read as the command's other errors: `berth: <what is wrong>`.
    .configureOutput({ outputError: (text, write) => write(`berth: ${text.replace(/^error: /, '')}`) })
    // `berth run ROOTFS CMD -x` and `berth exec NAME CMD -x`: options after the command belong to the command.
    .enablePositionalOptions()
    .addHelpText('after', conventions)
    .exitOverride();
}

/** A parser's verdict as an exit code: help and version asked for are success, anything else is a usage error. */
export function exitCodeOfParserError(error: CommanderError): number {
  return error.code === 'commander.helpDisplayed' || error.code === 'commander.version' ? exitCodes.ok : exitCodes.usage;
}

/** Parses and runs; returns the exit code (a command whose result is a status, as run and exec, sets it). */
export async function runProgram(program: Command, argv: readonly string[]): Promise<number> {
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : exitCodes.ok;
  } catch (error) {
    if (error instanceof CommanderError) return exitCodeOfParserError(error);
    process.stderr.write(`berth: ${error instanceof Error ? error.message : String(error)}\n`);
    return exitCodes.error;
  }
}
