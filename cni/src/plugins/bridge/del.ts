import { NetnsError } from '@berth/netns-napi';
import { ipamDel } from '../../invoke/ipam.js';
import { withRtnl } from '../../net/rtnl.js';
import { masqueradeSets } from '../../nat/ruleset.js';
import type { CniRequest } from '../../skel/plugin.js';
import { parseBridgeConfig } from './config.js';
import { attachmentTag, hostVethName } from './names.js';
import { netnsExists } from '../common/netns.js';
import { withHostTables } from './tables.js';

/** Deletes the container end by name when the host end was not found under its name. */
async function removeContainerEnd(request: CniRequest): Promise<void> {
  if (!netnsExists(request.netns)) return;
  try {
    await withRtnl(request.netns, async (container) => {
      const link = await container.links.find(request.ifName);
      if (link?.kind === 'veth') await container.links.remove(request.ifName);
    });
  } catch (error) {
    // A path that is no longer a netns (its bind mount went away): nothing left inside to delete.
    if (!(error instanceof NetnsError)) throw error;
  }
}

/**
 * DEL: releases the IPAM reservation, the NAT and MAC-check elements (by owner tag, so nothing about the container
 * needs to be known), then the veth pair, found by its host end's deterministic name: this works when the netns or
 * the link is already gone, and after an ADD that was killed at any point. Every step accepts "not found".
 * Without a netns (CNI_NETNS empty: the runtime has none to give, as runc's poststop) the pair is left to the netns
 * it was created in, as the reference bridge leaves it: both ends go when that netns goes (ADD creates the container
 * end inside it), and deleting a veth synchronously costs ~20 ms of the kernel's.
 */
export async function bridgeDel(request: CniRequest, phase: (name: string) => void = () => undefined): Promise<void> {
  const config = parseBridgeConfig(request);
  if (config.hasIpam) await ipamDel(request);
  phase('ipam');
  if (config.ipMasq || config.macspoofchk) {
    const tag = attachmentTag(request);
    await withHostTables(request.hostNetns, async (tables) => {
      if (config.ipMasq) await (await tables.nat()).sync(tag, masqueradeSets, []);
      if (config.macspoofchk) {
        const macspoof = await tables.macspoof();
        await macspoof.sync(tag, macspoof.spec.sets, []);
      }
    });
    phase('nftables');
  }
  if (request.netns === '') {
    phase('veth');
    return;
  }
  const removed = await withRtnl(request.hostNetns, (host) => host.links.remove(hostVethName(request.containerId, request.ifName)));
  if (!removed) await removeContainerEnd(request);
  phase('veth');
}
