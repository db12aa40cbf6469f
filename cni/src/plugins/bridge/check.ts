import { CniCode, CniError } from '../../errors.js';
import { ipamCheck } from '../../invoke/ipam.js';
import { parseCidr } from '../../net/ip.js';
import { withRtnl } from '../../net/rtnl.js';
import { fullIdentity, masqueradeElements } from '../../nat/elements.js';
import { macspoofElements } from '../../nat/macspoof.js';
import type { CniRequest } from '../../skel/plugin.js';
import type { Result } from '../../spec/result.js';
import { parseBridgeConfig, type BridgeConfig } from './config.js';
import { checkFailed, checkInterface } from '../common/container-iface.js';
import { attachmentTag, hostVethName } from './names.js';
import { withContainerRtnl } from '../common/netns.js';
import { withHostTables } from './tables.js';

/** The container interface of the cached result: the one in CNI_NETNS named CNI_IFNAME. */
function containerEntry(request: CniRequest, result: Result): { index: number; mac: string | undefined } {
  const index = (result.interfaces ?? []).findIndex((entry) => entry.name === request.ifName && entry.sandbox !== undefined);
  if (index < 0) throw checkFailed(`prevResult lists no interface ${request.ifName} inside a sandbox`);
  return { index, mac: result.interfaces?.[index]?.mac };
}

async function checkHostSide(request: CniRequest, config: BridgeConfig, containerPeerIndex: number | undefined): Promise<void> {
  const hostVeth = hostVethName(request.containerId, request.ifName);
  await withRtnl(request.hostNetns, async (host) => {
    const bridge = await host.links.find(config.bridge);
    if (bridge?.kind !== 'bridge') throw checkFailed(`bridge ${config.bridge} does not exist`);
    const veth = await host.links.find(hostVeth);
    if (veth === undefined) throw checkFailed(`host veth ${hostVeth} does not exist`);
    if (veth.masterIndex !== bridge.index) throw checkFailed(`host veth ${hostVeth} is not a port of bridge ${config.bridge}`);
    if (containerPeerIndex !== undefined && containerPeerIndex !== veth.index) {
      throw checkFailed(`container interface ${request.ifName} is not the peer of host veth ${hostVeth}`);
    }
  });
}

async function checkNftables(request: CniRequest, config: BridgeConfig, result: Result, index: number, mac: string | undefined): Promise<void> {
  if (!config.ipMasq && !config.macspoofchk) return;
  const tag = attachmentTag(request);
  const ips = (result.ips ?? []).filter((ip) => ip.interface === index).map((ip) => parseCidr(ip.address));
  await withHostTables(request.hostNetns, async (tables) => {
    const missing = [
      ...(config.ipMasq ? (await tables.nat()).missing(masqueradeElements(tag, ips)) : []),
      ...(config.macspoofchk && mac !== undefined ? (await tables.macspoof()).missing(macspoofElements(tag, hostVethName(request.containerId, request.ifName), mac)) : []),
    ];
    if (missing.length > 0) throw checkFailed(`nftables elements missing for ${tag}: ${missing.map(fullIdentity).join('; ')}`);
  });
}

/** CHECK: the container interface, its addresses and routes, the host end on the bridge, IPAM, NAT and MAC check. */
export async function bridgeCheck(request: CniRequest): Promise<void> {
  const config = parseBridgeConfig(request);
  const result = request.config.prevResult;
  if (result === undefined) throw new CniError(CniCode.InvalidNetworkConfig, 'Invalid network config: CHECK needs "prevResult"');
  const { index, mac } = containerEntry(request, result);
  const link = await withContainerRtnl(request.netns, (container) => checkInterface(container, request.ifName, {
    ips: (result.ips ?? []).filter((ip) => ip.interface === index),
    routes: config.disableContainerInterface ? [] : result.routes ?? [],
    ...(mac === undefined ? {} : { mac }),
  }));
  if (link.kind !== 'veth') throw checkFailed(`interface ${request.ifName} is a ${link.kind ?? 'physical'} link, not a veth`);
  await checkHostSide(request, config, link.parentIndex);
  if (config.hasIpam) await ipamCheck(request);
  await checkNftables(request, config, result, index, mac);
}
