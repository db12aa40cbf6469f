import { setTimeout as sleep } from 'node:timers/promises';
import { EtcdKvStore } from '../store/etcd-kv-store.js';
import type { ClusterNode } from './cluster-node.js';
import { ClusterError, ClusterErrorCode } from './errors.js';
import { clientUrl } from './etcd-config.js';
import { waitForEtcdHealthy } from './etcd-probe.js';
import { fetchPinnedCa, postJoin } from './join-client.js';
import { joinPortDefault, parseAddressWithPort, type JoinResponse } from './join-protocol.js';
import { parseJoinToken } from './join-token.js';
import { hostsCollection } from './keys.js';
import { saveNodeState, wipeNodeState, type NodeState } from './node-state.js';
import { createNodeKeyAndCsr, newNodeId, verifyNodeCertificate, type NodeRole } from './node-cert.js';
import { decodeClusterKey, saveClusterKey } from '../secrets/cluster-key-file.js';

export interface JoinResult {
  readonly clusterId: string;
  readonly nodeId: string;
  readonly role: NodeRole;
}

/**
 * The joining side: pin the CA from the token, send a CSR with the token, receive a node certificate; a manager
 * then starts its etcd member as a learner of the existing cluster and promotes itself once in sync. On any
 * failure everything is undone (the learner removed, files and data wiped): nothing is half-joined.
 */
export function joinCluster(node: ClusterNode, tokenText: string, addressText: string): Promise<JoinResult> {
  return node.exclusive(async () => {
    if (node.active !== undefined) throw new ClusterError(ClusterErrorCode.AlreadyInCluster, `This host is already in cluster ${node.active.state.clusterId}; leave it first`);
    const token = parseJoinToken(tokenText);
    const manager = parseAddressWithPort(addressText, joinPortDefault);
    const timeoutMs = node.limits.joinRequestTimeoutMs;
    const caPem = await fetchPinnedCa({ ...manager, caFingerprint: token.caFingerprint, timeoutMs });
    const nodeId = newNodeId();
    const { privateKeyPem, csrPem } = await createNodeKeyAndCsr(nodeId);
    const response = await postJoin({
      ...manager, caPem, timeoutMs,
      request: {
        token: tokenText.trim(), nodeId, csrPem, addresses: [node.options.advertiseAddress], hostname: node.options.hostname,
        etcdClientPort: node.options.etcdClientPort, etcdPeerPort: node.options.etcdPeerPort,
      },
    });
    const state = checkResponse(node, response, { caPem, nodeId });
    try {
      await node.writeIdentity({ caPem, caKeyPem: response.caPrivateKeyPem, certificatePem: response.certificatePem, keyPem: privateKeyPem });
      if (response.clusterKey !== undefined) {
        node.clusterKey = decodeClusterKey(response.clusterKey);
        if (!node.clusterKey.autolock) await saveClusterKey(node.paths, node.clusterKey.key);
      }
      const active = await node.activate(state);
      if (response.member !== undefined) {
        await promoteLearner(node, response, active.tls);
        await waitForEtcdHealthy(clientUrl('127.0.0.1', node.options.etcdClientPort), active.tls, { timeoutMs: node.limits.healthyTimeoutMs });
      }
      await active.store.put(hostsCollection, nodeId, node.hostRecord(state));
      await saveNodeState(node.paths, state);
      node.logger.info({ clusterId: state.clusterId, nodeId, role: state.role }, 'joined cluster');
      return { clusterId: state.clusterId, nodeId, role: state.role };
    } catch (error) {
      node.logger.warn({ err: error instanceof Error ? error.message : String(error) }, 'join failed; undoing');
      if (response.member !== undefined) await removeMemberQuietly(node, response, privateKeyPem);
      await node.deactivate();
      await wipeNodeState(node.paths);
      throw error instanceof ClusterError ? error : new ClusterError(ClusterErrorCode.JoinFailed, `Join failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
  });
}

function checkResponse(node: ClusterNode, response: JoinResponse, expected: { caPem: string; nodeId: string }): NodeState {
  if (response.caCertificatePem.trim() !== expected.caPem.trim()) throw new ClusterError(ClusterErrorCode.CaMismatch, 'The manager answered with a different CA than it presented');
  const identity = verifyNodeCertificate({ certificatePem: response.certificatePem, caCertificatePem: expected.caPem });
  if (identity.nodeId !== expected.nodeId || identity.role !== response.role || identity.clusterId !== response.clusterId) {
    throw new ClusterError(ClusterErrorCode.JoinFailed, 'The certificate received does not name this node and role');
  }
  if (response.role === 'manager' && (response.member === undefined || response.caPrivateKeyPem === undefined)) {
    throw new ClusterError(ClusterErrorCode.JoinFailed, 'A manager join answer lacks the etcd member or the CA key');
  }
  if (response.role === 'worker' && response.caPrivateKeyPem !== undefined) throw new ClusterError(ClusterErrorCode.JoinFailed, 'A worker must not receive the CA key');
  if ((response.role === 'manager') !== (response.clusterKey !== undefined)) throw new ClusterError(ClusterErrorCode.JoinFailed, 'A manager join answer must carry the cluster key, a worker one must not');
  return {
    version: 1, clusterId: response.clusterId, nodeId: expected.nodeId, role: response.role, advertiseAddress: node.options.advertiseAddress,
    joinPort: node.options.joinPort, clientUrls: response.clientUrls, joinedAt: new Date().toISOString(),
    member: response.member === undefined ? undefined : {
      clientPort: node.options.etcdClientPort, peerPort: node.options.etcdPeerPort, clusterToken: response.member.clusterToken,
      initialCluster: response.member.initialCluster, initialClusterState: 'existing',
    },
  };
}

/** Promotes this host's learner once etcd says it is in sync; bounded by `promoteTimeoutMs`. */
async function promoteLearner(node: ClusterNode, response: JoinResponse, tls: { caPem: string; certPem: string; keyPem: string }): Promise<void> {
  const memberId = response.member?.memberId ?? '';
  const others = new EtcdKvStore({ endpoints: response.clientUrls, tls, limits: { requestTimeoutMs: 5_000 }, hostFailover: 'none' });
  try {
    const deadline = Date.now() + node.limits.promoteTimeoutMs;
    for (let attempt = 1; ; attempt += 1) {
      try {
        await others.client.cluster.memberPromote({ ID: memberId });
        return;
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        if (Date.now() > deadline) throw new ClusterError(ClusterErrorCode.JoinFailed, `Cannot promote etcd learner ${memberId} within ${node.limits.promoteTimeoutMs} ms: ${message}`);
        node.logger.info({ attempt, err: message }, 'learner not promotable yet');
        await sleep(Math.min(1_000, 100 * attempt));
      }
    }
  } finally {
    await others.close();
  }
}

async function removeMemberQuietly(node: ClusterNode, response: JoinResponse, keyPem: string): Promise<void> {
  const tls = { caPem: response.caCertificatePem, certPem: response.certificatePem, keyPem };
  const others = new EtcdKvStore({ endpoints: response.clientUrls, tls, limits: { requestTimeoutMs: 5_000 }, hostFailover: 'none' });
  try {
    await others.client.cluster.memberRemove({ ID: response.member?.memberId ?? '' });
  } catch (error) {
    node.logger.error({ memberId: response.member?.memberId, err: error instanceof Error ? error.message : String(error) }, 'cannot remove the half-added etcd member; remove it by hand');
  } finally {
    await others.close();
  }
}
