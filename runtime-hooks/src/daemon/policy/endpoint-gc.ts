/**
 * Endpoints of hosts that are gone: a host that leaves (or is removed with `berth cluster rm`) loses its store
 * access before it could delete its own `endpoints/<nodeId>/`, so managers drop the records of every node on the
 * denylist (`cluster/revoked/`, written by leave and rm). Only revoked nodes: a joining host's records are never
 * touched, whatever the order of its writes.
 */
import { revokedCollection, type Revision, type Store } from '@berth/secrets';
import { endpointOwnerOf, endpointsPrefix } from './schema.js';

/** etcd's transaction limit (--max-txn-ops 128), with room to spare. */
const deletesPerTransactionMax = 100;

/** Deletes the endpoints of revoked nodes; returns how many went. */
export async function collectRevokedEndpoints(store: Store): Promise<number> {
  const [revoked, endpoints] = await Promise.all([store.list(revokedCollection), store.kv.list(endpointsPrefix)]);
  const gone = new Set(revoked.entries.map((entry) => entry.id));
  const orphans = endpoints.kvs.filter((kv) => gone.has(endpointOwnerOf(kv.key) ?? ''));
  for (let start = 0; start < orphans.length; start += deletesPerTransactionMax) {
    const batch = orphans.slice(start, start + deletesPerTransactionMax);
    await store.kv.txn(batch.map((kv) => ({ key: kv.key, modRevision: kv.modRevision as Revision })), batch.map((kv) => ({ kind: 'delete' as const, key: kv.key })));
  }
  return orphans.length;
}
