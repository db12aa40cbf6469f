import t from 'tap';
import { X509Certificate } from 'node:crypto';
import { createLogger } from '@berth/cni';
import { createClusterCa, newClusterId } from '../../src/cluster/ca.js';
import type { ClusterNode } from '../../src/cluster/cluster-node.js';
import { ClusterErrorCode } from '../../src/cluster/errors.js';
import { issuedCollection, revokedCollection } from '../../src/cluster/keys.js';
import { recordIssued, revokeNode } from '../../src/cluster/revocation.js';
import type { AnyCompare, TxnOp, TxnResult } from '../../src/store/kv-store.js';
import { MemoryKvStore } from '../../src/store/memory-kv-store.js';
import { Store } from '../../src/store/typed-store.js';

const logger = createLogger('test', { BERTH_LOG_LEVEL: 'silent' });
/** Three certificates to record as issued (only their serials and expiry matter here). */
const [first, second, third] = await Promise.all([1, 2, 3].map(async () => (await createClusterCa({ clusterId: newClusterId() })).certificatePem));
const serialOf = (pem: string | undefined): string => new X509Certificate(pem ?? '').serialNumber.toLowerCase();

/** A store that runs `before` once, just ahead of the first transaction that writes a denylist record. */
class InterleavingKv extends MemoryKvStore {
  #before: (() => Promise<void>) | undefined;

  constructor(before: () => Promise<void>) {
    super();
    this.#before = before;
  }

  override async txn(compares: readonly AnyCompare[], success: readonly TxnOp[], failure: readonly TxnOp[] = []): Promise<TxnResult> {
    const before = this.#before;
    if (before !== undefined && success.some((op) => op.kind === 'put' && op.key === revokedCollection.key('w1'))) {
      this.#before = undefined;
      await before();
    }
    return super.txn(compares, success, failure);
  }
}

/** A manager as revokeNode sees it: an admin client whose etcd membership and auth calls succeed, on `kv`. */
function managerOn(kv: MemoryKvStore): ClusterNode {
  const admin = { cluster: { memberList: () => Promise.resolve({ members: [] }) }, auth: { roleDelete: () => Promise.resolve({}), userDelete: () => Promise.resolve({}) } };
  return {
    logger,
    requireManager: () => ({ state: { clusterId: 'c1', nodeId: 'm1' } }),
    withAdmin: <T>(work: (client: unknown, store: MemoryKvStore) => Promise<T>) => work(admin, kv),
    revocationsChanged: () => Promise.resolve(),
  } as unknown as ClusterNode;
}

t.test('a certificate recorded while the node is being revoked is on the denylist', async (t) => {
  let store: Store | undefined;
  const kv = new InterleavingKv(() => recordIssued(store as Store, 'w1', [second ?? '']));
  store = new Store(kv);
  await recordIssued(store, 'w1', [first ?? '']);
  await revokeNode(managerOn(kv), 'w1');
  const denied = await store.get(revokedCollection, 'w1');
  t.same(new Set(denied?.value.serials), new Set([serialOf(first), serialOf(second)]), 'both the certificate read first and the one recorded in between');
  t.equal(await store.get(issuedCollection, 'w1'), undefined, 'the issued record is gone');
});

t.test('once a node is revoked, no certificate is recorded for it (so none is handed out)', async (t) => {
  const kv = new MemoryKvStore();
  const store = new Store(kv);
  await recordIssued(store, 'w1', [first ?? '']);
  await revokeNode(managerOn(kv), 'w1');
  const before = await store.get(revokedCollection, 'w1');
  await t.rejects(recordIssued(store, 'w1', [third ?? '']), { code: ClusterErrorCode.NodeRevoked });
  t.equal(await store.get(issuedCollection, 'w1'), undefined, 'no issued record came back');
  t.same(await store.get(revokedCollection, 'w1'), before, 'the denylist record is unchanged');
});
