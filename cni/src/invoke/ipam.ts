import { CniCode, CniError } from '../errors.js';
import type { CniPlugin, CniRequest, PluginCommand } from '../skel/plugin.js';
import type { Result } from '../spec/result.js';
import { delegateAdd, delegateCheck, delegateDel, delegateGc, delegateStatus, type DelegateOptions } from './delegate.js';

/** `ipam.type` values run in-process instead of exec'd: the same code as the executable, without a fork. */
const IN_PROCESS_IPAM = 'berth-ipam';

let berthIpam: Promise<CniPlugin> | undefined;

/** The in-process berth-ipam, loaded on first use (plugins that never delegate to it do not pay for it). */
export function inProcessIpam(): Promise<CniPlugin> {
  berthIpam ??= import('../plugins/ipam/plugin.js').then((module) => module.createBerthIpam());
  return berthIpam;
}

/** The request's `ipam.type`; a plugin that delegates IPAM without one has an invalid configuration (code 7). */
export function ipamType(request: CniRequest): string {
  const type = request.config.ipam?.type ?? '';
  if (type === '') throw new CniError(CniCode.InvalidNetworkConfig, 'Invalid network config: "ipam.type" is required');
  return type;
}

/** True when `ipamType(request)` runs in-process. */
export function isInProcessIpam(request: CniRequest): boolean {
  return ipamType(request) === IN_PROCESS_IPAM;
}

async function runIpam<T>(request: CniRequest, command: PluginCommand,
  inProcess: (plugin: CniPlugin, request: CniRequest) => Promise<T>,
  exec: (type: string) => Promise<T>): Promise<T> {
  const type = ipamType(request);
  if (type !== IN_PROCESS_IPAM) return exec(type);
  return inProcess(await inProcessIpam(), { ...request, command });
}

/**
 * IPAM for an interface plugin: ADD/DEL/CHECK/STATUS/GC of the configured `ipam.type`, with the plugin's own
 * environment and configuration (spec §4). berth-ipam runs in this process; any other type is exec'd from CNI_PATH.
 */
export function ipamAdd(request: CniRequest, options: DelegateOptions = {}): Promise<Result> {
  return runIpam(request, 'ADD', (plugin, req) => plugin.add(req), (type) => delegateAdd(type, request, options));
}

export function ipamDel(request: CniRequest, options: DelegateOptions = {}): Promise<void> {
  return runIpam(request, 'DEL', (plugin, req) => plugin.del(req), (type) => delegateDel(type, request, options));
}

export function ipamCheck(request: CniRequest, options: DelegateOptions = {}): Promise<void> {
  return runIpam(request, 'CHECK', (plugin, req) => plugin.check(req), (type) => delegateCheck(type, request, options));
}

export function ipamStatus(request: CniRequest, options: DelegateOptions = {}): Promise<void> {
  return runIpam(request, 'STATUS', async (plugin, req) => plugin.status?.(req),
    (type) => delegateStatus(type, request, options));
}

export function ipamGc(request: CniRequest, options: DelegateOptions = {}): Promise<void> {
  return runIpam(request, 'GC', async (plugin, req) => plugin.gc?.(req), (type) => delegateGc(type, request, options));
}
