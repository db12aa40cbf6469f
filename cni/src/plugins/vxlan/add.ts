import { CniCode, CniError } from '../../errors.js';
import { ipamAdd, ipamDel } from '../../invoke/ipam.js';
import { cidrContains, formatCidr, formatIp } from '../../net/ip.js';
import { withRtnl, type Rtnl } from '../../net/rtnl.js';
import { ownerTag } from '../../nat/owner.js';
import { masqueradeSets } from '../../nat/ruleset.js';
import { describeNetwork } from '../../overlay/network.js';
import { reconcileOverlay } from '../../overlay/reconcile.js';
import { ensureOverlayHost, type OverlayHost } from '../../overlay/host.js';
import { requireLocalPeer } from '../../overlay/local.js';
import type { CniRequest } from '../../skel/plugin.js';
import type { Result } from '../../spec/result.js';
import { addressingOf, configureInterface } from '../common/container-iface.js';
import { hostNetnsOf, withContainerRtnl } from '../common/netns.js';
import { reportUndoFailures, withUndo, type UndoStack } from '../common/undo.js';
import { failpoint } from '../common/failpoints.js';
import type { VxlanConfig } from './config.js';
import { containerIps, containerRoutes, createContainerVeth, overlayAddresses } from './container.js';
import { BERTH_VXLAN_TYPE, membershipOf, type BerthVxlanOptions } from './context.js';
import { ipamRequestFor } from './ipam-request.js';
import { overlayMasqueradeElements, withNatTable } from './masquerade.js';

/** Brings this host into the overlay (devices, peer entries), then attaches the container to the host's bridge. */
export async function addAttachment(options: BerthVxlanOptions, config: VxlanConfig, request: CniRequest): Promise<Result> {
  const { peers, programsPeers } = await membershipOf(options, config);
  return withContainerRtnl(request.netns, (container) => withRtnl(hostNetnsOf(request, options), async (host) => {
    const hostNetns = hostNetnsOf(request, options);
    const report = programsPeers
      ? await reconcileOverlay(host, hostNetns, config.network, peers, config.localAddress)
      : { member: true as const, host: await ensureOverlayHost(host, hostNetns, config.network, await requireLocalPeer(host, peers, config.localAddress, config.network.name)) };
    failpoint(request.env, 'vxlan-after-overlay');
    if (!report.member) {
      throw new CniError(CniCode.InvalidNetworkConfig, `Invalid network config: this host is not one of the ${peers.length} peers of ${describeNetwork(config.network)}`);
    }
    return withUndo((undo) => attach(options, config, request, { host, container, overlay: report.host, undo }),
      (failures) => reportUndoFailures(BERTH_VXLAN_TYPE, failures));
  }));
}

interface AttachContext { readonly host: Rtnl; readonly container: Rtnl; readonly overlay: OverlayHost; readonly undo: UndoStack }

async function attach(options: BerthVxlanOptions, config: VxlanConfig, request: CniRequest, context: AttachContext): Promise<Result> {
  const { overlay, undo } = context;
  const ipamRequest = ipamRequestFor(request, overlay.local.peer.subnet, overlay.gateway.address);
  const ipam = await ipamAdd(ipamRequest);
  undo.push('release the IPAM reservation', () => ipamDel(ipamRequest));
  failpoint(request.env, 'vxlan-after-ipam');
  const ips = containerIps(ipam.ips ?? [], overlay, 2);
  const addresses = overlayAddresses(ips, overlay);
  if (addresses.length === 0) throw new CniError(CniCode.Internal, `IPAM ${request.config.ipam?.type ?? ''} returned no IPv4 address for ${request.ifName}`);
  // Peers route only this host's subnet here: an address elsewhere (an `ipam.ranges` wider than the subnet) would
  // be unreachable from every other host.
  const subnet = overlay.local.peer.subnet;
  for (const address of addresses) {
    if (!cidrContains(subnet, address)) {
      throw new CniError(CniCode.InvalidNetworkConfig, `Invalid network config: IPAM gave ${formatIp(address)}, outside this host's subnet ${formatCidr(subnet)} of ${describeNetwork(config.network)}; leave "ipam.ranges" out to allocate from it`);
    }
  }
  const { hostLink, containerLink } = await createContainerVeth(context.host, request, overlay, undo);
  failpoint(request.env, 'vxlan-after-veth');
  // Read after the port joined: a bridge without ports reports an all-zero MAC.
  const bridge = await context.host.links.get(overlay.bridge.index);
  const result: Result = {
    interfaces: [
      { name: bridge.name, ...(bridge.mac === undefined ? {} : { mac: bridge.mac }) },
      { name: hostLink.name, ...(hostLink.mac === undefined ? {} : { mac: hostLink.mac }) },
      { name: request.ifName, ...(containerLink.mac === undefined ? {} : { mac: containerLink.mac }), mtu: overlay.mtu, sandbox: request.netns },
    ],
    ips,
    routes: containerRoutes(overlay, config.isDefaultGateway, ipam.routes ?? []),
    ...(ipam.dns === undefined ? {} : { dns: ipam.dns }),
    ...(request.config.dns === undefined ? {} : { dns: request.config.dns }),
  };
  await configureInterface(context.container, { netnsPath: request.netns, ifName: request.ifName, addressing: addressingOf(result, 2) });
  failpoint(request.env, 'vxlan-after-container');
  if (config.ipMasq) {
    const owner = ownerTag({ network: request.config.name, containerId: request.containerId, ifName: request.ifName });
    await withNatTable(hostNetnsOf(request, options), options.natLockPath,
      (table) => table.sync(owner, masqueradeSets, overlayMasqueradeElements(owner, addresses, config.network)));
    undo.push('remove the masquerade elements', () => withNatTable(hostNetnsOf(request, options), options.natLockPath, (table) => table.sync(owner, masqueradeSets, [])));
    failpoint(request.env, 'vxlan-after-nat');
  }
  return result;
}
