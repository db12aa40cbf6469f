import t from 'tap';
import { EtcdKvStore } from '../../src/store/etcd-kv-store.js';
import { startLocalEtcdCluster } from '../helpers/local-etcd.js';
import { storeContract } from './contract.js';

const cluster = await startLocalEtcdCluster(t, { size: 1 });
const store = new EtcdKvStore({ endpoints: cluster.endpoints, tls: cluster.clientTls });
t.teardown(() => store.close());
storeContract(t, () => ({ store, endLease: async (id) => void (await store.client.leaseClient.leaseRevoke({ ID: id })) }), '/berth/v1/test');
