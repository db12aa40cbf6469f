import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { StdioOptions } from 'node:child_process';
import { isCapabilityName } from './capabilities.js';
import { procsFiles } from './cgroups.js';
import { writePidFile } from './create.js';
import { RuntimeError } from './errors.js';
import { spawnInit } from './helper.js';
import type { PlanRecord } from './plan-records.js';
import { processSteps, withHome } from './plan-process.js';
import { readPasswd } from './prepare.js';
import type { NamespaceType, Process } from './spec.js';
import type { StateStore } from './state.js';
import { parseSpec, readProcess } from './validate.js';

export interface ExecOptions {
  readonly id: string;
  readonly args: readonly string[];
  readonly detach: boolean;
  readonly tty: boolean;
  readonly env: readonly string[];
  readonly cwd?: string;
  readonly processFile?: string;
  readonly user?: string;
  readonly pidFile?: string;
  readonly consoleSocket?: string;
  readonly noNewPrivileges: boolean;
  readonly addCapabilities: readonly string[];
  readonly stdio: StdioOptions;
}

/** /proc/PID/ns names; the mount namespace is joined last, so the other paths still resolve on the host. */
const namespaceFiles: readonly (readonly [NamespaceType, string])[] = [
  ['user', 'user'], ['ipc', 'ipc'], ['uts', 'uts'], ['network', 'net'], ['pid', 'pid'], ['cgroup', 'cgroup'], ['mount', 'mnt'],
];

/** The process to run, as runc builds it: --process, or the container's process with the command line's changes. */
function execProcess(base: Process, options: ExecOptions): Process {
  if (options.processFile !== undefined) {
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(options.processFile, 'utf8'));
    } catch (error) {
      throw new RuntimeError(`cannot read --process ${options.processFile}: ${(error as Error).message}`);
    }
    return readProcess(raw);
  }
  if (options.args.length === 0) throw new RuntimeError('exec: no command given (args must not be empty)');
  for (const capability of options.addCapabilities) {
    if (!isCapabilityName(capability)) throw new RuntimeError(`exec: unknown capability ${capability}`);
  }
  const [uid, gid] = (options.user ?? '').split(':');
  const capabilities = base.capabilities === undefined || options.addCapabilities.length === 0 ? base.capabilities : {
    bounding: [...base.capabilities.bounding, ...options.addCapabilities],
    effective: [...base.capabilities.effective, ...options.addCapabilities],
    permitted: [...base.capabilities.permitted, ...options.addCapabilities],
    inheritable: [...base.capabilities.inheritable, ...options.addCapabilities],
    ambient: [...base.capabilities.ambient, ...options.addCapabilities],
  };
  const number = (text: string | undefined, fallback: number): number => {
    if (text === undefined || text === '') return fallback;
    if (!/^\d+$/.test(text)) throw new RuntimeError(`exec: --user takes uid[:gid] as numbers, not ${options.user}`);
    return Number(text);
  };
  return {
    ...base,
    terminal: options.tty,
    args: options.args,
    env: [...base.env, ...options.env],
    cwd: options.cwd ?? base.cwd,
    user: { ...base.user, uid: number(uid, base.user.uid), gid: number(gid, base.user.gid) },
    ...(capabilities !== undefined ? { capabilities } : {}),
    noNewPrivileges: base.noNewPrivileges || options.noNewPrivileges,
  };
}

/**
 * `exec`: the helper joins the container's cgroups and namespaces, forks into its pid namespace and execs the process
 * with the container's identity rules. Resolves with the process's exit code (foreground) or 0 (detached).
 */
export async function execInContainer(store: StateStore, options: ExecOptions): Promise<{ pid: number; exitCode: Promise<number> }> {
  const record = store.load(options.id);
  const status = store.status(record);
  if (status === 'stopped' || status === 'creating') throw new RuntimeError('cannot exec in a stopped container');
  if (status === 'paused') throw new RuntimeError('cannot exec in a paused container');
  const spec = parseSpec(store.configText(options.id));
  const process = execProcess(spec.process, options);
  if (process.terminal && options.detach && options.consoleSocket === undefined) {
    throw new RuntimeError('cannot allocate tty if runc will detach without setting console socket');
  }
  const parent: PlanRecord[] = procsFiles(record.cgroups).map((file): PlanRecord => ['cgroup-join', file]);
  if (options.consoleSocket !== undefined) parent.push(['console-socket', resolve(options.consoleSocket)]);
  for (const [type, file] of namespaceFiles) {
    if (!spec.linux.namespaces.some((namespace) => namespace.type === type)) continue;
    parent.push(['setns', `/proc/${record.pid}/ns/${file}`]);
    if (type === 'user') parent.push(['become-root']);
  }
  parent.push(['fork', options.detach ? 'detached' : process.terminal ? 'wait-tty' : 'wait']);
  const terminal: PlanRecord[] = process.terminal ? [['terminal', String(process.consoleSize?.width ?? 0), String(process.consoleSize?.height ?? 0)]] : [];
  const helper = spawnInit([...parent, ...terminal, ...processSteps(process, withHome(process.env, process.user.uid, readPasswd(record.rootfs)), spec.linux.seccomp), ['exec'], ['end']], options.stdio);
  let pid = 0;
  for (;;) {
    const message = await helper.next();
    if (message.kind === 'pid') {
      pid = message.pid;
      if (options.pidFile !== undefined) writePidFile(options.pidFile, pid);
    } else if (message.kind === 'error') {
      await helper.exited;
      throw new RuntimeError(`unable to start container process: ${message.step === 'lookup' ? '' : `${message.step}: `}${message.detail}`);
    } else if (message.kind === 'eof') {
      break;
    }
  }
  if (pid === 0) throw new RuntimeError('unable to start container process: berth-init exited early');
  return { pid, exitCode: options.detach ? helper.exited.then(() => 0) : helper.exited };
}
