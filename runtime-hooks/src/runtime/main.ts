import { resolve } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { CommandFailure, registerCommands } from './commands.js';
import { errorMessage, RuntimeError } from './errors.js';
import { RuntimeLog, type LogFormat } from './log.js';
import { StateStore } from './state.js';
import { berthVersion } from '../version.js';

export const runtimeVersion = berthVersion;
const stateRootDefault = '/run/berth-runtime';

interface Globals {
  readonly root: string;
  readonly log?: string;
  readonly logFormat: string;
}

function buildProgram(output: { exitCode: number }): Command {
  const program = new Command('berth-runtime')
    .description('Berth\'s OCI runtime, with runc\'s command line')
    .version(`berth-runtime version ${runtimeVersion}\nspec: 1.0.2-dev`, '-v, --version')
    .option('--root <dir>', 'root directory for container state', stateRootDefault)
    .option('--log <file>', 'log file (default: stderr)')
    .option('--log-format <format>', 'log format: text or json', 'text')
    .addOption(new Option('--debug').hideHelp())
    .addOption(new Option('--systemd-cgroup').hideHelp())
    .addOption(new Option('--rootless <value>').hideHelp())
    .addOption(new Option('--criu <path>').hideHelp())
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({ writeErr: (text) => process.stderr.write(text) });
  program.hook('preAction', (_program, action) => checkOptions(program.opts() as Globals & { systemdCgroup?: boolean }, action.opts() as { preserveFds?: string }));
  registerCommands(program, { store: () => new StateStore(resolve((program.opts() as Globals).root)), output });
  return program;
}

/** runc's global options that would change behaviour berth-runtime does not have are refused, not ignored. */
function checkOptions(globals: Globals & { systemdCgroup?: boolean }, command: { preserveFds?: string }): void {
  if (globals.logFormat !== 'text' && globals.logFormat !== 'json') throw new RuntimeError(`invalid log-format: ${globals.logFormat}`);
  if (globals.systemdCgroup === true) throw new RuntimeError('--systemd-cgroup is not supported: berth-runtime manages cgroups through cgroupfs');
  if (command.preserveFds !== undefined && command.preserveFds !== '0') throw new RuntimeError('--preserve-fds is not supported by berth-runtime');
}

export async function main(argv: readonly string[]): Promise<number> {
  const output = { exitCode: 0 };
  const program = buildProgram(output);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return output.exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // runc (urfave/cli) exits 3 for an unknown command.
      return error.code === 'commander.unknownCommand' ? 3 : error.exitCode;
    }
    const globals = program.opts() as Globals;
    const format: LogFormat = globals.logFormat === 'json' ? 'json' : 'text';
    const log = new RuntimeLog(globals.log, format);
    log.fatal(errorMessage(error));
    return error instanceof CommandFailure || error instanceof RuntimeError ? error.exitCode : 1;
  }
}
