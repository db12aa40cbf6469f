import t from 'tap';
import { MemoryKvStore } from '../../src/store/memory-kv-store.js';
import { storeContract } from './contract.js';

const store = new MemoryKvStore();
t.teardown(() => store.close());
storeContract(t, () => ({ store, endLease: async (id) => store.expireLease(id) }), '/berth/v1/test');
