import { CniCode, CniError } from '../../errors.js';
import { ipamAdd, ipamCheck, ipamDel, ipamGc, ipamStatus } from '../../invoke/ipam.js';
import { isExists } from '../../net/errors.js';
import type { Link } from '../../net/link-model.js';
import { withRtnl, type Rtnl } from '../../net/rtnl.js';
import { writeSysctl } from '../../net/sysctl.js';
import type { CniPlugin, CniRequest } from '../../skel/plugin.js';
import type { Result, ResultIp } from '../../spec/result.js';
import { SUPPORTED_VERSIONS } from '../../spec/version.js';
import { addressingOf, checkFailed, checkInterface, configureInterface, containerInterfaceOf } from '../common/container-iface.js';
import { parseMacvlanConfig, type MacvlanConfig } from './config.js';
import { resolveMaster } from './master.js';
import { hostNetnsOf, isMissingNetns, withContainerRtnl } from '../common/netns.js';
import { reportUndoFailures, withUndo, type UndoStack } from '../common/undo.js';
import { failpoint } from '../common/failpoints.js';

/** The `type` (and executable name) of Berth's macvlan plugin. */
export const BERTH_MACVLAN_TYPE = 'berth-macvlan';

export interface BerthMacvlanOptions {
  /** The host's netns, where the master lives (unless linkInContainer); default: the one this process runs in. */
  readonly hostNetns?: string;
}

function describeNetns(path: string | undefined): string {
  return path === undefined ? 'the host netns' : `netns ${path}`;
}

/** Creates the macvlan under a temporary name directly in the container netns, then gives it CNI_IFNAME there. */
async function createLink(masterRtnl: Rtnl, container: Rtnl, master: Link, config: MacvlanConfig, request: CniRequest): Promise<Link> {
  // A temporary name: the container's name may exist in the master's netns (a kernel quirk the reference works around).
  // Math.random, not node:crypto (whose load costs every plugin start ~2 ms): a clash only fails this ADD with EEXIST.
  const temporary = `bmv${Math.floor(Math.random() * 0x1_0000_0000).toString(16).padStart(8, '0')}`;
  await masterRtnl.links.createMacvlan({
    name: temporary, parent: master.index, mode: config.mode,
    ...(config.mtu === undefined ? {} : { mtu: config.mtu }),
    ...(config.mac === undefined ? {} : { mac: config.mac }),
    ...(config.linkInContainer ? {} : { netnsPath: request.netns }),
  });
  try {
    await container.links.rename(temporary, request.ifName);
  } catch (error) {
    await container.links.remove(temporary);
    if (isExists(error)) {
      throw new CniError(CniCode.Internal, `Cannot create macvlan ${request.ifName}: the container already has a link of that name`);
    }
    throw error;
  }
  return container.links.get(request.ifName);
}

async function addIpam(request: CniRequest, undo: UndoStack): Promise<Pick<Result, 'ips' | 'routes'>> {
  const ipam = await ipamAdd(request);
  undo.push('release the IPAM reservation', () => ipamDel(request));
  if ((ipam.ips ?? []).length === 0) throw new CniError(CniCode.Internal, `IPAM ${request.config.ipam?.type ?? ''} returned no address for ${request.ifName}`);
  const ips: ResultIp[] = (ipam.ips ?? []).map((ip) => ({ ...ip, interface: 0 }));
  return { ips, ...(ipam.routes === undefined ? {} : { routes: ipam.routes }) };
}

function notifySysctls(netnsPath: string, ifName: string): void {
  for (const key of [`net/ipv4/conf/${ifName}/arp_notify`, `net/ipv6/conf/${ifName}/ndisc_notify`]) {
    try {
      writeSysctl(netnsPath, key, '1');
    } catch {
      // Best effort, as the reference: gratuitous ARP/NA on link up only speeds up neighbours' learning.
    }
  }
}

/**
 * berth-macvlan: the reference macvlan plugin's behaviour (master defaulting to the default route's interface, the
 * four modes, mtu, mac from config / CNI_ARGS / runtimeConfig, linkInContainer, optional IPAM), over rtnetlink.
 */
export function createBerthMacvlan(options: BerthMacvlanOptions = {}): CniPlugin {
  const report = (failures: string[]) => reportUndoFailures(BERTH_MACVLAN_TYPE, failures);

  async function add(request: CniRequest): Promise<Result> {
    const config = parseMacvlanConfig(request);
    return withContainerRtnl(request.netns, (container) => withRtnl(hostNetnsOf(request, options), async (host) => {
      const masterRtnl = config.linkInContainer ? container : host;
      const where = config.linkInContainer ? `the container netns ${request.netns}` : describeNetns(hostNetnsOf(request, options));
      const master = await resolveMaster(masterRtnl, config.master, where);
      if (config.mtu !== undefined && master.mtu !== undefined && config.mtu > master.mtu) {
        throw new CniError(CniCode.InvalidNetworkConfig, `Invalid network config: "mtu" ${config.mtu} exceeds the MTU ${master.mtu} of master ${master.name}`);
      }
      return withUndo(async (undo) => {
        const link = await createLink(masterRtnl, container, master, config, request);
        undo.push(`delete ${request.ifName} in ${request.netns}`, () => container.links.remove(request.ifName));
        failpoint(request.env, 'macvlan-after-link');
        const interfaces = [{ name: request.ifName, ...(link.mac === undefined ? {} : { mac: link.mac }), sandbox: request.netns }];
        const dns = request.config.dns === undefined ? {} : { dns: request.config.dns };
        if (!config.hasIpam) {
          await container.links.setUp(request.ifName);
          return { interfaces, ...dns };
        }
        const result: Result = { interfaces, ...await addIpam(request, undo), ...dns };
        failpoint(request.env, 'macvlan-after-ipam');
        notifySysctls(request.netns, request.ifName);
        await configureInterface(container, { netnsPath: request.netns, ifName: request.ifName, addressing: addressingOf(result, 0) });
        failpoint(request.env, 'macvlan-after-container');
        return result;
      }, report);
    }));
  }

  async function del(request: CniRequest): Promise<void> {
    if ((request.config.ipam?.type ?? '') !== '') await ipamDel(request);
    if (request.netns === '') return;
    try {
      await withRtnl(request.netns, (container) => container.links.remove(request.ifName));
    } catch (error) {
      if (!isMissingNetns(error)) throw error;
    }
  }

  async function check(request: CniRequest): Promise<void> {
    const config = parseMacvlanConfig(request);
    if (config.hasIpam) await ipamCheck(request);
    const previous = request.config.prevResult;
    if (previous === undefined) throw new CniError(CniCode.InvalidNetworkConfig, 'Invalid network config: CHECK needs "prevResult"');
    const { index, mac } = containerInterfaceOf(previous, request.ifName, request.netns);
    await withContainerRtnl(request.netns, (container) => withRtnl(hostNetnsOf(request, options), async (host) => {
      const where = config.linkInContainer ? `the container netns ${request.netns}` : describeNetns(hostNetnsOf(request, options));
      await resolveMaster(config.linkInContainer ? container : host, config.master, where);
      const link = await checkInterface(container, request.ifName, { ...addressingOf(previous, index), ...(mac === undefined ? {} : { mac }) });
      if (link.kind !== 'macvlan') throw checkFailed(`interface ${request.ifName} is a ${link.kind ?? 'physical'} link, not a macvlan`);
      if (link.macvlan?.mode !== config.mode) {
        throw checkFailed(`macvlan ${request.ifName} is in mode ${link.macvlan?.mode ?? 'unknown'}, the config says ${config.mode}`);
      }
    }));
  }

  async function status(request: CniRequest): Promise<void> {
    const config = parseMacvlanConfig(request);
    if (config.hasIpam) await ipamStatus(request);
    if (config.master === undefined || config.linkInContainer) return;
    const master = await withRtnl(hostNetnsOf(request, options), (host) => host.links.find(config.master ?? ''));
    if (master === undefined) {
      throw new CniError(CniCode.PluginNotAvailable, `${BERTH_MACVLAN_TYPE}: master ${config.master} does not exist in ${describeNetns(hostNetnsOf(request, options))}`);
    }
  }

  async function gc(request: CniRequest): Promise<void> {
    // The only state outside container namespaces is the IPAM's; links die with their netns.
    if ((request.config.ipam?.type ?? '') !== '') await ipamGc(request);
  }

  return { name: BERTH_MACVLAN_TYPE, supportedVersions: SUPPORTED_VERSIONS, add, del, check, status, gc };
}
