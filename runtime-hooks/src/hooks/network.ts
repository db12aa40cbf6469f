/**
 * The container's network, as an engine would attach it: pin the netns, run the conflist's ADD (in order, prevResult
 * chained, capability arguments and the runtime's `args`), and undo with DEL in reverse order.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { CniError, execConflist, parseConflist, withRtnl, type CniPlugin, type JsonObject } from '@berth/cni';
import { pinNamespace, unpinNamespace } from '@berth/netns-napi';
import type { ContainerSpec } from './annotations.js';
import { HookCode, HookError } from './errors.js';
import type { HookPaths } from './paths.js';
import { stageHost } from './stage-host.js';
import type { NetworkRecord } from './record.js';

export const containerIfName = 'eth0';
/** Each plugin call is bounded; a whole conflist of a few plugins stays well inside the stage's budget. */
export const pluginTimeoutMs = 20_000;
const conflistsScannedMax = 4096;

export function pinPath(paths: HookPaths, containerId: string): string {
  return join(paths.netnsDir, containerId);
}

export function pinNetns(source: string, pin: string): void {
  try {
    pinNamespace(source, pin);
  } catch (error) {
    throw new HookError(HookCode.NetworkFailed, `Cannot pin the container's network namespace ${source} at ${pin}: ${(error as Error).message}`, { cause: error });
  }
}

export function unpinNetns(pin: string): void {
  unpinNamespace(pin);
}

/** The conflist named `name` in the CNI config directory: `<name>.conflist`, else any `*.conflist` declaring it. */
export function findConflist(dir: string, name: string): Record<string, unknown> {
  const direct = join(dir, `${name}.conflist`);
  const files = existsSync(direct) ? [direct] : (existsSync(dir) ? readdirSync(dir) : [])
    .filter((file) => file.endsWith('.conflist')).sort().slice(0, conflistsScannedMax).map((file) => join(dir, file));
  for (const file of files) {
    let value: unknown;
    try {
      value = JSON.parse(readFileSync(file, 'utf8'));
    } catch {
      continue;
    }
    if (typeof value === 'object' && value !== null && (value as { name?: unknown }).name === name) return value as Record<string, unknown>;
  }
  throw new HookError(HookCode.NetworkNotFound, `No network ${JSON.stringify(name)} in ${dir} (create it with: berth network create ${name})`);
}

function declares(conflist: Record<string, unknown>, capability: string): boolean {
  const plugins = Array.isArray(conflist['plugins']) ? conflist['plugins'] as { capabilities?: Record<string, unknown> }[] : [];
  return plugins.some((plugin) => plugin.capabilities?.[capability] === true);
}

/**
 * The attachment the hook runs for `spec` on network `name`: the conflist with the runtime's `args` (labels, as the
 * CNI conventions' args.cni.labels) added to every plugin, CNI_ARGS with the firewall namespace, and the capability
 * arguments. A port or address the network cannot take is refused here, before anything is created.
 */
export function planNetwork(paths: HookPaths, name: string, spec: ContainerSpec): NetworkRecord {
  const conflist = findConflist(paths.cniConfDir, name);
  if (spec.portMappings.length > 0 && !declares(conflist, 'portMappings')) {
    throw new HookError(HookCode.InvalidAnnotation, `Cannot publish ports on network ${name}: none of its plugins takes portMappings`);
  }
  if (spec.ips.length > 0 && !declares(conflist, 'ips')) {
    throw new HookError(HookCode.InvalidAnnotation, `Cannot request addresses on network ${name}: none of its plugins takes the ips capability`);
  }
  const labels = Object.entries(spec.labels).map(([key, value]) => ({ key, value }));
  const plugins = (Array.isArray(conflist['plugins']) ? conflist['plugins'] : []).map((plugin: unknown) =>
    (typeof plugin === 'object' && plugin !== null ? { ...plugin, args: { cni: { labels } } } : plugin));
  const withArgs = { ...conflist, plugins };
  try {
    parseConflist(withArgs as JsonObject);
  } catch (error) {
    throw new HookError(HookCode.NetworkFailed, `Cannot use network ${name}: ${(error as Error).message}`);
  }
  return {
    name, conflist: withArgs, ifName: containerIfName,
    args: `IgnoreUnknown=1;K8S_POD_NAMESPACE=${spec.namespace}${spec.name === undefined ? '' : `;K8S_POD_NAME=${spec.name}`}`,
    capabilityArgs: {
      ...(spec.portMappings.length > 0 ? { portMappings: spec.portMappings } : {}),
      ...(spec.ips.length > 0 ? { ips: spec.ips } : {}),
    },
  };
}

export interface CniRunContext {
  readonly paths: HookPaths;
  /** The limit for the next plugin exec (what is left of the stage, at most pluginTimeoutMs). */
  readonly timeoutMs: () => number;
  /** The plugins' environment besides CNI_*: a clean one, as an engine's daemon gives them. */
  readonly pluginEnv: Readonly<Record<string, string>>;
  readonly log: (text: string) => void;
}

/**
 * Berth's own plugins run inside the hook, the same plugin functions as their executables (DESIGN §3: one function
 * serves the executable and the in-process paths), saving a Node start per plugin per stage; any other type (the
 * reference plugins, a third party's) is exec'd from CNI_PATH as an engine does.
 */
const inProcess: Readonly<Record<string, () => Promise<CniPlugin>>> = {
  'berth-bridge': async () => (await import('@berth/cni')).createBerthBridge(),
  'berth-macvlan': async () => (await import('@berth/cni')).createBerthMacvlan(),
  'berth-host-device': async () => (await import('@berth/cni')).createBerthHostDevice(),
  'berth-none': async () => (await import('@berth/cni')).createBerthNone(),
  'berth-portmap': async () => (await import('@berth/cni')).createBerthPortmap(),
  // As its executable does: on a host in a cluster it registers through berthd (chosen from the call's BERTH_ROOT);
  // inside berthd (a run it serves), with berthd's own registry.
  'berth-firewall': async () => {
    const { createFirewallPlugin, execRegistryFor } = await import('@berth/firewall');
    return createFirewallPlugin({ registry: (request) => (stageHost().firewallRegistry ?? execRegistryFor(request.env))(request) });
  },
};

function runOptions(context: CniRunContext, onAddStart?: (index: number) => void) {
  return {
    pluginDirs: context.paths.cniPath, baseEnv: context.pluginEnv, timeoutMs: context.timeoutMs(), stderr: context.log, inProcess,
    ...(onAddStart === undefined ? {} : { onAddStart }),
  };
}

function attachment(network: NetworkRecord, containerId: string, netns: string) {
  return { containerId, netns, ifName: network.ifName, args: network.args, capabilityArgs: network.capabilityArgs };
}

function cniFailure(action: string, network: string, error: unknown): HookError {
  const reason = error instanceof CniError ? `${error.message} (CNI code ${error.code})` : (error as Error).message;
  return new HookError(HookCode.NetworkFailed, `Cannot ${action} network ${network}: ${reason}`, { cause: error });
}

/**
 * CNI ADD of the whole conflist; returns the printed result (to be recorded for DEL). `onStart(n)` runs before the
 * n-th plugin (from 1), so the caller can record how far it got before the plugin can change anything.
 */
export async function addNetwork(context: CniRunContext, network: NetworkRecord, containerId: string, netns: string,
  onStart: (started: number) => void): Promise<Record<string, unknown>> {
  try {
    const outcome = await execConflist(network.conflist as JsonObject, { command: 'ADD', attachment: attachment(network, containerId, netns) },
      runOptions(context, (index) => onStart(index + 1)));
    return outcome.raw as Record<string, unknown>;
  } catch (error) {
    throw cniFailure('attach to', network.name, error);
  }
}

function conflistPlugins(network: NetworkRecord): Record<string, unknown>[] {
  return Array.isArray(network.conflist['plugins']) ? network.conflist['plugins'] as Record<string, unknown>[] : [];
}

/** Berth's plugins whose DEL without a netns leaves nothing of theirs: what they made inside the netns goes with it. */
const detachWithoutNetns: ReadonlySet<string> = new Set(['berth-bridge', 'berth-portmap', 'berth-firewall']);

/** Whether DEL without a netns (CNI_NETNS empty) leaves nothing of the network once the container's netns is gone. */
export function detachesWithoutNetns(network: NetworkRecord): boolean {
  return conflistPlugins(network).every((plugin) => detachWithoutNetns.has(String(plugin['type'])));
}

/**
 * CNI DEL, in reverse order, of the plugins ADD started (all of them once ADD succeeded), with the recorded result.
 * Unlike an engine's DEL it goes on past a failing plugin, so one broken plugin does not keep the others' state; the
 * first failure is thrown after all ran. Plugins treat what is already gone as success.
 */
export async function delNetwork(context: CniRunContext, network: NetworkRecord, containerId: string, netns: string): Promise<void> {
  const plugins = conflistPlugins(network);
  const started = network.result === undefined ? Math.min(network.started ?? plugins.length, plugins.length) : plugins.length;
  let failure: unknown;
  for (let index = started - 1; index >= 0; index -= 1) {
    try {
      await execConflist({ ...network.conflist, plugins: [plugins[index]] } as JsonObject, {
        command: 'DEL', attachment: attachment(network, containerId, netns),
        ...(network.result === undefined ? {} : { prevResult: network.result as JsonObject }),
      }, runOptions(context));
    } catch (error) {
      failure ??= error;
    }
  }
  if (failure !== undefined) throw cniFailure('detach from', network.name, failure);
}

/** `none`: the container's loopback up, nothing else. */
export async function loopbackUp(netns: string): Promise<void> {
  try {
    await withRtnl(netns, (rtnl) => rtnl.links.setUp('lo'));
  } catch (error) {
    throw new HookError(HookCode.NetworkFailed, `Cannot bring up loopback in ${netns}: ${(error as Error).message}`, { cause: error });
  }
}
