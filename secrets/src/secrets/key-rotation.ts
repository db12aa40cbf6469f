import type { Store } from '../store/typed-store.js';
import type { Actor } from './audit.js';
import { rewrapDataKey } from './crypto.js';
import { SecretError, SecretErrorCode } from './errors.js';
import type { Keyring } from './keyring.js';
import { versionKeyCollection } from './schema.js';

/** Data keys re-wrapped per transaction (etcd allows 128 operations in one; each entry is a compare and a put). */
export const rewrapBatchSizeDefault = 50;
/** Batches one rotation may take before it gives up (it is resumable: run it again). */
export const rewrapBatchesMax = 100_000;
export const rewrapConflictsMax = 1_000;

export interface KeyRotationResult {
  readonly kekId: string;
  readonly previousKekId: string;
  readonly resumed: boolean;
  readonly rewrapped: number;
  readonly batches: number;
}

/**
 * `berth cluster rotate-key`: a new KEK becomes current in one transaction (with the chain link both ways), then
 * every data key still wrapped by the old KEK is re-wrapped, `batchSize` per transaction, each guarded by the entries'
 * revisions (a concurrent change makes the batch re-read, never overwrite). The keyring record keeps `rotation` set
 * until nothing is left, so a crash at any point is resumed by running it again (or by the next manager start).
 */
export async function rotateClusterKey(options: { store: Store; keyring: Keyring; actor: Actor; batchSize?: number }): Promise<KeyRotationResult> {
  const { store, keyring, actor } = options;
  const batchSize = options.batchSize ?? rewrapBatchSizeDefault;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 60) throw new RangeError(`Invalid re-wrap batch size ${batchSize}: 1..60`);
  const resumed = keyring.record?.value.rotation !== undefined;
  const { from, to } = await keyring.beginRotation(actor);
  let rewrapped = 0;
  let batches = 0;
  let conflicts = 0;
  for (;;) {
    const { entries } = await store.list(versionKeyCollection);
    const stale = entries.filter((entry) => entry.value.kekId !== to.kekId);
    if (stale.length === 0) break;
    if (batches >= rewrapBatchesMax || conflicts >= rewrapConflictsMax) {
      throw new SecretError(SecretErrorCode.Conflict, `Key rotation to ${to.kekId} stopped after ${batches} batches (${conflicts} conflicts); run \`berth cluster rotate-key\` again to resume`);
    }
    const transaction = store.transaction();
    for (const entry of stale.slice(0, batchSize)) {
      const [name = '', versionText = ''] = entry.id.split(':');
      const holder = entry.value.kekId === from.kekId ? from : keyring.keyFor(entry.value.kekId);
      const wrappedKey = rewrapDataKey({ from: holder, to, name, version: Number(versionText), wrappedKey: entry.value.wrappedKey });
      transaction.require(versionKeyCollection, entry.id, entry.modRevision).put(versionKeyCollection, entry.id, { kekId: to.kekId, wrappedKey });
    }
    batches += 1;
    if ((await transaction.commit()).succeeded) rewrapped += Math.min(batchSize, stale.length);
    else conflicts += 1;
  }
  await keyring.finishRotation(to.kekId, actor);
  return { kekId: to.kekId, previousKekId: from.kekId, resumed, rewrapped, batches };
}
