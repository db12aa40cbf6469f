import { setTimeout as sleep } from 'node:timers/promises';
import type { ClusterNode } from './cluster-node.js';
import { loadClusterCa } from './ca.js';
import { ClusterError, ClusterErrorCode } from './errors.js';
import { clientUrl } from './etcd-config.js';
import { waitForEtcdHealthy } from './etcd-probe.js';
import { fetchPinnedCa, postJoin } from './join-client.js';
import { joinPortDefault, parseAddressWithPort, type JoinResponse } from './join-protocol.js';
import { fetchMemberStatus } from './member-status.js';
import { parseJoinToken } from './join-token.js';
import { hostsCollection } from './keys.js';
import { saveNodeState, wipeNodeState, type NodeState } from './node-state.js';
import { createNodeKeyAndCsr, verifyNodeCertificate, type NodeRole } from './node-cert.js';
import { parseCertificate } from './pki.js';
import { sameKey } from './renewal.js';
import { openEtcdClient } from './server-identity.js';
import { decodeClusterKey, saveClusterKey } from '../secrets/cluster-key-file.js';

export interface JoinResult {
  readonly clusterId: string;
  readonly nodeId: string;
  readonly role: NodeRole;
}

/**
 * The joining side: pin the CA from the token, send a CSR with the token from the advertise address (the manager
 * checks the request comes from it) to a server that must hold a manager certificate, receive the node id and
 * certificate(s) and check they carry this host's key; a manager then starts its etcd member as a learner of the
 * existing cluster and promotes itself once in sync. On any failure everything is undone (the learner removed,
 * files and data wiped): nothing is half-joined.
 */
export function joinCluster(node: ClusterNode, tokenText: string, addressText: string): Promise<JoinResult> {
  return node.exclusive(async () => {
    if (node.active !== undefined) throw new ClusterError(ClusterErrorCode.AlreadyInCluster, `This host is already in cluster ${node.active.state.clusterId}; leave it first`);
    const token = parseJoinToken(tokenText);
    const manager = parseAddressWithPort(addressText, joinPortDefault);
    const timeoutMs = node.limits.joinRequestTimeoutMs;
    const localAddress = node.options.advertiseAddress;
    const caPem = await fetchPinnedCa({ ...manager, caFingerprint: token.caFingerprint, timeoutMs, localAddress });
    const { privateKeyPem, csrPem } = await createNodeKeyAndCsr();
    const response = await postJoin({
      ...manager, caPem, timeoutMs, localAddress,
      request: {
        token: tokenText.trim(), csrPem, addresses: [node.options.advertiseAddress], hostname: node.options.hostname,
        etcdClientPort: node.options.etcdClientPort, etcdPeerPort: node.options.etcdPeerPort,
      },
    });
    await checkJoinResponse(response, { caPem, keyPem: privateKeyPem });
    const state = stateFromResponse(node, response);
    const nodeId = state.nodeId;
    const admin = response.adminCertificatePem === undefined ? undefined : { caPem, certPem: response.adminCertificatePem, keyPem: privateKeyPem };
    try {
      await node.writeIdentity({ caPem, caKeyPem: response.caPrivateKeyPem, certificatePem: response.certificatePem, adminCertificatePem: response.adminCertificatePem, keyPem: privateKeyPem });
      if (response.clusterKey !== undefined) {
        node.clusterKey = decodeClusterKey(response.clusterKey);
        if (!node.clusterKey.autolock) await saveClusterKey(node.paths, node.clusterKey.key);
      }
      await node.activate(state);
      if (response.member !== undefined && admin !== undefined) {
        await promoteLearner(node, response, admin);
        await waitForEtcdHealthy(clientUrl('127.0.0.1', node.options.etcdClientPort), node.requireActive().tls, { timeoutMs: node.limits.healthyTimeoutMs });
      }
      await node.requireActive().store.put(hostsCollection, nodeId, node.hostRecord(state, response.certificatePem));
      await saveNodeState(node.paths, state);
      node.logger.info({ clusterId: state.clusterId, nodeId, role: state.role }, 'joined cluster');
      return { clusterId: state.clusterId, nodeId, role: state.role };
    } catch (error) {
      node.logger.warn({ err: error instanceof Error ? error.message : String(error) }, 'join failed; undoing');
      if (response.member !== undefined && admin !== undefined) await removeMemberQuietly(node, response, admin);
      await node.deactivate();
      await wipeNodeState(node.paths);
      throw error instanceof ClusterError ? error : new ClusterError(ClusterErrorCode.JoinFailed, `Join failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
  });
}

/**
 * Trusts nothing in the answer that it can check: the CA is the pinned one, the certificate verifies against it,
 * names the assigned id and the role, and carries this host's own key (so is usable, and was not swapped); a manager's
 * admin certificate likewise; a received CA key is the CA certificate's key.
 */
export async function checkJoinResponse(response: JoinResponse, expected: { caPem: string; keyPem: string }): Promise<void> {
  if (response.caCertificatePem.trim() !== expected.caPem.trim()) throw new ClusterError(ClusterErrorCode.CaMismatch, 'The manager answered with a different CA than it presented');
  const identity = verifyNodeCertificate({ certificatePem: response.certificatePem, caCertificatePem: expected.caPem });
  if (identity.nodeId !== response.nodeId || identity.role !== response.role || identity.clusterId !== response.clusterId) {
    throw new ClusterError(ClusterErrorCode.JoinFailed, 'The certificate received does not name the assigned node id and role');
  }
  if (!sameKey(response.certificatePem, expected.keyPem)) throw new ClusterError(ClusterErrorCode.JoinFailed, 'The certificate received is not for this host\'s key');
  if (response.role === 'manager') {
    if (response.member === undefined || response.caPrivateKeyPem === undefined || response.adminCertificatePem === undefined) {
      throw new ClusterError(ClusterErrorCode.JoinFailed, 'A manager join answer lacks the etcd member, the CA key or the admin certificate');
    }
    const admin = parseCertificate(response.adminCertificatePem, 'admin certificate');
    const ca = parseCertificate(expected.caPem, 'CA certificate');
    if (!admin.checkIssued(ca) || !admin.verify(ca.publicKey) || !admin.subject.split('\n').includes(`CN=${response.nodeId}.admin`) || !sameKey(response.adminCertificatePem, expected.keyPem)) {
      throw new ClusterError(ClusterErrorCode.JoinFailed, 'The admin certificate received is not this node\'s');
    }
    try {
      await loadClusterCa({ certificatePem: expected.caPem, privateKeyPem: response.caPrivateKeyPem });
    } catch {
      throw new ClusterError(ClusterErrorCode.JoinFailed, 'The CA key received does not match the CA certificate');
    }
  }
  if (response.role === 'worker' && (response.caPrivateKeyPem !== undefined || response.adminCertificatePem !== undefined)) {
    throw new ClusterError(ClusterErrorCode.JoinFailed, 'A worker must not receive the CA key or an admin certificate');
  }
  if ((response.role === 'manager') !== (response.clusterKey !== undefined)) throw new ClusterError(ClusterErrorCode.JoinFailed, 'A manager join answer must carry the cluster key, a worker one must not');
}

function stateFromResponse(node: ClusterNode, response: JoinResponse): NodeState {
  return {
    version: 1, clusterId: response.clusterId, nodeId: response.nodeId, role: response.role, advertiseAddress: node.options.advertiseAddress,
    joinPort: node.options.joinPort, clientUrls: response.clientUrls, joinedAt: new Date().toISOString(),
    member: response.member === undefined ? undefined : {
      clientPort: node.options.etcdClientPort, peerPort: node.options.etcdPeerPort, clusterToken: response.member.clusterToken,
      initialCluster: response.member.initialCluster, initialClusterState: 'existing',
    },
  };
}

/**
 * The client URL of the member that reports itself the raft leader, if any does. A promote must go there: etcd 3.4
 * forwards one sent to a follower to the leader over the peer API without the caller's user, which etcd auth refuses
 * ("auth: user name is empty"), and the follower retries that until the request deadline.
 */
async function leaderUrl(urls: readonly string[], tls: { caPem: string; certPem: string; keyPem: string }, timeoutMs: number): Promise<string | undefined> {
  const statuses = await Promise.all(urls.map((url) => fetchMemberStatus({ ID: '', name: url, peerURLs: [], clientURLs: [url], isLearner: false }, tls, timeoutMs)));
  return statuses.find((status) => status.leader)?.clientUrls[0];
}

/** Promotes this host's learner, through the leader, once etcd says it is in sync; bounded by `promoteTimeoutMs`. */
async function promoteLearner(node: ClusterNode, response: JoinResponse, tls: { caPem: string; certPem: string; keyPem: string }): Promise<void> {
  const memberId = response.member?.memberId ?? '';
  const deadline = Date.now() + node.limits.promoteTimeoutMs;
  for (let attempt = 1; ; attempt += 1) {
    try {
      const leader = await leaderUrl(response.clientUrls, tls, node.limits.statusTimeoutMs);
      if (leader === undefined) throw new Error(`no member of ${response.clientUrls.join(', ')} reports itself the leader`);
      const client = openEtcdClient({ endpoints: [leader], tls, limits: { requestTimeoutMs: 5_000 }, hostFailover: 'none' });
      try {
        await client.client.cluster.memberPromote({ ID: memberId });
      } finally {
        await client.close();
      }
      return;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (Date.now() > deadline) throw new ClusterError(ClusterErrorCode.JoinFailed, `Cannot promote etcd learner ${memberId} within ${node.limits.promoteTimeoutMs} ms: ${message}`);
      node.logger.info({ attempt, err: message }, 'learner not promotable yet');
      await sleep(Math.min(1_000, 100 * attempt));
    }
  }
}

async function removeMemberQuietly(node: ClusterNode, response: JoinResponse, tls: { caPem: string; certPem: string; keyPem: string }): Promise<void> {
  const others = openEtcdClient({ endpoints: response.clientUrls, tls, limits: { requestTimeoutMs: 5_000 }, hostFailover: 'none' });
  try {
    await others.client.cluster.memberRemove({ ID: response.member?.memberId ?? '' });
  } catch (error) {
    node.logger.error({ memberId: response.member?.memberId, err: error instanceof Error ? error.message : String(error) }, 'cannot remove the half-added etcd member; remove it by hand');
  } finally {
    await others.close();
  }
}
