import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@berth/cni';
import { nodePaths, type NodePaths } from '../../src/cluster/node-state.js';
import { MemoryKvStore } from '../../src/store/memory-kv-store.js';
import { Store } from '../../src/store/typed-store.js';
import { saveClusterKey } from '../../src/secrets/cluster-key-file.js';
import { newClusterKey } from '../../src/secrets/crypto.js';
import { Keyring } from '../../src/secrets/keyring.js';
import { keyringCollection, keyringId } from '../../src/secrets/schema.js';
import { SecretService } from '../../src/secrets/secret-service.js';
import { loadSodium } from '../../src/secrets/sodium.js';

export const logger = createLogger('test', { BERTH_LOG_LEVEL: 'silent' });

export interface Manager {
  readonly paths: NodePaths;
  readonly keyring: Keyring;
  readonly service: SecretService;
  readonly actor: { node: string; uid: number };
}

/** A cluster's store as `cluster init` leaves it (keyring record, first manager's key file), on the memory double. */
export async function makeCluster(t: { teardown(fn: () => unknown): void }): Promise<{ store: Store; kv: MemoryKvStore; manager(name: string, seedFrom?: Manager): Promise<Manager> }> {
  await loadSodium();
  const kv = new MemoryKvStore();
  const store = new Store(kv);
  const base = await mkdtemp(join(tmpdir(), 'bt-secrets-'));
  const keyrings: Keyring[] = [];
  t.teardown(async () => {
    for (const keyring of keyrings) await keyring.close();
    await kv.close();
    await rm(base, { recursive: true, force: true });
  });
  const first = newClusterKey();
  await store.put(keyringCollection, keyringId, { kekId: first.kekId, autolock: false, lockedKek: undefined, unlockKey: undefined, rotation: undefined, updatedAt: new Date().toISOString() });
  let created = 0;
  return {
    store, kv,
    async manager(name, seedFrom) {
      const paths = nodePaths(join(base, name));
      await mkdir(paths.clusterDir, { recursive: true });
      if (created === 0) await saveClusterKey(paths, first);
      created += 1;
      const seed = seedFrom === undefined ? undefined : seedFrom.keyring.current().kek;
      const keyring = await Keyring.open({ store, paths, nodeId: name, seed: seed === undefined ? undefined : { kekId: seed.kekId, key: new Uint8Array(seed.key) }, logger });
      keyrings.push(keyring);
      return { paths, keyring, service: new SecretService({ store, keyring }), actor: { node: name, uid: 0 } };
    },
  };
}
