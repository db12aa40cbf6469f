import { existsSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { StdioOptions } from 'node:child_process';
import { readCgroupLayout } from './cgroup-layout.js';
import { applyResources, createCgroups, procsFiles } from './cgroups.js';
import { destroyContainer } from './destroy.js';
import { RuntimeError } from './errors.js';
import { spawnInit, type InitChannel, type StartInit } from './helper.js';
import { allInProcess, hookStateJson, runHooks, type HookState, type InProcessHooks } from './hooks.js';
import { createPlan, type ForkMode } from './plan-create.js';
import type { CgroupView } from './plan-mounts.js';
import { prepareBundle, type PreparedBundle } from './prepare.js';
import type { Spec } from './spec.js';
import { processStat, validateId, type ContainerRecord, type StateStore } from './state.js';

export interface CreateOptions {
  readonly id: string;
  readonly bundle: string;
  readonly pidFile?: string;
  readonly consoleSocket?: string;
  /** `create` and `run -d` detach; a foreground `run` keeps the helper waiting (and relaying the pty, if any). */
  readonly detach: boolean;
  readonly stdio: StdioOptions;
  /** Hooks the embedding caller runs itself (see InProcessHooks). */
  readonly inProcessHooks?: InProcessHooks;
  /** Where berth-init runs: by default a child of this process on `stdio`. */
  readonly startInit?: StartInit;
}

export interface Created {
  readonly record: ContainerRecord;
  readonly prepared: PreparedBundle;
  readonly helper: InitChannel;
}

/** runc's rules on terminals: a detached terminal needs a console socket, and a console socket needs one. */
function checkTerminal(terminal: boolean, options: CreateOptions): void {
  const detached = options.detach;
  if (terminal && detached && options.consoleSocket === undefined) {
    throw new RuntimeError('cannot allocate tty if runc will detach without setting console socket');
  }
  if (options.consoleSocket !== undefined && (!terminal || !detached)) {
    throw new RuntimeError('cannot use console socket if runc will not detach or allocate tty');
  }
}

/** The cgroup mount the container sees: its own directory of each hierarchy. */
function cgroupViewOf(record: ContainerRecord): CgroupView {
  const { cgroups } = record;
  if (cgroups.mode === 'v2') return { version: 2, hostDir: cgroups.dirs[0]?.dir ?? '/sys/fs/cgroup' };
  return { version: 1, hierarchies: cgroups.dirs.filter((entry) => entry.version === 1).map((entry) => ({ name: entry.name, hostDir: entry.dir })) };
}

function forkModeOf(detach: boolean, terminal: boolean): ForkMode {
  if (detach) return 'detached';
  return terminal ? 'wait-tty' : 'wait';
}

export function writePidFile(path: string, pid: number): void {
  const file = resolve(path);
  writeFileSync(`${file}.tmp`, String(pid));
  renameSync(`${file}.tmp`, file);
}

/**
 * `create`: everything is validated and resolved first (a refused bundle leaves nothing behind), then the state
 * directory, cgroups and the helper. The container stops at "ready", blocked on exec.fifo until `start`. Any
 * failure after the first effect destroys what was made, poststop hooks included, as runc does.
 */
export async function createContainer(store: StateStore, options: CreateOptions): Promise<Created> {
  validateId(options.id);
  const prepared = prepareBundle(options.bundle);
  const { spec } = prepared;
  checkTerminal(spec.process.terminal, options);
  if (existsSync(store.dir(options.id))) throw new RuntimeError('container with given ID already exists');
  const layout = readCgroupLayout();
  const stateDir = store.reserve(options.id);
  let record: ContainerRecord = {
    id: options.id, bundle: prepared.bundle, rootfs: prepared.rootfs, pid: 0, pidStartTicks: '',
    created: new Date().toISOString(), ociVersion: spec.ociVersion, annotations: spec.annotations,
    cgroups: { mode: layout.mode, dirs: [], created: [] },
  };
  let helper: InitChannel | undefined;
  try {
    // 0600: a config's env may carry credentials.
    writeFileSync(join(stateDir, 'config.json'), prepared.configText, { mode: 0o600 });
    store.save(record);
    record = { ...record, cgroups: createCgroups(layout, spec.linux.cgroupsPath ?? options.id) };
    store.save(record);
    applyResources(record.cgroups, spec.linux.resources, spec.linux.devices);
    // createContainer hooks the caller runs itself run from here at the same sync point (after createRuntime), not in
    // the container: the caller reaches the container's namespaces through its pid.
    const parentRunsCreateContainer = allInProcess(spec.hooks.createContainer, 'createContainer', options.inProcessHooks);
    const plan = createPlan({
      spec: parentRunsCreateContainer ? { ...spec, hooks: { ...spec.hooks, createContainer: [] } } : spec, rootfs: prepared.rootfs, stateDir, mounts: prepared.mounts, cgroupProcsFiles: procsFiles(record.cgroups),
      cgroupView: cgroupViewOf(record), env: prepared.env, forkMode: forkModeOf(options.detach, spec.process.terminal),
      ...(options.consoleSocket !== undefined ? { consoleSocket: resolve(options.consoleSocket) } : {}),
      hostHasKcore: existsSync('/proc/kcore'),
    });
    helper = options.startInit === undefined ? spawnInit(plan, options.stdio) : await options.startInit(plan);
    record = await driveInit(store, record, prepared, helper, { parentRunsCreateContainer, ...(options.inProcessHooks === undefined ? {} : { inProcessHooks: options.inProcessHooks }) });
    if (options.pidFile !== undefined) writePidFile(options.pidFile, record.pid);
    return { record, prepared, helper };
  } catch (error) {
    helper?.close();
    // The saved record knows the pid if the helper reported one.
    let latest = record;
    try {
      latest = store.load(options.id);
    } catch {
      // not saved yet: what we hold is all there is
    }
    await destroyContainer(store, latest, spec.hooks.poststop, options.inProcessHooks).catch(() => undefined);
    throw error;
  }
}

/** A new user namespace's maps, written from outside (this process has the host privileges the maps need). */
function writeIdMaps(helper: InitChannel, spec: Spec): void {
  const lines = (mappings: Spec['linux']['uidMappings']): string => mappings.map((m) => `${m.containerID} ${m.hostID} ${m.size}\n`).join('');
  try {
    writeFileSync(`/proc/${helper.pid}/uid_map`, lines(spec.linux.uidMappings));
    writeFileSync(`/proc/${helper.pid}/gid_map`, lines(spec.linux.gidMappings));
  } catch (error) {
    throw new RuntimeError(`linux.uidMappings: cannot write the user namespace's maps: ${(error as Error).message}`);
  }
}

interface HookPlan {
  readonly inProcessHooks?: InProcessHooks;
  readonly parentRunsCreateContainer: boolean;
}

/** Follows the container's init through its sync points until it is ready and waits for `start`. */
async function driveInit(store: StateStore, initial: ContainerRecord, prepared: PreparedBundle, helper: InitChannel, hooks: HookPlan): Promise<ContainerRecord> {
  let record = initial;
  const { spec } = prepared;
  for (;;) {
    const message = await helper.next();
    switch (message.kind) {
      case 'pid': {
        record = { ...record, pid: message.pid, pidStartTicks: processStat(message.pid)?.startTicks ?? '' };
        store.save(record);
        break;
      }
      case 'sync': {
        if (message.point === 'userns') {
          writeIdMaps(helper, spec);
          helper.reply([['ok']]);
          break;
        }
        const state: HookState = { ociVersion: spec.ociVersion, id: record.id, status: 'creating', pid: record.pid, bundle: record.bundle, annotations: spec.annotations };
        await runHooks('prestart', spec.hooks.prestart, state, record.bundle, hooks.inProcessHooks);
        await runHooks('createRuntime', spec.hooks.createRuntime, state, record.bundle, hooks.inProcessHooks);
        if (hooks.parentRunsCreateContainer) await runHooks('createContainer', spec.hooks.createContainer, state, record.bundle, hooks.inProcessHooks);
        helper.reply([
          ['state', 'createContainer', hookStateJson(state)],
          ['state', 'startContainer', hookStateJson({ ...state, status: 'created' })],
          ['ok'],
        ]);
        break;
      }
      case 'ready':
        return record;
      case 'error':
        throw new RuntimeError(`unable to start container process: ${message.step === 'lookup' ? '' : `error during container init: ${message.step}: `}${message.detail}`);
      case 'eof':
        throw new RuntimeError('unable to start container process: container init exited before it was ready');
    }
  }
}
