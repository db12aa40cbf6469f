import type { ClusterNode } from './cluster-node.js';
import { setTimeout as sleep } from 'node:timers/promises';
import type { IMemberAddResponse } from 'etcd3';
import { ClusterError, ClusterErrorCode } from './errors.js';
import { peerUrl } from './etcd-config.js';
import { parseJoinRequest, type JoinResponse } from './join-protocol.js';
import { authorizeJoinToken, parseJoinToken } from './join-token.js';
import { hostsCollection, joinTokensCollection } from './keys.js';
import { issueNodeCertificate } from './node-cert.js';
import { certificateFingerprint } from './pki.js';
import { encodeClusterKey } from '../secrets/cluster-key-file.js';

/**
 * The manager side of a join: validate the body, check the token (CA digest, then secret against the stored
 * hashes), sign the node certificate with the role the token grants, and for a manager add an etcd learner.
 * Nothing is written before every check passed; the joiner writes its host record itself once it is up.
 */
export function handleJoinRequest(node: ClusterNode, body: unknown): Promise<JoinResponse> {
  return node.exclusive(async () => {
    const active = node.requireManager();
    const request = parseJoinRequest(body);
    const token = parseJoinToken(request.token);
    const caFingerprint = certificateFingerprint(active.tls.caPem);
    const records = (await active.store.list(joinTokensCollection)).entries.map((entry) => entry.value);
    const role = authorizeJoinToken({ token, caFingerprint, records });
    if ((await active.store.get(hostsCollection, request.nodeId)) !== undefined) {
      throw new ClusterError(ClusterErrorCode.AlreadyInCluster, `Node id ${request.nodeId} is already in the cluster`);
    }
    const clusterKey = role === 'manager' ? node.clusterKey : undefined;
    if (role === 'manager' && clusterKey === undefined) {
      throw new ClusterError(ClusterErrorCode.NotManager, 'This manager is locked (or holds no cluster key) and cannot admit managers: unlock it, or join through another manager');
    }
    const ca = await node.loadCa();
    const certificatePem = await issueNodeCertificate({ ca, csrPem: request.csrPem, nodeId: request.nodeId, role, addresses: request.addresses });
    const cluster = active.kv.client.cluster;
    const { members } = await cluster.memberList({});
    const clientUrls = members.filter((m) => !m.isLearner).flatMap((m) => m.clientURLs);
    let member: JoinResponse['member'];
    if (role === 'manager') {
      const address = request.addresses[0] ?? '';
      const peer = peerUrl(address, request.etcdPeerPort);
      if (members.some((m) => m.peerURLs.includes(peer))) throw new ClusterError(ClusterErrorCode.AlreadyInCluster, `An etcd member already uses ${peer}`);
      const added = await addLearner(node, peer, request.nodeId);
      const initialCluster = added.members.map((m) => ({ name: m.ID === added.member.ID ? request.nodeId : m.name, peerUrl: m.peerURLs[0] ?? '' }));
      if (initialCluster.some((peerEntry) => peerEntry.name === '' || peerEntry.peerUrl === '')) {
        await cluster.memberRemove({ ID: added.member.ID }).catch(() => undefined);
        throw new ClusterError(ClusterErrorCode.JoinFailed, 'Another etcd member was added but never started; remove it before joining more managers');
      }
      member = { memberId: added.member.ID, clusterToken: active.state.member?.clusterToken ?? '', initialCluster };
    }
    node.logger.info({ nodeId: request.nodeId, role, addresses: request.addresses }, 'admitted a joining host');
    return {
      clusterId: active.state.clusterId, role, certificatePem, caCertificatePem: active.tls.caPem,
      caPrivateKeyPem: role === 'manager' ? ca.privateKeyPem : undefined, clientUrls, member,
      ...(clusterKey === undefined ? {} : { clusterKey: encodeClusterKey(clusterKey.key, clusterKey.autolock) }),
    };
  });
}

/**
 * etcd (strict reconfiguration check) refuses to add a member until every voting member has been connected for
 * 5 s, e.g. right after the previous join: retry that case for a bounded time.
 */
export const addRetryWindowMs = 15_000;

async function addLearner(node: ClusterNode, peer: string, nodeId: string): Promise<IMemberAddResponse> {
  const cluster = node.requireManager().kv.client.cluster;
  const deadline = Date.now() + addRetryWindowMs;
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await cluster.memberAdd({ peerURLs: [peer], isLearner: true });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (!/unhealthy cluster/.test(message) || Date.now() > deadline) {
        throw new ClusterError(ClusterErrorCode.JoinFailed, `Cannot add an etcd member for ${nodeId}: ${message}`);
      }
      node.logger.info({ attempt, err: message }, 'etcd will not add a member yet; retrying');
      await sleep(500);
    }
  }
}
