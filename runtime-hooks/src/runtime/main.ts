import { existsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { createContainer } from './create.js';
import { defaultSpec } from './default-spec.js';
import { errorMessage, RuntimeError } from './errors.js';
import { execInContainer } from './exec.js';
import { deleteContainer, killContainer, pauseContainer, resumeContainer, startContainer, stateOf } from './lifecycle.js';
import { listContainers } from './list.js';
import { containerProcesses } from './ps.js';
import { RuntimeLog, type LogFormat } from './log.js';
import { runContainer } from './run.js';
import { forwardSignalsUntil, parseSignal } from './signals.js';
import { StateStore } from './state.js';

export const runtimeVersion = '0.1.0';
const stateRootDefault = '/run/berth-runtime';

interface Globals {
  readonly root: string;
  readonly log?: string;
  readonly logFormat: string;
}

/** A subcommand's failure: runc prefixes create/run failures with "<runtime> <command> failed:", exec's exit 255. */
class CommandFailure extends Error {
  readonly exitCode: number;

  constructor(message: string, exitCode: number) {
    super(message);
    this.exitCode = exitCode;
  }
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

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
  const store = (): StateStore => new StateStore(resolve((program.opts() as Globals).root));
  const bundleOption = (): Option => new Option('-b, --bundle <dir>', 'bundle directory (default: the current directory)');

  program.command('create <id>').description('create a container (stopped before its process runs)')
    .addOption(bundleOption()).option('--pid-file <file>').option('--console-socket <path>')
    .addOption(new Option('--no-pivot').hideHelp()).addOption(new Option('--no-new-keyring').hideHelp()).option('--preserve-fds <n>', '', '0')
    .action(async (id: string, options: { bundle?: string; pidFile?: string; consoleSocket?: string }) => {
      const created = await failAs('create', 1, () => createContainer(store(), {
        id, bundle: options.bundle ?? process.cwd(), detach: true, stdio: 'inherit',
        ...(options.pidFile !== undefined ? { pidFile: options.pidFile } : {}),
        ...(options.consoleSocket !== undefined ? { consoleSocket: options.consoleSocket } : {}),
      }));
      created.helper.close();
    });
  program.command('run <id>').description('create and start a container; without -d, wait for it and exit with its status')
    .addOption(bundleOption()).option('--pid-file <file>').option('--console-socket <path>').option('-d, --detach').option('--keep')
    .addOption(new Option('--no-pivot').hideHelp()).addOption(new Option('--no-new-keyring').hideHelp()).option('--preserve-fds <n>', '', '0')
    .action(async (id: string, options: { bundle?: string; pidFile?: string; consoleSocket?: string; detach?: boolean; keep?: boolean }) => {
      output.exitCode = await failAs('run', 1, () => runContainer(store(), {
        id, bundle: options.bundle ?? process.cwd(), detach: options.detach === true, keep: options.keep === true,
        ...(options.pidFile !== undefined ? { pidFile: options.pidFile } : {}),
        ...(options.consoleSocket !== undefined ? { consoleSocket: options.consoleSocket } : {}),
      }));
    });
  program.command('start <id>').description('start a created container')
    .action((id: string) => startContainer(store(), id));
  program.command('state <id>').description('print the state of a container (JSON)')
    .action((id: string) => {
      const s = store();
      process.stdout.write(JSON.stringify(stateOf(s, s.load(id)), null, 2));
    });
  program.command('kill <id> [signal]').description('send a signal (default SIGTERM) to the container\'s init, or with --all to all its processes')
    .option('-a, --all')
    .action((id: string, signal: string | undefined, options: { all?: boolean }) => killContainer(store(), id, parseSignal(signal ?? 'SIGTERM'), options.all === true));
  program.command('delete <id>').description('delete a stopped (or, with --force, any) container')
    .option('-f, --force')
    .action((id: string, options: { force?: boolean }) => deleteContainer(store(), id, options.force === true));
  program.command('list').description('list containers')
    .option('-q, --quiet').option('-f, --format <format>', 'table or json', 'table')
    .action((options: { quiet?: boolean; format: string }) => {
      process.stdout.write(listContainers(store(), options.format, options.quiet === true));
    });
  program.command('exec <id> [command...]').description('run a process in a running container')
    .option('-d, --detach').option('-t, --tty').option('-e, --env <K=V>', 'set an environment variable', collect, [])
    .option('--cwd <dir>').option('-p, --process <file>').option('-u, --user <uid[:gid]>').option('--pid-file <file>')
    .option('--console-socket <path>').option('--no-new-privs').option('-c, --cap <capability>', 'add a capability', collect, [])
    .passThroughOptions()
    .action(async (id: string, command: string[], options: { detach?: boolean; tty?: boolean; env: string[]; cwd?: string; process?: string; user?: string; pidFile?: string; consoleSocket?: string; newPrivs?: boolean; cap: string[] }) => {
      output.exitCode = await failAs('exec', 255, async () => {
        const started = await execInContainer(store(), {
          id, args: command, detach: options.detach === true, tty: options.tty === true, env: options.env,
          noNewPrivileges: options.newPrivs === false, addCapabilities: options.cap, stdio: 'inherit',
          ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
          ...(options.process !== undefined ? { processFile: options.process } : {}),
          ...(options.user !== undefined ? { user: options.user } : {}),
          ...(options.pidFile !== undefined ? { pidFile: options.pidFile } : {}),
          ...(options.consoleSocket !== undefined ? { consoleSocket: options.consoleSocket } : {}),
        });
        return forwardSignalsUntil(started.pid, started.exitCode);
      });
    });
  program.command('spec').description('write a default config.json')
    .addOption(bundleOption()).addOption(new Option('--rootless').hideHelp())
    .action((options: { bundle?: string }) => {
      const file = join(options.bundle ?? process.cwd(), 'config.json');
      if (existsSync(file)) throw new RuntimeError('File config.json exists. Remove it first.');
      writeFileSync(file, JSON.stringify(defaultSpec(), null, '\t'), { mode: 0o666 });
    });
  program.command('pause <id>').description('freeze all processes of a container').action((id: string) => pauseContainer(store(), id));
  program.command('resume <id>').description('thaw a paused container').action((id: string) => resumeContainer(store(), id));
  program.command('ps <id> [ps-options...]').description('list the container\'s processes')
    .option('-f, --format <format>', 'table or json', 'table').passThroughOptions()
    .action((id: string, psOptions: string[], options: { format: string }) => {
      process.stdout.write(containerProcesses(store(), id, options.format, psOptions));
    });
  for (const name of ['events', 'update', 'checkpoint', 'restore', 'features']) {
    program.command(name, { hidden: true }).allowUnknownOption().allowExcessArguments()
      .action(() => { throw new RuntimeError(`${name} is not supported by berth-runtime`); });
  }
  return program;
}

/** runc's global options that would change behaviour berth-runtime does not have are refused, not ignored. */
function checkOptions(globals: Globals & { systemdCgroup?: boolean }, command: { preserveFds?: string }): void {
  if (globals.logFormat !== 'text' && globals.logFormat !== 'json') throw new RuntimeError(`invalid log-format: ${globals.logFormat}`);
  if (globals.systemdCgroup === true) throw new RuntimeError('--systemd-cgroup is not supported: berth-runtime manages cgroups through cgroupfs');
  if (command.preserveFds !== undefined && command.preserveFds !== '0') throw new RuntimeError('--preserve-fds is not supported by berth-runtime');
}

async function failAs<T>(command: string, exitCode: number, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (error) {
    if (command === 'exec') throw new CommandFailure(`exec failed: ${errorMessage(error)}`, exitCode);
    throw new CommandFailure(`berth-runtime ${command} failed: ${errorMessage(error)}`, exitCode);
  }
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
