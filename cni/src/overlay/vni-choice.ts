import { vniMax, vniMin } from './network.js';

/** Where the cluster starts numbering VNIs it chooses (Docker swarm's overlay driver starts at 4096). */
export const clusterVniFirst = 4096;

/**
 * The VNI for a new overlay network: `requested` when given and not in use (RangeError naming the network that holds
 * it otherwise), else the lowest free VNI from `clusterVniFirst` up. Pure; the store transaction that records the
 * network fails if another manager took the same VNI meanwhile, and is retried.
 */
export function chooseVni(inUse: ReadonlyMap<number, string>, requested?: number): number {
  if (requested !== undefined) {
    if (!Number.isInteger(requested) || requested < vniMin || requested > vniMax) throw new RangeError(`VNI ${requested} is not an integer from ${vniMin} to ${vniMax}`);
    const holder = inUse.get(requested);
    if (holder !== undefined) throw new RangeError(`VNI ${requested} is in use by network ${holder}`);
    return requested;
  }
  for (let vni = clusterVniFirst; vni <= vniMax; vni += 1) if (!inUse.has(vni)) return vni;
  for (let vni = vniMin; vni < clusterVniFirst; vni += 1) if (!inUse.has(vni)) return vni;
  throw new RangeError(`Every VNI from ${vniMin} to ${vniMax} is in use`);
}
