import { chooseVni, cidrOverlaps, parseCidr } from '@berth/cni';
import { ClusterError, ClusterErrorCode } from '../cluster/errors.js';
import { absent } from '../store/revision.js';
import type { Store, Versioned } from '../store/typed-store.js';
import { listOverlayLeases } from './overlay-leases.js';
import { networksCollection, type NetworkRecord } from './schema.js';

/** A create or remove retries this often when another manager changed the networks between its read and its write. */
export const networkWriteAttemptsMax = 8;

/** What a manager asks for; the cluster fills in the VNI when a vxlan network names none. */
export type NetworkRequest = Omit<NetworkRecord, 'vni' | 'createdAt'> & { readonly vni?: number | undefined };

/**
 * Records a network for the whole cluster in one transaction: its name free, its subnets overlapping no other
 * network's, a vxlan network's VNI unique (chosen from 4096 up when not given). The transaction requires that no
 * network changed since the listing it decided from, so two managers creating at once never both win a name or a
 * VNI; the loser re-reads and decides again. `localVnis` are VNIs this host's own (non-cluster) conflists use.
 */
export async function createNetwork(store: Store, request: NetworkRequest, options: { localVnis?: ReadonlyMap<number, string> } = {}): Promise<Versioned<NetworkRecord>> {
  for (let attempt = 1; attempt <= networkWriteAttemptsMax; attempt += 1) {
    const { revision, entries } = await store.list(networksCollection);
    if (entries.some((entry) => entry.id === request.name)) throw new ClusterError(ClusterErrorCode.RequestInvalid, `Cannot create network ${request.name}: it exists in the cluster`);
    for (const subnet of request.subnets) {
      const clash = entries.find((entry) => entry.value.subnets.some((other) => cidrOverlaps(parseCidr(other), parseCidr(subnet))));
      if (clash !== undefined) throw new ClusterError(ClusterErrorCode.RequestInvalid, `Cannot create network ${request.name}: subnet ${subnet} overlaps network ${clash.id}`);
    }
    let vni: number | undefined;
    if (request.driver === 'vxlan') {
      const inUse = new Map(options.localVnis);
      for (const entry of entries) if (entry.value.vni !== undefined) inUse.set(entry.value.vni, entry.id);
      try {
        vni = chooseVni(inUse, request.vni);
      } catch (error) {
        throw new ClusterError(ClusterErrorCode.RequestInvalid, `Cannot create network ${request.name}: ${(error as Error).message}`);
      }
    }
    const record: NetworkRecord = { ...request, vni, createdAt: new Date().toISOString() };
    const { succeeded, revision: written } = await store.transaction()
      .requireUnchangedSince(networksCollection.prefix, revision)
      .require(networksCollection, request.name, absent)
      .put(networksCollection, request.name, record)
      .commit();
    if (succeeded) return { id: request.name, value: record, modRevision: written, createRevision: written };
  }
  throw new ClusterError(ClusterErrorCode.StateInvalid, `Cannot create network ${request.name}: the cluster's networks changed ${networkWriteAttemptsMax} times while deciding; try again`);
}

/**
 * Removes a network and every host's lease of it in one transaction (so no host keeps a subnet of a network that is
 * gone, and a claim racing with the removal fails: claims require the network's revision).
 */
export async function removeNetwork(store: Store, name: string): Promise<NetworkRecord> {
  for (let attempt = 1; attempt <= networkWriteAttemptsMax; attempt += 1) {
    const network = await store.get(networksCollection, name);
    if (network === undefined) throw new ClusterError(ClusterErrorCode.RequestInvalid, `No network ${JSON.stringify(name)} in the cluster`);
    const { leases } = await listOverlayLeases(store);
    const transaction = store.transaction().require(networksCollection, name, network.modRevision).delete(networksCollection, name);
    for (const lease of leases.filter((entry) => entry.value.network === name)) transaction.delete(lease.collection, name);
    if ((await transaction.commit()).succeeded) return network.value;
  }
  throw new ClusterError(ClusterErrorCode.StateInvalid, `Cannot remove network ${name}: it changed ${networkWriteAttemptsMax} times while removing; try again`);
}
