/**
 * The three stages. Every effect is recorded as an intent before it happens (record.ts); a stage that fails undoes
 * what it did through the same `release` that poststop runs; every stage run twice does nothing the second time.
 */
import type { Logger } from '@berth/cni';
import { parseContainerSpec } from './annotations.js';
import { readBundleFacts } from './bundle.js';
import { HookCode, HookError, oneLine } from './errors.js';
import type { HookFailpoint } from './failpoints.js';
import type { Deadline } from './deadline.js';
import { addNetwork, delNetwork, detachesWithoutNetns, loopbackUp, pinNetns, pinPath, planNetwork, pluginTimeoutMs, unpinNetns, type CniRunContext } from './network.js';
import type { OciState } from './oci-state.js';
import type { HookPaths } from './paths.js';
import { namespaceKey } from './process.js';
import { isAlive, processStat } from '../runtime/state.js';
import { RecordStore, type HookRecord, type NetworkRecord } from './record.js';
import { bindSecrets } from './secrets-mount.js';
import { deregisterTask, refusedWithoutEffect, registerTask, taskCallTimeoutMs } from './task.js';

export const STAGES = ['createRuntime', 'createContainer', 'poststop'] as const;
export type Stage = (typeof STAGES)[number];

export interface StageContext {
  readonly paths: HookPaths;
  readonly deadline: Deadline;
  readonly logger: Logger;
  readonly pluginEnv: Readonly<Record<string, string>>;
  readonly failpoint: (name: HookFailpoint) => void;
}

/** `attaching`: the work may need undoing, so calls leave the deadline's reserve for the rollback. */
function cniContext(context: StageContext, attaching: boolean): CniRunContext {
  return {
    paths: context.paths, pluginEnv: context.pluginEnv, timeoutMs: () => context.deadline.callMs(pluginTimeoutMs, attaching),
    log: (text) => context.logger.warn({ plugin: text.trim() }, 'plugin stderr'),
  };
}

function withoutTask(record: HookRecord): HookRecord {
  const { task: _dropped, ...rest } = record;
  return rest;
}

async function attach(context: StageContext, store: RecordStore, state: OciState, initial: HookRecord): Promise<void> {
  const spec = parseContainerSpec(state.annotations);
  const bundle = readBundleFacts(state.bundle);
  let record = initial;
  const save = (next: HookRecord): void => { record = next; store.write(next); };
  if (spec.network.kind === 'cni' || spec.network.kind === 'none') {
    if (bundle.network.kind === 'host') {
      throw new HookError(HookCode.InvalidAnnotation, `Cannot attach network ${spec.network.kind === 'cni' ? spec.network.name : 'none'}: the container shares the host's network namespace (config.json lists no network namespace)`);
    }
    const source = bundle.network.kind === 'path' ? bundle.network.path : `/proc/${state.pid}/ns/net`;
    const planned = spec.network.kind === 'cni' ? planNetwork(context.paths, spec.network.name, spec) : undefined;
    const pin = pinPath(context.paths, state.id);
    save({ ...record, netnsPin: pin, netnsOwned: bundle.network.kind !== 'path' });
    pinNetns(source, pin);
    context.failpoint('hook-after-pin');
    if (planned === undefined) {
      await loopbackUp(pin);
      save({ ...record, loopbackOnly: true });
    } else {
      save({ ...record, network: planned });
      const onStart = (started: number): void => save({ ...record, network: { ...planned, started } });
      const result = await addNetwork(cniContext(context, true), planned, state.id, pin, onStart);
      save({ ...record, network: { ...planned, result } });
      context.failpoint('hook-after-cni-add');
      context.logger.info({ network: planned.name, ips: (result['ips'] as { address?: string }[] | undefined)?.map((ip) => ip.address) }, 'attached');
    }
  }
  if (spec.service !== undefined) {
    save({ ...record, task: { service: spec.service } });
    const task = await registerTask({
      socketPath: context.paths.socket, timeoutMs: context.deadline.callMs(taskCallTimeoutMs, true),
      containerId: state.id, service: spec.service, labels: spec.labels, secrets: spec.secrets,
    }).catch((error: unknown) => {
      if (refusedWithoutEffect(error)) save(withoutTask(record));
      throw error;
    });
    context.failpoint('hook-after-task');
    if (task === undefined) {
      save(withoutTask(record));
      context.logger.info({ service: spec.service }, 'berthd delivers no secrets on this host (no cluster or no berthd): running without');
    } else {
      save({ ...record, task });
    }
  }
  context.failpoint('hook-before-record-done');
  save({ ...record, createRuntimeDone: true });
}

/** createRuntime: network and task; on any failure everything done so far is released before the error is thrown. */
export async function createRuntime(context: StageContext, state: OciState): Promise<void> {
  const store = new RecordStore(context.paths.recordDir);
  await store.locked(state.id, async () => {
    const existing = store.read(state.id);
    if (existing?.createRuntimeDone === true) return;
    const pidStartTicks = processStat(state.pid)?.startTicks;
    const runtimeMountNamespace = namespaceKey('/proc/thread-self/ns/mnt');
    if (pidStartTicks === undefined || runtimeMountNamespace === undefined) {
      throw new HookError(HookCode.InvalidInput, `Invalid OCI state on stdin: no running process ${state.pid} for container ${state.id}`);
    }
    const initial: HookRecord = existing ?? { version: 1, containerId: state.id, pid: state.pid, pidStartTicks, runtimeMountNamespace };
    store.write(initial);
    try {
      await attach(context, store, state, initial);
    } catch (error) {
      context.logger.error({ error: oneLine(error) }, 'createRuntime failed: releasing what it did');
      await releaseLocked(context, store, state.id).catch((cleanup: unknown) => {
        context.logger.error({ error: oneLine(cleanup) }, 'release after the failure failed: poststop or GC will retry');
      });
      throw error;
    }
  });
}

/** createContainer: the secrets bind, only when the task was registered. */
export async function createContainer(context: StageContext, state: OciState): Promise<void> {
  const store = new RecordStore(context.paths.recordDir);
  await store.locked(state.id, async () => {
    const record = store.read(state.id);
    if (record === undefined || record.createRuntimeDone !== true) {
      throw new HookError(HookCode.InvalidInput, `createContainer of ${state.id}: createRuntime did not run (or failed) for this container; are both hooks configured?`);
    }
    const secretsDir = record.task?.secretsDir;
    if (record.createContainerDone === true || secretsDir === undefined) return;
    const mount = bindSecrets({ secretsDir, rootfs: readBundleFacts(state.bundle).rootfs, runtimeMountNamespace: record.runtimeMountNamespace, pid: record.pid });
    context.failpoint('hook-after-secrets-bind');
    store.write({ ...record, secretsMount: mount, createContainerDone: true });
    context.logger.info({ mount }, 'secrets bound at /run/secrets');
  });
}

/**
 * Whether the container's netns may go before DEL: it is the container's own (not one joined by path, which lives
 * on), its process is gone (nothing of the container holds it but the pin) and every plugin leaves its container
 * side to the netns. DEL then runs without a netns, as it does under runc's poststop, and the kernel tears the veth
 * pair down with the netns instead of DEL waiting ~20 ms for each.
 */
function netnsDiesFirst(record: HookRecord, network: NetworkRecord): boolean {
  return record.netnsOwned === true && !isAlive(record.pid, record.pidStartTicks) && detachesWithoutNetns(network);
}

/**
 * Undoes what the record says was done: CNI DEL (reverse order), task deregistration, netns unpin; then forgets the
 * record. Every step is tried; a step that fails stays in the record (for the next poststop, `berth rm` or GC) and
 * the first failure is thrown after the others ran.
 */
async function releaseLocked(context: StageContext, store: RecordStore, containerId: string): Promise<void> {
  let record = store.read(containerId);
  if (record === undefined) {
    store.forgetLock(containerId);
    return;
  }
  const failures: unknown[] = [];
  const pin = record.netnsPin ?? pinPath(context.paths, containerId);
  const network = record.network;
  if (network !== undefined) {
    try {
      const unpinFirst = record.netnsPin !== undefined && netnsDiesFirst(record, network);
      if (unpinFirst) {
        unpinNetns(pin);
        const { netnsPin: _unpinned, ...rest } = record;
        record = rest;
        store.write(record);
      }
      await delNetwork(cniContext(context, false), network, containerId, unpinFirst ? '' : pin);
      const { network: _done, ...rest } = record;
      record = rest;
      store.write(record);
      context.failpoint('hook-poststop-after-del');
    } catch (error) {
      failures.push(error);
    }
  }
  if (record.task !== undefined) {
    try {
      await deregisterTask(context.paths.socket, containerId, record.task, context.deadline.callMs(taskCallTimeoutMs, false));
      record = withoutTask(record);
      store.write(record);
    } catch (error) {
      failures.push(error);
    }
  }
  if (record.network === undefined && record.netnsPin !== undefined) {
    try {
      unpinNetns(record.netnsPin);
      const { netnsPin: _done, ...rest } = record;
      record = rest;
      store.write(record);
    } catch (error) {
      failures.push(error);
    }
  }
  if (failures.length > 0) {
    for (const failure of failures) context.logger.error({ error: oneLine(failure) }, 'release step failed; kept in the record');
    throw failures[0];
  }
  store.remove(containerId);
  store.forgetLock(containerId);
  context.logger.info({ containerId }, 'released');
}

/** poststop (and `berth rm`, GC): release under the container's lock. */
export async function release(context: StageContext, containerId: string): Promise<void> {
  const store = new RecordStore(context.paths.recordDir);
  await store.locked(containerId, () => releaseLocked(context, store, containerId));
}

export async function poststop(context: StageContext, state: OciState): Promise<void> {
  await release(context, state.id);
}
