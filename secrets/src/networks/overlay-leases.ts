import {
  chooseHostSubnet, cidrContains, formatCidr, parseCidr, type IpCidr,
} from '@berth/cni';
import { ClusterError, ClusterErrorCode } from '../cluster/errors.js';
import type { Collection } from '../store/keyspace.js';
import type { KeyValue, Lease } from '../store/kv-store.js';
import type { Revision } from '../store/revision.js';
import type { Store, Versioned } from '../store/typed-store.js';
import { networksCollection, overlayLeasesCollection, overlayPrefix, type NetworkRecord, type OverlayLeaseRecord } from './schema.js';

/** A claim retries this often when other hosts claimed between its read and its write (each retry re-reads). */
export const claimAttemptsMax = 16;

export interface StoredLease {
  readonly nodeId: string;
  readonly collection: Collection<OverlayLeaseRecord>;
  readonly value: OverlayLeaseRecord;
  readonly modRevision: Revision;
  /** When the key was created: the older of two conflicting leases is the one that counts. */
  readonly createRevision: Revision;
  /** The etcd lease the key is under (the holder's liveness lease). */
  readonly leaseId: string | undefined;
}

/**
 * One stored key as a lease, with the node it belongs to taken from its key (never from its value); undefined for a
 * key or value that is not a lease (another version's, or a hostile one): it neither counts as a peer nor blocks a
 * subnet.
 */
export function decodeOverlayLease(kv: Pick<KeyValue, 'key' | 'value' | 'modRevision' | 'createRevision' | 'lease'>): StoredLease | undefined {
  const [nodeId = '', network = '', ...rest] = kv.key.slice(overlayPrefix.length).split('/');
  if (!kv.key.startsWith(overlayPrefix) || rest.length > 0 || nodeId === '' || network === '') return undefined;
  try {
    const collection = overlayLeasesCollection(nodeId);
    const value = collection.decode(kv.value, kv.key);
    return value.network === network ? { nodeId, collection, value, modRevision: kv.modRevision, createRevision: kv.createRevision, leaseId: kv.lease } : undefined;
  } catch {
    return undefined;
  }
}

/** Every host's overlay leases that decode. */
export async function listOverlayLeases(store: Store): Promise<{ revision: Revision; leases: StoredLease[] }> {
  const { revision, kvs } = await store.kv.list(overlayPrefix);
  return { revision, leases: kvs.flatMap((kv) => decodeOverlayLease(kv) ?? []) };
}

/** Leases that belong to this incarnation of the network (its VNI) and lie inside its range. */
export function leasesOf(network: NetworkRecord, leases: readonly StoredLease[]): StoredLease[] {
  const range = parseCidr(network.subnets[0] ?? '0.0.0.0/32');
  return leases.filter((lease) => lease.value.network === network.name && lease.value.vni === network.vni && cidrContains(range, parseCidr(lease.value.subnet).address));
}

export interface ClaimRequest {
  readonly nodeId: string;
  readonly network: Versioned<NetworkRecord>;
  readonly vtep: string;
  readonly mac: string;
  readonly hostname: string;
  /** This host's liveness lease: the claim goes when the host does. */
  readonly lease: Lease;
  /** The subnet this host held before (kept if still free). */
  readonly preferred?: IpCidr | undefined;
  readonly random?: () => number;
}

/**
 * Leases this host a subnet of a vxlan network's range, Flannel's way: read every lease, choose a free subnet, write
 * this host's key under its liveness lease in a transaction that requires no lease to have changed since the read
 * and the network to be unchanged. Concurrent claimers never share a subnet: all but one transaction fail and re-read.
 * A host that holds a lease already keeps it (put again under the current liveness lease when that changed).
 */
export async function claimHostSubnet(store: Store, request: ClaimRequest): Promise<OverlayLeaseRecord> {
  const { network, nodeId } = request;
  const collection = overlayLeasesCollection(nodeId);
  const range = parseCidr(network.value.subnets[0] ?? '');
  const hostPrefixLength = network.value.hostPrefixLength;
  if (network.value.driver !== 'vxlan' || hostPrefixLength === undefined || network.value.vni === undefined) {
    throw new ClusterError(ClusterErrorCode.RequestInvalid, `Network ${network.id} has no leased host subnets`);
  }
  for (let attempt = 1; attempt <= claimAttemptsMax; attempt += 1) {
    const { revision, leases } = await listOverlayLeases(store);
    const current = leasesOf(network.value, leases);
    const mine = current.find((lease) => lease.nodeId === nodeId);
    const fresh = (subnet: string): OverlayLeaseRecord => ({ network: network.id, vni: network.value.vni ?? 0, subnet, vtep: request.vtep, mac: request.mac, hostname: request.hostname });
    if (mine !== undefined) {
      const record = fresh(mine.value.subnet);
      if (mine.leaseId === request.lease.id && JSON.stringify(record) === JSON.stringify(mine.value)) return mine.value;
      const { succeeded } = await store.transaction().require(networksCollection, network.id, network.modRevision)
        .require(collection, network.id, mine.modRevision).put(collection, network.id, record, { lease: request.lease }).commit();
      if (succeeded) return record;
      continue;
    }
    const taken = current.filter((lease) => lease.nodeId !== nodeId).map((lease) => parseCidr(lease.value.subnet));
    const subnet = chooseHostSubnet({ range, hostPrefixLength, taken, preferred: request.preferred, random: request.random ?? Math.random });
    if (subnet === undefined) {
      throw new ClusterError(ClusterErrorCode.StateInvalid, `Cannot lease a subnet of network ${network.id}: every /${hostPrefixLength} of ${formatCidr(range)} is held by another host`);
    }
    const record = fresh(formatCidr(subnet));
    const { succeeded } = await store.transaction().requireUnchangedSince(overlayPrefix, revision)
      .require(networksCollection, network.id, network.modRevision).put(collection, network.id, record, { lease: request.lease }).commit();
    if (succeeded) return record;
    if ((await store.get(networksCollection, network.id))?.modRevision !== network.modRevision) {
      throw new ClusterError(ClusterErrorCode.RequestInvalid, `Cannot lease a subnet of network ${network.id}: it was removed or changed`);
    }
  }
  throw new ClusterError(ClusterErrorCode.StateInvalid, `Cannot lease a subnet of network ${network.id}: other hosts claimed at the same time ${claimAttemptsMax} times; retrying later`);
}
