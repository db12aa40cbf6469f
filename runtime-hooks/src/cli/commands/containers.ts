/**
 * `berth run|ps|exec|stop|rm|logs|inspect`: containers on Berth's networks, through an OCI runtime with runc's CLI
 * (berth-runtime when installed, else runc; `--runtime` or $BERTH_RUNTIME to choose) and Berth's hooks.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { execInContainer, findContainer, listContainers, removeContainer, showLogs, stopContainer, viewOf } from '../../containers/lifecycle.js';
import { parseEnv, parseLabel, parsePublish, parseSecret, validateContainerName } from '../../containers/options.js';
import { monitorContainer, runContainer, type RunRequest } from '../../containers/run.js';
import { baseProgram } from '../program.js';
import { hookPaths } from '../../hooks/paths.js';
import { RecordStore } from '../../hooks/record.js';
import { formatFields, formatJson, formatOf, formatRows, outputOption, print, show, type OutputFormat } from '../output.js';

interface RunFlags {
  name?: string; network: string; publish: string[]; label: string[]; service?: string; secret: string[]; env: string[];
  detach?: boolean; rm?: boolean; runtime?: string;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];


/** Sets the exit code for commands whose result is a status (run, exec), without throwing through commander. */
function exitWith(code: number): void {
  process.exitCode = code;
}

/** `berth run`'s command line; `act` gets the request (the CLI runs it; berthd, serving a run, parses with it too). */
export function defineRun(program: Command, act: (request: RunRequest) => Promise<void>): Command {
  return program.command('run')
    .description('run a command in a new container on a Berth network')
    .argument('<rootfs>', 'root filesystem directory')
    .argument('<command...>', 'command and arguments')
    .option('--name <name>', 'container name (default berth-<id prefix>)')
    .option('--network <network>', 'a network (berth network ls), host (the host\'s netns) or none (loopback only)', 'none')
    .option('-p, --publish <[ip:]host:container[/proto]>', 'publish a container port on the host (repeatable)', collect, [])
    .option('--label <key=value>', 'label for network policies (repeatable)', collect, [])
    .option('--service <service>', 'the service the container belongs to (a task of it; secrets are granted to services)')
    .option('--secret <name[,target=file,mode=0400]>', 'grant a secret to the service and show it at /run/secrets/<target>', collect, [])
    .option('-e, --env <key=value>', 'environment variable (repeatable)', collect, [])
    .option('-d, --detach', 'run in the background; output goes to berth logs')
    .option('--rm', 'remove the container when it exits')
    .option('--runtime <path>', 'OCI runtime with runc\'s CLI (default: $BERTH_RUNTIME, berth-runtime, runc)')
    .passThroughOptions()
    .action(async (rootfs: string, command: string[], flags: RunFlags) => act({
      network: flags.network, rootfs, command, detach: flags.detach === true, autoRemove: flags.rm === true,
      publish: flags.publish.map(parsePublish), labels: Object.fromEntries(flags.label.map(parseLabel)),
      secrets: flags.secret.map(parseSecret), env: flags.env.map(parseEnv),
      ...(flags.name === undefined ? {} : { name: validateContainerName(flags.name) }),
      ...(flags.service === undefined ? {} : { service: flags.service }),
      ...(flags.runtime === undefined ? {} : { runtime: flags.runtime }),
    }));
}

/**
 * `berth run ARGS…` as a request, or undefined when the command line is not a valid run (help, a usage error, a bad
 * value): the CLI then says what is wrong. A relative rootfs is taken from `cwd`.
 */
export async function parseRunArgv(args: readonly string[], cwd: string): Promise<RunRequest | undefined> {
  let parsed: RunRequest | undefined;
  const program = baseProgram().configureOutput({ writeOut: () => undefined, writeErr: () => undefined });
  defineRun(program, async (request) => { parsed = { ...request, rootfs: resolve(cwd, request.rootfs) }; });
  try {
    await program.parseAsync(['run', ...args], { from: 'user' });
    return parsed;
  } catch {
    return undefined;
  }
}

function registerRun(program: Command): void {
  defineRun(program, async (request) => exitWith(await runContainer(request)));
  program.command('container-monitor', { hidden: true }).argument('<id>').action(async (id: string) => exitWith(await monitorContainer(id)));
}

function registerInspection(program: Command): void {
  program.command('ps')
    .description('list containers (running ones; -a for all)')
    .option('-a, --all', 'also exited containers')
    .addOption(outputOption())
    .action(async (flags: { all?: boolean; output?: string }) => {
      const views = await listContainers(process.env, flags.all === true);
      print(formatRows(formatOf(flags), views, [
        { header: 'CONTAINER ID', cell: (view) => view.id.slice(0, 12) }, { header: 'NAME', cell: (view) => view.name },
        { header: 'STATUS', cell: (view) => view.state }, { header: 'NETWORK', cell: (view) => view.network },
        { header: 'ADDRESS', cell: (view) => view.addresses.join(',') || '-' },
        { header: 'PORTS', cell: (view) => view.ports.map((port) => `${port.hostIP === undefined ? '' : `${port.hostIP}:`}${port.hostPort}->${port.containerPort}/${port.protocol}`).join(',') || '-' },
        { header: 'COMMAND', cell: (view) => view.command.join(' ').slice(0, 40) },
      ]));
    });

  program.command('inspect')
    .description('a container\'s settings, state and network attachment as JSON')
    .argument('<container>')
    .addOption(outputOption('json'))
    .action(async (reference: string, flags: { output?: string }) => {
      const view = await viewOf(findContainer(reference, process.env), process.env);
      const record = new RecordStore(hookPaths(process.env).recordDir).read(view.id);
      const shown = { ...view, attachment: record?.network?.result ?? null, task: record?.task ?? null };
      show(formatOf(flags), shown, () => formatFields(shown));
    });

  program.command('logs')
    .description('output of a detached container')
    .argument('<container>')
    .option('-f, --follow', 'keep printing until the container exits')
    .action((reference: string, flags: { follow?: boolean }) => showLogs(reference, flags.follow === true, process.env));
}

/** How many containers stop or rm works on at once (docker works on all of them in parallel too). */
const containersAtOnceMax = 8;

/**
 * stop, rm: the containers in parallel, each name printed as it is done (as docker), or the JSON list of names
 * once all are. One that fails does not stop the others; the failures are the command's error, one per container.
 */
async function eachContainer(format: OutputFormat, references: readonly string[], act: (reference: string) => Promise<string>): Promise<void> {
  const names: string[] = [];
  const failures: string[] = [];
  const queue = [...new Set(references)];
  const worker = async (): Promise<void> => {
    for (let reference = queue.shift(); reference !== undefined; reference = queue.shift()) {
      try {
        const name = await act(reference);
        if (format === 'table') print(name);
        names.push(name);
      } catch (error) {
        failures.push(error instanceof Error ? error.message : String(error));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(containersAtOnceMax, queue.length) }, worker));
  if (format === 'json') print(formatJson(names));
  if (failures.length > 0) throw new Error(failures.join('\nberth: '));
}

function registerLifecycle(program: Command): void {
  program.command('exec')
    .description('run a command in a running container')
    .argument('<container>')
    .argument('<command...>')
    .option('-t, --tty', 'allocate a terminal')
    .passThroughOptions()
    .action(async (reference: string, command: string[], flags: { tty?: boolean }) => exitWith(await execInContainer(reference, command, flags.tty === true, process.env)));

  program.command('stop')
    .description('stop containers: SIGTERM, then SIGKILL after --time seconds')
    .argument('<containers...>')
    .option('-t, --time <seconds>', 'seconds to wait before SIGKILL', '10')
    .addOption(outputOption())
    .action(async (references: string[], flags: { time: string; output?: string }) => {
      const seconds = Number(flags.time);
      if (!Number.isInteger(seconds) || seconds < 0 || seconds > 3600) throw new Error(`Cannot use --time ${JSON.stringify(flags.time)}: expected whole seconds 0-3600`);
      await eachContainer(formatOf(flags), references, async (reference) => (await stopContainer(reference, seconds, process.env)).name);
    });

  program.command('rm')
    .description('remove containers (a running one only with -f); whatever the hooks still hold is released')
    .argument('<containers...>')
    .option('-f, --force', 'kill a running container first')
    .addOption(outputOption())
    .action(async (references: string[], flags: { force?: boolean; output?: string }) => {
      await eachContainer(formatOf(flags), references, async (reference) => (await removeContainer(reference, flags.force === true, process.env)).name);
    });
}

export function registerContainerCommands(program: Command): void {
  registerRun(program);
  registerInspection(program);
  registerLifecycle(program);
}
