import { CniCode, CniError } from '../../errors.js';
import { ipamDel, ipamGc, ipamStatus } from '../../invoke/ipam.js';
import { openRtnl, withRtnl } from '../../net/rtnl.js';
import { ownerTag } from '../../nat/owner.js';
import { masqueradeSets } from '../../nat/ruleset.js';
import { findLocalPeer } from '../../overlay/local.js';
import { describeNetwork } from '../../overlay/network.js';
import { gatewayOf } from '../../overlay/plan.js';
import { reconcileOverlay } from '../../overlay/reconcile.js';
import { validatePeers } from '../../overlay/peer.js';
import type { CniPlugin, CniRequest } from '../../skel/plugin.js';
import { SUPPORTED_VERSIONS } from '../../spec/version.js';
import { hostNetnsOf, isMissingNetns } from '../common/netns.js';
import { addAttachment } from './add.js';
import { checkAttachment } from './check.js';
import { parseVxlanConfig, type VxlanConfig } from './config.js';
import { hostVethName } from './container.js';
import { BERTH_VXLAN_TYPE, membershipOf, type BerthVxlanOptions } from './context.js';
import { ipamRequestFor } from './ipam-request.js';
import { withNatTable } from './masquerade.js';

/** DEL, GC: releasing does not depend on which subnet this host has, so the IPAM gets the overlay's whole range. */
function releaseRequest(request: CniRequest, config: VxlanConfig): CniRequest {
  return ipamRequestFor(request, config.network.cidr, undefined);
}

/**
 * berth-vxlan: a multi-host overlay. Each host has a VXLAN device (one VNI and UDP port per network, no learning)
 * and a bridge holding its own subnet's gateway; FDB, neighbour and route entries for every other host come from a
 * peer source (the conflist's static `peers`, or the agent's store). Containers attach to the bridge with a veth at
 * MTU underlay − 50 (− 70 over IPv6); traffic leaving the overlay is masqueraded.
 */
export function createBerthVxlan(options: BerthVxlanOptions = {}): CniPlugin {
  const owner = (request: CniRequest) => ownerTag({ network: request.config.name, containerId: request.containerId, ifName: request.ifName });

  async function add(request: CniRequest) {
    return addAttachment(options, parseVxlanConfig(request), request);
  }

  /** Removes exactly what ADD added for the attachment; the host's devices and peer entries stay for the others. */
  async function del(request: CniRequest): Promise<void> {
    const config = parseVxlanConfig(request);
    await ipamDel(releaseRequest(request, config));
    await withNatTable(hostNetnsOf(request, options), options.natLockPath, (table) => table.sync(owner(request), masqueradeSets, []));
    if (request.netns !== '') {
      try {
        await withRtnl(request.netns, (container) => container.links.remove(request.ifName));
      } catch (error) {
        if (!isMissingNetns(error)) throw error;
      }
    }
    await withRtnl(hostNetnsOf(request, options), (host) => host.links.remove(hostVethName(request.config.name, request.containerId, request.ifName)));
  }

  async function check(request: CniRequest): Promise<void> {
    await checkAttachment(options, parseVxlanConfig(request), request);
  }

  /** Ready when this host is one of the peers and its subnet has free addresses (code 50 otherwise). */
  async function status(request: CniRequest): Promise<void> {
    const config = parseVxlanConfig(request);
    const { peers } = await membershipOf(options, config);
    validatePeers(config.network, peers);
    const local = await withRtnl(hostNetnsOf(request, options), (host) => findLocalPeer(host, peers, config.localAddress));
    if (local === undefined) {
      throw new CniError(CniCode.PluginNotAvailable, `${BERTH_VXLAN_TYPE}: this host is not one of the ${peers.length} peers of ${describeNetwork(config.network)}`);
    }
    await ipamStatus(ipamRequestFor(request, local.peer.subnet, gatewayOf(local.peer).address));
  }

  /**
   * GC: IPAM reservations and masquerade elements of attachments no longer valid, and the peer entries of hosts no
   * longer in the peer list (a host that left is cleaned here when no ADD has run since; on a leased host berthd
   * does that).
   */
  async function gc(request: CniRequest): Promise<void> {
    const config = parseVxlanConfig(request);
    await ipamGc(releaseRequest(request, config));
    const keep = new Set((request.config.validAttachments ?? []).map((attachment) =>
      ownerTag({ network: request.config.name, containerId: attachment.containerID, ifName: attachment.ifname })));
    await withNatTable(hostNetnsOf(request, options), options.natLockPath, (table) => table.collect(request.config.name, keep, masqueradeSets));
    const { peers, programsPeers } = await membershipOf(options, config);
    if (!programsPeers) return;
    const rtnl = openRtnl(hostNetnsOf(request, options));
    try {
      await reconcileOverlay(rtnl, hostNetnsOf(request, options), config.network, peers, config.localAddress);
    } finally {
      rtnl.close();
    }
  }

  return { name: BERTH_VXLAN_TYPE, supportedVersions: SUPPORTED_VERSIONS, add, del, check, status, gc };
}
