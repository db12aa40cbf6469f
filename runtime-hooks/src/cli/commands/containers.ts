/**
 * `berth run|ps|exec|stop|rm|logs|inspect`: containers on Berth's networks, through an OCI runtime with runc's CLI
 * (berth-runtime when installed, else runc; `--runtime` or $BERTH_RUNTIME to choose) and Berth's hooks.
 */
import type { Command } from 'commander';
import { execInContainer, findContainer, listContainers, removeContainer, showLogs, stopContainer, viewOf } from '../../containers/lifecycle.js';
import { parseEnv, parseLabel, parsePublish, parseSecret, validateContainerName } from '../../containers/options.js';
import { monitorContainer, runContainer } from '../../containers/run.js';
import { hookPaths } from '../../hooks/paths.js';
import { RecordStore } from '../../hooks/record.js';

interface RunFlags {
  name?: string; network: string; publish: string[]; label: string[]; service?: string; secret: string[]; env: string[];
  detach?: boolean; rm?: boolean; runtime?: string;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

function print(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  return [header, ...rows].map((cells) => cells.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ').trimEnd()).join('\n');
}

function outputFormat(value: string | undefined): 'table' | 'json' {
  if (value === undefined || value === 'table' || value === 'json') return value ?? 'table';
  throw new Error(`Cannot use --output ${JSON.stringify(value)}: expected table or json`);
}

/** Sets the exit code for commands whose result is a status (run, exec), without throwing through commander. */
function exitWith(code: number): void {
  process.exitCode = code;
}

function registerRun(program: Command): void {
  program.command('run')
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
    .addHelpText('after', `
Examples:
  berth run --network web --name api -p 8080:80 --label app=api -d ./rootfs httpd -f -p 80
  berth run --rm --network web ./rootfs ping -c 1 10.89.0.2`)
    .action(async (rootfs: string, command: string[], flags: RunFlags) => {
      exitWith(await runContainer({
        network: flags.network, rootfs, command, detach: flags.detach === true, autoRemove: flags.rm === true,
        publish: flags.publish.map(parsePublish), labels: Object.fromEntries(flags.label.map(parseLabel)),
        secrets: flags.secret.map(parseSecret), env: flags.env.map(parseEnv),
        ...(flags.name === undefined ? {} : { name: validateContainerName(flags.name) }),
        ...(flags.service === undefined ? {} : { service: flags.service }),
        ...(flags.runtime === undefined ? {} : { runtime: flags.runtime }),
      }));
    });
  program.command('container-monitor', { hidden: true }).argument('<id>').action(async (id: string) => exitWith(await monitorContainer(id)));
}

function registerInspection(program: Command): void {
  program.command('ps')
    .description('list containers (running ones; -a for all)')
    .option('-a, --all', 'also exited containers')
    .option('-o, --output <format>', 'table or json', 'table')
    .action(async (flags: { all?: boolean; output?: string }) => {
      const format = outputFormat(flags.output);
      const views = await listContainers(process.env, flags.all === true);
      if (format === 'json') return print(JSON.stringify(views, null, 2));
      print(table(['CONTAINER ID', 'NAME', 'STATUS', 'NETWORK', 'ADDRESS', 'PORTS', 'COMMAND'], views.map((view) => [
        view.id.slice(0, 12), view.name, view.state, view.network, view.addresses.join(',') || '-',
        view.ports.map((port) => `${port.hostIP === undefined ? '' : `${port.hostIP}:`}${port.hostPort}->${port.containerPort}/${port.protocol}`).join(',') || '-',
        view.command.join(' ').slice(0, 40),
      ])));
    });

  program.command('inspect')
    .description('a container\'s settings, state and network attachment as JSON')
    .argument('<container>')
    .action(async (reference: string) => {
      const view = await viewOf(findContainer(reference, process.env), process.env);
      const record = new RecordStore(hookPaths(process.env).recordDir).read(view.id);
      print(JSON.stringify({ ...view, attachment: record?.network?.result ?? null, task: record?.task ?? null }, null, 2));
    });

  program.command('logs')
    .description('output of a detached container')
    .argument('<container>')
    .option('-f, --follow', 'keep printing until the container exits')
    .action((reference: string, flags: { follow?: boolean }) => showLogs(reference, flags.follow === true, process.env));
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
    .action(async (references: string[], flags: { time: string }) => {
      const seconds = Number(flags.time);
      if (!Number.isInteger(seconds) || seconds < 0 || seconds > 3600) throw new Error(`Cannot use --time ${JSON.stringify(flags.time)}: expected whole seconds 0-3600`);
      for (const reference of references) print((await stopContainer(reference, seconds, process.env)).name);
    });

  program.command('rm')
    .description('remove containers (a running one only with -f); whatever the hooks still hold is released')
    .argument('<containers...>')
    .option('-f, --force', 'kill a running container first')
    .action(async (references: string[], flags: { force?: boolean }) => {
      for (const reference of references) print((await removeContainer(reference, flags.force === true, process.env)).name);
    });
}

export function registerContainerCommands(program: Command): void {
  registerRun(program);
  registerInspection(program);
  registerLifecycle(program);
}
