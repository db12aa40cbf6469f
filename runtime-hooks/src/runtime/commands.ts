import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Option, type Command } from 'commander';
import { defaultSpec } from './default-spec.js';
import { errorMessage, RuntimeError } from './errors.js';
import { listContainers } from './list.js';
import { forwardSignalsUntil, parseSignal } from './signals.js';
import type { StateStore } from './state.js';
import { stateOf } from './state-view.js';
import type { UpdateFlags } from './update.js';

// The commands that spawn (helper, hooks, ps) are loaded when run: node:child_process alone costs every start of
// `state`, `list` or `kill` a few milliseconds (and the bundle keeps them lazy, see scripts/bundle.mjs).
const lifecycle = () => import('./lifecycle.js');

/** A subcommand's failure: runc prefixes create/run failures with "<runtime> <command> failed:", exec's exit 255. */
export class CommandFailure extends Error {
  readonly exitCode: number;

  constructor(message: string, exitCode: number) {
    super(message);
    this.exitCode = exitCode;
  }
}

interface CommandContext {
  readonly store: () => StateStore;
  /** Where a command that exits with a process's status leaves it. */
  readonly output: { exitCode: number };
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** The options object without its undefined entries (exactOptionalPropertyTypes: absent, not undefined). */
function defined<T extends Record<string, unknown>>(options: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as { [K in keyof T]?: Exclude<T[K], undefined> };
}

async function failAs<T>(command: string, exitCode: number, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (error) {
    if (command === 'exec') throw new CommandFailure(`exec failed: ${errorMessage(error)}`, exitCode);
    throw new CommandFailure(`berth-runtime ${command} failed: ${errorMessage(error)}`, exitCode);
  }
}

/** create's and run's options; --no-pivot and --no-new-keyring are accepted and ignored (always pivot_root). */
function withCreateOptions(command: Command): Command {
  return command
    .addOption(new Option('-b, --bundle <dir>', 'bundle directory (default: the current directory)'))
    .option('--pid-file <file>').option('--console-socket <path>').option('--preserve-fds <n>', '', '0')
    .addOption(new Option('--no-pivot').hideHelp()).addOption(new Option('--no-new-keyring').hideHelp());
}

interface CreateFlags { bundle?: string; pidFile?: string; consoleSocket?: string; detach?: boolean; keep?: boolean }

function registerLifecycle(program: Command, { store, output }: CommandContext): void {
  withCreateOptions(program.command('create <id>').description('create a container (stopped before its process runs)'))
    .action(async (id: string, flags: CreateFlags) => {
      const { createContainer } = await import('./create.js');
      const created = await failAs('create', 1, () => createContainer(store(), {
        id, bundle: flags.bundle ?? process.cwd(), detach: true, stdio: 'inherit', ...defined({ pidFile: flags.pidFile, consoleSocket: flags.consoleSocket }),
      }));
      created.helper.close();
    });
  withCreateOptions(program.command('run <id>').description('create and start a container; without -d, wait for it and exit with its status'))
    .option('-d, --detach').option('--keep')
    .action(async (id: string, flags: CreateFlags) => {
      const { runContainer } = await import('./run.js');
      output.exitCode = await failAs('run', 1, () => runContainer(store(), {
        id, bundle: flags.bundle ?? process.cwd(), detach: flags.detach === true, keep: flags.keep === true,
        ...defined({ pidFile: flags.pidFile, consoleSocket: flags.consoleSocket }),
      }));
    });
  program.command('start <id>').description('start a created container').action(async (id: string) => (await lifecycle()).startContainer(store(), id));
  program.command('kill <id> [signal]').description('send a signal (default SIGTERM) to the container\'s init, or with --all to all its processes')
    .option('-a, --all')
    .action(async (id: string, signal: string | undefined, flags: { all?: boolean }) => (await lifecycle()).killContainer(store(), id, parseSignal(signal ?? 'SIGTERM'), flags.all === true));
  program.command('delete <id>').description('delete a stopped (or, with --force, any) container').option('-f, --force')
    .action(async (id: string, flags: { force?: boolean }) => (await lifecycle()).deleteContainer(store(), id, flags.force === true));
  program.command('pause <id>').description('freeze all processes of a container').action(async (id: string) => (await lifecycle()).pauseContainer(store(), id));
  program.command('resume <id>').description('thaw a paused container').action(async (id: string) => (await lifecycle()).resumeContainer(store(), id));
}

interface ExecFlags {
  detach?: boolean; tty?: boolean; env: string[]; cwd?: string; process?: string; user?: string; pidFile?: string;
  consoleSocket?: string; newPrivs?: boolean; cap: string[];
}

function registerExec(program: Command, { store, output }: CommandContext): void {
  program.command('exec <id> [command...]').description('run a process in a running container')
    .option('-d, --detach').option('-t, --tty').option('-e, --env <K=V>', 'set an environment variable', collect, [])
    .option('--cwd <dir>').option('-p, --process <file>').option('-u, --user <uid[:gid]>').option('--pid-file <file>')
    .option('--console-socket <path>').option('--no-new-privs').option('-c, --cap <capability>', 'add a capability', collect, [])
    .passThroughOptions()
    .action(async (id: string, command: string[], flags: ExecFlags) => {
      output.exitCode = await failAs('exec', 255, async () => {
        const { execInContainer } = await import('./exec.js');
        const started = await execInContainer(store(), {
          id, args: command, detach: flags.detach === true, tty: flags.tty === true, env: flags.env,
          noNewPrivileges: flags.newPrivs === false, addCapabilities: flags.cap, stdio: 'inherit',
          ...defined({ cwd: flags.cwd, processFile: flags.process, user: flags.user, pidFile: flags.pidFile, consoleSocket: flags.consoleSocket }),
        });
        return forwardSignalsUntil(started.pid, started.exitCode);
      });
    });
}

function registerQueries(program: Command, { store }: CommandContext): void {
  program.command('state <id>').description('print the state of a container (JSON)')
    .action((id: string) => {
      const states = store();
      process.stdout.write(JSON.stringify(stateOf(states, states.load(id)), null, 2));
    });
  program.command('list').description('list containers')
    .option('-q, --quiet').option('-f, --format <format>', 'table or json', 'table')
    .action((flags: { quiet?: boolean; format: string }) => {
      process.stdout.write(listContainers(store(), flags.format, flags.quiet === true));
    });
  program.command('ps <id> [ps-options...]').description('list the container\'s processes')
    .option('-f, --format <format>', 'table or json', 'table').passThroughOptions()
    .action(async (id: string, psOptions: string[], flags: { format: string }) => {
      const { containerProcesses } = await import('./ps.js');
      process.stdout.write(containerProcesses(store(), id, flags.format, psOptions));
    });
  program.command('spec').description('write a default config.json')
    .addOption(new Option('-b, --bundle <dir>', 'bundle directory (default: the current directory)')).addOption(new Option('--rootless').hideHelp())
    .action((flags: { bundle?: string }) => {
      const file = join(flags.bundle ?? process.cwd(), 'config.json');
      if (existsSync(file)) throw new RuntimeError('File config.json exists. Remove it first.');
      writeFileSync(file, JSON.stringify(defaultSpec(), null, '\t'), { mode: 0o666 });
    });
}

/** runc's subcommands; those berth-runtime does not have say so (exit 1) rather than being unknown (exit 3). */
export function registerCommands(program: Command, context: CommandContext): void {
  registerLifecycle(program, context);
  registerExec(program, context);
  registerQueries(program, context);
  program.command('update <id>').description('change the resource limits of a running container')
    .option('-r, --resources <file>', 'a linux.resources JSON object (- for stdin)').option('--memory <bytes>').option('--memory-swap <bytes>')
    .option('--memory-reservation <bytes>').option('--pids-limit <n>').option('--cpu-quota <us>').option('--cpu-period <us>')
    .option('--cpu-share <n>').option('--cpuset-cpus <list>').option('--cpuset-mems <list>')
    .action(async (id: string, flags: UpdateFlags) => (await import('./update.js')).updateContainer(context.store(), id, flags));
  for (const name of ['events', 'checkpoint', 'restore', 'features']) {
    program.command(name, { hidden: true }).allowUnknownOption().allowExcessArguments()
      .action(() => { throw new RuntimeError(`${name} is not supported by berth-runtime`); });
  }
}
