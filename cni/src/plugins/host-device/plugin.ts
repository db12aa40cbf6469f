import { THREAD_NETNS_PATH } from '@berth/netns-napi';
import { CniCode, CniError } from '../../errors.js';
import { ipamAdd, ipamCheck, ipamDel, ipamGc, ipamStatus } from '../../invoke/ipam.js';
import type { Link } from '../../net/link-model.js';
import { withRtnl, type Rtnl } from '../../net/rtnl.js';
import type { CniPlugin, CniRequest } from '../../skel/plugin.js';
import type { Result, ResultIp } from '../../spec/result.js';
import { SUPPORTED_VERSIONS } from '../../spec/version.js';
import { checkInterface, configureInterface, disableDad } from '../common/container-iface.js';
import { failpoint } from '../common/failpoints.js';
import { netnsExists, withContainerRtnl } from '../common/netns.js';
import { withUndo, type UndoStack } from '../common/undo.js';
import { parseHostDeviceConfig, type HostDeviceConfig } from './config.js';
import { listRecords, readRecord, recordPath, removeRecord, writeRecord, type HostDeviceRecord } from './state.js';

export const BERTH_HOST_DEVICE_TYPE = 'berth-host-device';

async function findHostDevice(host: Rtnl, config: HostDeviceConfig): Promise<Link> {
  const link = config.device !== undefined
    ? await host.links.find(config.device)
    : (await host.links.list()).find((entry) => entry.mac?.toLowerCase() === config.hwaddr);
  if (link === undefined) {
    throw new CniError(CniCode.Internal, `Cannot find host device ${config.device ?? `with MAC ${config.hwaddr ?? ''}`}`);
  }
  if (link.name === 'lo') throw new CniError(CniCode.InvalidNetworkConfig, 'Invalid network config: the loopback interface cannot be moved');
  return link;
}

async function addSteps(request: CniRequest, config: HostDeviceConfig, host: Rtnl, container: Rtnl, rollback: UndoStack): Promise<Result> {
  const device = await findHostDevice(host, config);
  if (await container.links.find(request.ifName) !== undefined) {
    throw new CniError(CniCode.Internal, `Cannot move ${device.name} into container ${request.containerId} as ${request.ifName}: the container already has an interface of that name`);
  }
  const record: HostDeviceRecord = {
    network: request.config.name, containerId: request.containerId, ifName: request.ifName, originalName: device.name, mac: device.mac,
  };
  // The record goes first: a crash right after the move still leaves DEL enough to bring the device home.
  const path = writeRecord(config.stateDir, record);
  rollback.push(`remove record ${path}`, () => removeRecord(path));
  await host.links.moveToNetns(device.index, request.netns, request.ifName);
  rollback.push(`move ${request.ifName} back to the host as ${device.name}`, () => moveHome(container, request.ifName, device.name, request.hostNetns));
  failpoint(request.env, 'host-device-after-move');
  disableDad(request.netns, request.ifName);
  let ips: ResultIp[] = [];
  let ipam: Result = {};
  if (config.hasIpam) {
    ipam = await ipamAdd(request);
    rollback.push('release the IPAM reservation', () => ipamDel(request));
    ips = (ipam.ips ?? []).map((ip) => ({ ...ip, interface: 0 }));
  }
  await configureInterface(container, { netnsPath: request.netns, ifName: request.ifName, addressing: { ips, routes: ipam.routes ?? [] } });
  const moved = await container.links.get(request.ifName);
  return {
    interfaces: [{ name: request.ifName, sandbox: request.netns, ...(moved.mac === undefined ? {} : { mac: moved.mac }) }],
    ...(ips.length === 0 ? {} : { ips }),
    ...(ipam.routes === undefined || ipam.routes.length === 0 ? {} : { routes: ipam.routes }),
    ...(ipam.dns === undefined ? {} : { dns: ipam.dns }),
  };
}

/** Moves the container's interface back into the plugin's (host) netns under its original name. */
async function moveHome(container: Rtnl, ifName: string, originalName: string, hostNetns: string | undefined): Promise<void> {
  await container.links.setDown(ifName);
  await container.links.moveToNetns(ifName, hostNetns ?? THREAD_NETNS_PATH, originalName);
}

/**
 * After the container netns is gone the kernel returns a physical device to the initial netns under whatever name
 * it had (or devN): found by its MAC, it gets its original name back. Virtual devices die with the netns.
 */
async function restoreName(host: Rtnl, record: HostDeviceRecord): Promise<void> {
  if (await host.links.find(record.originalName) !== undefined) return;
  if (record.mac === undefined) return;
  const device = (await host.links.list()).find((entry) => entry.mac?.toLowerCase() === record.mac?.toLowerCase() && entry.name !== 'lo');
  if (device === undefined) return;
  await host.links.setDown(device.index);
  await host.links.rename(device.index, record.originalName);
}

async function bringHome(request: CniRequest, record: HostDeviceRecord): Promise<void> {
  if (netnsExists(request.netns)) {
    await withContainerRtnl(request.netns, async (container) => {
      const link = await container.links.find(request.ifName);
      if (link !== undefined && (record.mac === undefined || link.mac?.toLowerCase() === record.mac.toLowerCase())) {
        await moveHome(container, request.ifName, record.originalName, request.hostNetns);
      }
    });
  }
  await withRtnl(request.hostNetns, (host) => restoreName(host, record));
}

async function add(request: CniRequest): Promise<Result> {
  const config = parseHostDeviceConfig(request);
  return withContainerRtnl(request.netns, (container) => withRtnl(request.hostNetns, (host) =>
    withUndo((rollback) => addSteps(request, config, host, container, rollback))));
}

/** DEL: IPAM released, the device back in the host under its original name, the record removed. */
async function del(request: CniRequest): Promise<void> {
  const config = parseHostDeviceConfig(request);
  if (config.hasIpam) await ipamDel(request);
  const path = recordPath(config.stateDir, request.containerId, request.ifName);
  const record = readRecord(path);
  if (record === undefined) return;
  await bringHome(request, record);
  removeRecord(path);
}

async function check(request: CniRequest): Promise<void> {
  const config = parseHostDeviceConfig(request);
  const record = readRecord(recordPath(config.stateDir, request.containerId, request.ifName));
  if (record === undefined) throw new CniError(CniCode.Internal, `CHECK failed: no host device was moved into container ${request.containerId} as ${request.ifName}`);
  const result = request.config.prevResult;
  await withContainerRtnl(request.netns, (container) => checkInterface(container, request.ifName, {
    ips: (result?.ips ?? []).filter((ip) => ip.interface === undefined || ip.interface === 0),
    routes: result?.routes ?? [],
    ...(record.mac === undefined ? {} : { mac: record.mac }),
  }));
  if (config.hasIpam) await ipamCheck(request);
}

/** GC: IPAM, and records of this network's attachments that are no longer valid (their devices brought home). */
async function gc(request: CniRequest): Promise<void> {
  const config = parseHostDeviceConfig(request);
  if (config.hasIpam) await ipamGc(request);
  const valid = request.config.validAttachments ?? [];
  for (const { path, record } of listRecords(config.stateDir)) {
    if (record.network !== request.config.name) continue;
    if (valid.some((item) => item.containerID === record.containerId && item.ifname === record.ifName)) continue;
    await withRtnl(request.hostNetns, (host) => restoreName(host, record));
    removeRecord(path);
  }
}

/** berth-host-device: moves a host link into the container (by name or MAC) and back on DEL. */
export function createBerthHostDevice(): CniPlugin {
  return {
    name: BERTH_HOST_DEVICE_TYPE, supportedVersions: SUPPORTED_VERSIONS, add, del, check, gc,
    status: async (request) => {
      if (parseHostDeviceConfig(request).hasIpam) await ipamStatus(request);
    },
  };
}
