import { absent } from '../store/revision.js';
import { Store } from '../store/typed-store.js';
import { createClusterCa, newClusterId } from './ca.js';
import type { ClusterNode } from './cluster-node.js';
import { ClusterError, ClusterErrorCode } from './errors.js';
import { bootstrapAuth } from './etcd-auth.js';
import { clientUrl, peerUrl } from './etcd-config.js';
import { waitForEtcdHealthy } from './etcd-probe.js';
import { formatJoinToken, newJoinTokenRecord } from './join-token.js';
import { clusterInfoCollection, clusterInfoId, hostsCollection, joinTokensCollection } from './keys.js';
import { saveNodeState, wipeNodeState, type NodeState } from './node-state.js';
import { createNodeKeyAndCsr, issueAdminCertificate, issueNodeCertificate, newNodeId } from './node-cert.js';
import { certificateFingerprint } from './pki.js';
import { recordIssued } from './revocation.js';
import { saveClusterKey } from '../secrets/cluster-key-file.js';
import { newClusterKey } from '../secrets/crypto.js';
import { keyringCollection, keyringId } from '../secrets/schema.js';
import { loadSodium } from '../secrets/sodium.js';

export interface InitResult {
  readonly clusterId: string;
  readonly nodeId: string;
  /** Only the worker token is shown at init; `join-token manager` prints the other on request. */
  readonly workerToken: string;
}

/**
 * `berth cluster init`: the CA and the cluster key (KEK), this host as the first manager, its etcd member, then etcd auth (roles from the
 * access table, users, `auth enable`) before any data is written, then cluster info, host record and join tokens in
 * one transaction. On failure everything is wiped.
 */
export function initCluster(node: ClusterNode): Promise<InitResult> {
  return node.exclusive(async () => {
    if (node.active !== undefined) throw new ClusterError(ClusterErrorCode.AlreadyInCluster, `This host is already in cluster ${node.active.state.clusterId}`);
    const clusterId = newClusterId();
    const ca = await createClusterCa({ clusterId });
    const nodeId = newNodeId();
    const { privateKeyPem, csrPem } = await createNodeKeyAndCsr();
    await loadSodium();
    const clusterKey = newClusterKey();
    const address = node.options.advertiseAddress;
    const common = { ca, subjectKey: { csrPem }, nodeId, validitySeconds: node.certificateValiditySeconds };
    const certificatePem = await issueNodeCertificate({ ...common, role: 'manager', addresses: [address] });
    const adminCertificatePem = await issueAdminCertificate(common);
    const state: NodeState = {
      version: 1, clusterId, nodeId, role: 'manager', advertiseAddress: address, joinPort: node.options.joinPort,
      clientUrls: [clientUrl(address, node.options.etcdClientPort)], joinedAt: new Date().toISOString(),
      member: {
        clientPort: node.options.etcdClientPort, peerPort: node.options.etcdPeerPort, clusterToken: `berth-${clusterId}`,
        initialCluster: [{ name: nodeId, peerUrl: peerUrl(address, node.options.etcdPeerPort) }], initialClusterState: 'new',
      },
    };
    try {
      await node.writeIdentity({ caPem: ca.certificatePem, caKeyPem: ca.privateKeyPem, certificatePem, adminCertificatePem, keyPem: privateKeyPem });
      await saveClusterKey(node.paths, clusterKey);
      node.clusterKey = { key: clusterKey, autolock: false };
      const active = await node.activate(state);
      await waitForEtcdHealthy(clientUrl('127.0.0.1', node.options.etcdClientPort), active.tls, { timeoutMs: node.limits.healthyTimeoutMs });
      const manager = newJoinTokenRecord('manager', ca.privateKeyPem);
      const worker = newJoinTokenRecord('worker', ca.privateKeyPem);
      // The bootstrap is root's one job: auth, then the first records, over one fresh admin connection (the node's
      // own client may still be backing off from the calls it tried while etcd was starting).
      await node.withAdmin(async (admin, kv) => {
        await bootstrapAuth(admin, nodeId);
        const store = new Store(kv);
        const created = await store.transaction()
          .require(clusterInfoCollection, clusterInfoId, absent)
          .put(clusterInfoCollection, clusterInfoId, { clusterId, caFingerprint: certificateFingerprint(ca.certificatePem), createdAt: state.joinedAt })
          .put(hostsCollection, nodeId, node.hostRecord(state, certificatePem))
          .put(joinTokensCollection, 'manager', manager.record)
          .put(joinTokensCollection, 'worker', worker.record)
          .put(keyringCollection, keyringId, { kekId: clusterKey.kekId, autolock: false, lockedKek: undefined, unlockKey: undefined, rotation: undefined, updatedAt: state.joinedAt })
          .commit();
        if (!created.succeeded) throw new ClusterError(ClusterErrorCode.StateInvalid, 'The new etcd member already holds a cluster');
        await recordIssued(store, nodeId, [certificatePem, adminCertificatePem]);
      });
      await saveNodeState(node.paths, state);
      node.logger.info({ clusterId, nodeId }, 'cluster initialised');
      return { clusterId, nodeId, workerToken: formatJoinToken({ caFingerprint: certificateFingerprint(ca.certificatePem), secret: worker.secret }) };
    } catch (error) {
      await node.deactivate();
      await wipeNodeState(node.paths);
      throw error;
    }
  });
}
