import { CniCode, CniError } from '../../errors.js';
import { ipamCheck } from '../../invoke/ipam.js';
import { ownerTag } from '../../nat/owner.js';
import { inspectOverlayHost } from '../../overlay/host.js';
import { requireLocalPeer } from '../../overlay/local.js';
import { describeEntries, missingPeerEntries } from '../../overlay/program.js';
import { withRtnl } from '../../net/rtnl.js';
import { gatewayOf } from '../../overlay/plan.js';
import { validatePeers } from '../../overlay/peer.js';
import type { CniRequest } from '../../skel/plugin.js';
import { addressingOf, checkFailed, checkInterface, containerInterfaceOf } from '../common/container-iface.js';
import { hostNetnsOf, withContainerRtnl } from '../common/netns.js';
import type { VxlanConfig } from './config.js';
import { hostVethName, overlayAddresses } from './container.js';
import { membershipOf, type BerthVxlanOptions } from './context.js';
import { ipamRequestFor } from './ipam-request.js';
import { overlayMasqueradeElements, withNatTable } from './masquerade.js';

/**
 * CHECK: the container interface (kind, MAC, addresses, routes), its host end on the overlay bridge, this host's
 * overlay devices, every peer entry the peer list asks for, the IPAM reservation and the masquerade elements.
 */
export async function checkAttachment(options: BerthVxlanOptions, config: VxlanConfig, request: CniRequest): Promise<void> {
  const previous = request.config.prevResult;
  if (previous === undefined) throw new CniError(CniCode.InvalidNetworkConfig, 'Invalid network config: CHECK needs "prevResult"');
  const { peers, programsPeers } = await membershipOf(options, config);
  validatePeers(config.network, peers);
  const { index, mac } = containerInterfaceOf(previous, request.ifName, request.netns);
  await withContainerRtnl(request.netns, (container) => withRtnl(hostNetnsOf(request, options), async (host) => {
    const local = await requireLocalPeer(host, peers, config.localAddress, config.network.name);
    await ipamCheck(ipamRequestFor(request, local.peer.subnet, gatewayOf(local.peer).address));
    const overlay = await inspectOverlayHost(host, config.network, local);
    const link = await checkInterface(container, request.ifName, { ...addressingOf(previous, index), ...(mac === undefined ? {} : { mac }) });
    if (link.kind !== 'veth') throw checkFailed(`interface ${request.ifName} is a ${link.kind ?? 'physical'} link, not a veth`);
    if (link.mtu !== overlay.mtu) throw checkFailed(`interface ${request.ifName} has MTU ${link.mtu ?? '?'}, the overlay's is ${overlay.mtu}`);
    const hostEnd = await host.links.find(hostVethName(request.config.name, request.containerId, request.ifName));
    if (hostEnd === undefined || hostEnd.masterIndex !== overlay.bridge.index) {
      throw checkFailed(`the host end of ${request.ifName} is ${hostEnd === undefined ? 'missing' : 'not on'} bridge ${config.network.bridge}`);
    }
    // A leased host's peer entries are berthd's to program (and to report in its metrics), not the plugin's.
    const missing = programsPeers ? describeEntries(await missingPeerEntries(host, overlay, peers)) : [];
    if (missing.length > 0) throw checkFailed(`this host lacks peer entries: ${missing.join('; ')}`);
    if (!config.ipMasq) return;
    const owner = ownerTag({ network: request.config.name, containerId: request.containerId, ifName: request.ifName });
    const wanted = overlayMasqueradeElements(owner, overlayAddresses(addressingOf(previous, index).ips, overlay), config.network);
    const absent = await withNatTable(hostNetnsOf(request, options), options.natLockPath, async (table) => table.missing(wanted));
    if (absent.length > 0) throw checkFailed(`${absent.length} masquerade element(s) of ${owner} are missing`);
  }));
}
