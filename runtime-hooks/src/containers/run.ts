/**
 * `berth run`: builds the bundle under $BERTH_ROOT/containers/<id>/ and runs it with the OCI runtime and Berth's
 * hooks. In the foreground the container's output streams through and its exit status is ours (Ctrl-C and SIGTERM
 * are forwarded: the runtime passes them to the container); detached, a monitor process runs it with its output in
 * container.log and records the exit. Either way the container is finished (runtime delete, hooks released) when its
 * process ends, and a container that fails to start leaves nothing.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, statSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isDnsSubdomain } from '@berth/cni';
import type { PortMapping } from '../hooks/annotations.js';
import { findConflist } from '../hooks/network.js';
import { berthHookPath, berthOciHooks, hookEnvFrom } from '../hooks/oci-hooks.js';
import { hookPaths } from '../hooks/paths.js';
import { collectLeftovers, finishContainer } from './finish.js';
import type { SecretRequest } from './options.js';
import { EmbeddedRuntime, type EmbeddedRunOutcome } from '../runtime/embedded.js';
import type { InitSource } from '../runtime/run.js';
import { RuntimeCli, containerRuntime, defaultRuntime, isInstalledBerthRuntime } from './runtime.js';
import { grantSecrets } from './secrets-grant.js';
import { buildSpec } from './spec.js';
import { ContainerStore, type ContainerMeta } from './store.js';

export interface RunRequest {
  readonly name?: string;
  readonly network: string;
  readonly publish: readonly PortMapping[];
  readonly labels: Readonly<Record<string, string>>;
  readonly service?: string;
  readonly secrets: readonly SecretRequest[];
  readonly env: readonly string[];
  readonly detach: boolean;
  readonly autoRemove: boolean;
  readonly rootfs: string;
  readonly command: readonly string[];
  readonly runtime?: string;
}

/** docker's code for "the container could not be started" (as opposed to the container's own exit status). */
export const startFailedExitCode = 125;
const detachedStartWaitMsMax = 120_000;
const cliPath = join(berthHookPath, '..', 'berth.js');

/**
 * Only the hook stages with work to do (each is a process start on the container's path): createRuntime and poststop
 * for a CNI network or a service (task); createContainer for a service (its secrets). `--network none` without a
 * service needs none: the runtime brings loopback up in the new netns (runc does, as berth-runtime must).
 */
function hooksFor(request: RunRequest, service: string | undefined, env: NodeJS.ProcessEnv) {
  const all = berthOciHooks(hookEnvFrom(env));
  const attach = service !== undefined || (request.network !== 'none' && request.network !== 'host');
  return {
    createRuntime: attach ? all.createRuntime : [], poststop: attach ? all.poststop : [],
    createContainer: service !== undefined ? all.createContainer : [],
  };
}

/** The container's name as a firewall endpoint name (a lowercase DNS subdomain), or none when it cannot be one. */
function endpointName(name: string): string | undefined {
  const lowered = name.toLowerCase().replace(/_/g, '-');
  return isDnsSubdomain(lowered) ? lowered : undefined;
}

function annotationsOf(request: RunRequest, name: string, service: string | undefined): Record<string, string> {
  const annotations: Record<string, string> = { 'berth.network': request.network };
  // policy explain, the endpoint list and the console then show "db", not the container's 64-hex id.
  const endpoint = endpointName(name);
  if (endpoint !== undefined) annotations['berth.name'] = endpoint;
  if (request.publish.length > 0) annotations['berth.ports'] = JSON.stringify(request.publish);
  if (Object.keys(request.labels).length > 0) annotations['berth.labels'] = JSON.stringify(request.labels);
  if (service !== undefined) annotations['berth.service'] = service;
  // The files the container needs under /run/secrets: what berthd's task answer lists, so the hook can check them.
  if (request.secrets.length > 0) annotations['berth.secrets'] = JSON.stringify(request.secrets.map((secret) => secret.target));
  return annotations;
}

/** Checks everything that can be checked before creating anything; returns the new container's metadata. */
async function prepare(request: RunRequest, env: NodeJS.ProcessEnv, store: ContainerStore): Promise<ContainerMeta> {
  const paths = hookPaths(env);
  const rootfs = resolve(request.rootfs);
  if (!existsSync(rootfs) || !statSync(rootfs).isDirectory()) throw new Error(`Cannot run ${request.rootfs}: not a directory (expected a root filesystem)`);
  if (request.network !== 'host' && request.network !== 'none') findConflist(paths.cniConfDir, request.network);
  if (request.publish.length > 0 && (request.network === 'host' || request.network === 'none')) {
    throw new Error(`Cannot publish ports with --network ${request.network}: ports are published from a CNI network`);
  }
  const id = randomBytes(32).toString('hex');
  const name = request.name ?? `berth-${id.slice(0, 12)}`;
  if (store.list().some((meta) => meta.name === name)) throw new Error(`Cannot use --name ${name}: a container has that name (berth rm ${name})`);
  const service = request.service ?? (request.secrets.length > 0 ? name : undefined);
  if (request.secrets.length > 0 && service !== undefined) await grantSecrets(paths.socket, service, request.secrets);
  const runtime = request.runtime ?? defaultRuntime(env);
  const meta: ContainerMeta = {
    id, name, created: new Date().toISOString(), rootfs, command: request.command, network: request.network,
    ports: request.publish, labels: request.labels, secrets: request.secrets.map((secret) => secret.name),
    detached: request.detach, autoRemove: request.autoRemove, runtime, runtimeRoot: join(paths.runDir, 'runtime'), status: 'created',
    ...(service === undefined ? {} : { service }),
  };
  store.writeBundle(id, buildSpec({
    rootfs, args: request.command, env: request.env, hostname: name, terminal: false, hostNetwork: request.network === 'host',
    annotations: annotationsOf(request, name, service), hooks: hooksFor(request, service, env),
  }));
  store.write(meta);
  return meta;
}

/** A line the runtime (not the container) writes when it could not start the container. */
const runtimeFailureLine = /^(time="[^"]*" level=error msg="\w[\w-]* (run|create|start) failed: |(runc|berth-runtime): )/;
/** The runtime's own lines that berth run replaces with its one line: the failure, and a hook's failure on delete. */
const runtimeLine = /^time="[^"]*" level=\w+ msg="(\w[\w-]* (run|create|start) failed: |error running hook #\d+: )|^(runc|berth-runtime): /;

/** The reason berth run gives for a runtime's failure `text`: the hook's own line when a hook failed. */
function failureReason(text: string, clean: (part: string) => string = (part) => part): string {
  const hook = text.indexOf('berth-hook ');
  if (hook >= 0) return clean(text.slice(hook));
  if (/signal: killed/.test(text)) return 'a hook was killed (see the hook log)';
  return clean(text.replace(/^.*msg="?/, ''));
}

/** The runtime's failure line, reduced to the hook's own reason when a hook failed; undefined when it started. */
export function startFailure(stderr: string): string | undefined {
  const line = stderr.split('\n').find((text) => runtimeFailureLine.test(text));
  if (line === undefined) return undefined;
  // runc quotes the hook's stderr inside its own quoted msg: newlines and quotes arrive escaped once or twice.
  const unescape = (text: string): string => text.replace(/\\+"/g, '"').replace(/(\\+n)+"?$/, '').replace(/"$/, '');
  return failureReason(line, unescape);
}

/**
 * Where a foreground run's own message goes and where its container's init and signals come from: this process's
 * stderr, a child berth-init on this process's stdio and this process's signals, unless berthd serves the run for
 * berth's front end (daemon/run-service.ts).
 */
export interface ForegroundIo extends InitSource {
  readonly report: (text: string) => void;
}

const processIo: ForegroundIo = { report: (text) => process.stderr.write(text) };

/** How a foreground run ended: the container's exit status, or why it did not start. */
type RunOutcome = { readonly code: number } | { readonly reason: string };

/** The runtime executable's `run` in the foreground: its stderr filtered (see runtimeLine), signals forwarded. */
async function runExecuted(runtime: RuntimeCli, meta: ContainerMeta, store: ContainerStore): Promise<RunOutcome> {
  const child = runtime.attached(['run', '--bundle', store.bundleDir(meta.id), meta.id], ['inherit', 'inherit', 'pipe']);
  let stderr = '';
  const forward = (signal: NodeJS.Signals) => (): void => child.kill(signal);
  const onInt = forward('SIGINT');
  const onTerm = forward('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  child.stderr?.on('data', (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    if (stderr.length < 65_536) stderr += text;
    // The runtime's own failure line is replaced by one line of ours; the container's output passes as it is.
    const passed = text.split('\n').filter((line) => !runtimeLine.test(line)).join('\n');
    if (passed !== '') process.stderr.write(passed);
  });
  try {
    const code = await child.done;
    const reason = startFailure(stderr);
    return reason === undefined ? { code } : { reason };
  } finally {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
  }
}

/** berth-runtime embedded: the container shares this process's stdio; signals go to it (the runtime forwards them). */
async function runEmbedded(runtime: EmbeddedRuntime, meta: ContainerMeta, store: ContainerStore, io: ForegroundIo): Promise<RunOutcome> {
  const outcome = await runtime.run(meta.id, store.bundleDir(meta.id), { ...io, log: false });
  return 'code' in outcome ? outcome : { reason: failureReason(outcome.failure) };
}

async function runForeground(meta: ContainerMeta, env: NodeJS.ProcessEnv, store: ContainerStore, io: ForegroundIo): Promise<number> {
  const runtime = containerRuntime(meta.runtime, meta.runtimeRoot);
  store.update(meta.id, { status: 'running' });
  const outcome = runtime instanceof EmbeddedRuntime
    ? await runEmbedded(runtime, meta, store, io)
    : await runExecuted(runtime, meta, store);
  if ('code' in outcome) {
    await finishContainer(meta, outcome.code, env, meta.autoRemove);
    return outcome.code;
  }
  await finishContainer(meta, undefined, env, true);
  io.report(`berth: cannot start container ${meta.name}: ${outcome.reason}\n`);
  return startFailedExitCode;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function runDetached(meta: ContainerMeta, env: NodeJS.ProcessEnv, store: ContainerStore): Promise<number> {
  const log = openSync(store.logFile(meta.id), 'a', 0o600);
  let monitorPid: number | undefined;
  try {
    const monitor = spawn(process.execPath, [cliPath, 'container-monitor', meta.id], { detached: true, stdio: ['ignore', log, log], env });
    monitor.unref();
    monitorPid = monitor.pid;
  } finally {
    closeSync(log);
  }
  if (monitorPid === undefined) throw new Error('Cannot start the container monitor');
  store.update(meta.id, { monitorPid });
  const runtime = containerRuntime(meta.runtime, meta.runtimeRoot);
  const deadline = Date.now() + detachedStartWaitMsMax;
  while (Date.now() < deadline) {
    if ((await runtime.status(meta.id)) === 'running') {
      process.stdout.write(`${meta.id}\n`);
      return 0;
    }
    const current = store.read(meta.id);
    if (current === undefined || current.status === 'exited' || !processAlive(monitorPid)) {
      const failure = startFailure(existsSync(store.logFile(meta.id)) ? readFileSync(store.logFile(meta.id), 'utf8') : '');
      if (failure === undefined && current?.status === 'exited') {
        process.stdout.write(`${meta.id}\n`);
        return 0;
      }
      process.stderr.write(`berth: cannot start container ${meta.name}: ${failure ?? 'the runtime exited (see berth logs)'}\n`);
      if (current !== undefined) await finishContainer(current, undefined, env, true);
      return startFailedExitCode;
    }
    await sleep(25);
  }
  process.stderr.write(`berth: container ${meta.name} is not running after ${detachedStartWaitMsMax} ms; see berth logs ${meta.name}\n`);
  return startFailedExitCode;
}

export async function runContainer(request: RunRequest, env: NodeJS.ProcessEnv = process.env, io: ForegroundIo = processIo): Promise<number> {
  const store = new ContainerStore(hookPaths(env).root);
  await collectLeftovers(env);
  const meta = await prepare(request, env, store);
  return request.detach ? runDetached(meta, env, store) : runForeground(meta, env, store, io);
}

/** Whether a run can take its container's init and signals from elsewhere (ForegroundIo): berth-runtime, foreground. */
export function servableRun(request: RunRequest, env: NodeJS.ProcessEnv): boolean {
  return !request.detach && isInstalledBerthRuntime(request.runtime ?? defaultRuntime(env));
}

function codeOf(outcome: EmbeddedRunOutcome): number {
  return 'code' in outcome ? outcome.code : 1;
}

/** `berth container-monitor ID` (spawned by `berth run -d`): runs the container, records its exit, finishes it. */
export async function monitorContainer(id: string, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const store = new ContainerStore(hookPaths(env).root);
  const meta = store.read(id);
  if (meta === undefined) throw new Error(`No container ${id}`);
  for (const signal of ['SIGINT', 'SIGHUP', 'SIGTERM'] as const) process.on(signal, () => undefined);
  const runtime = containerRuntime(meta.runtime, meta.runtimeRoot);
  store.update(id, { status: 'running' });
  // The runtime's failure goes into the container's log (this process's stderr), where `berth run -d` reads it.
  const code = runtime instanceof EmbeddedRuntime
    ? codeOf(await runtime.run(id, store.bundleDir(id), { log: true }))
    : await runtime.attached(['run', '--bundle', store.bundleDir(id), id], ['ignore', 'inherit', 'inherit']).done;
  const current = store.read(id) ?? meta;
  // A failed start is `berth run -d`'s to report (it reads the reason from the log) and to remove.
  const failed = startFailure(existsSync(store.logFile(id)) ? readFileSync(store.logFile(id), 'utf8') : '') !== undefined;
  await finishContainer(current, failed ? undefined : code, env, current.autoRemove && !failed);
  return 0;
}
