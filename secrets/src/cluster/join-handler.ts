import type { ClusterNode } from './cluster-node.js';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Etcd3, IMemberAddResponse } from 'etcd3';
import { ClusterError, ClusterErrorCode } from './errors.js';
import { grantNodeAccess, revokeNodeAccess } from './etcd-auth.js';
import { peerUrl } from './etcd-config.js';
import { parseJoinRequest, type JoinResponse } from './join-protocol.js';
import { authorizeJoinToken, parseJoinToken } from './join-token.js';
import { hostsCollection, issuedCollection, revokedCollection } from './keys.js';
import { issueAdminCertificate, issueNodeCertificate, newNodeId, type NodeRole } from './node-cert.js';
import { certificateFingerprint } from './pki.js';
import { encodeClusterKey } from '../secrets/cluster-key-file.js';
import { recordIssued } from './revocation.js';

/** `::ffff:10.0.0.1` (an IPv4 peer on a dual-stack socket) is 10.0.0.1. */
export function plainAddress(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice('::ffff:'.length) : address;
}

/**
 * The manager side of a join. Before anything is queued or read beyond the token records (cached, at most one
 * read per second): the body is validated, the token checked (CA digest, then secret against the stored hashes, then
 * expiry), and the requested address must be the one the request comes from. Then, one join at a time: the
 * manager assigns the node id, signs the certificate(s) with the role the token grants, creates the node's etcd
 * users, and for a manager adds an etcd learner. The joiner writes its host record itself once it is up.
 */
export async function handleJoinRequest(node: ClusterNode, body: unknown, source: { address: string }): Promise<JoinResponse> {
  const active = node.requireManager();
  const request = parseJoinRequest(body);
  const token = parseJoinToken(request.token);
  const role = authorizeJoinToken({ token, caFingerprint: certificateFingerprint(active.tls.caPem), records: await node.joinTokenRecords() });
  const from = plainAddress(source.address);
  if (request.addresses[0] !== from) {
    throw new ClusterError(ClusterErrorCode.RequestInvalid, `Invalid join request: the address asked for (${request.addresses[0] ?? ''}) is not the one the request comes from (${from})`);
  }
  return node.exclusive(() => admit(node, request, role));
}

async function admit(node: ClusterNode, request: ReturnType<typeof parseJoinRequest>, role: NodeRole): Promise<JoinResponse> {
  const active = node.requireManager();
  const clusterKey = role === 'manager' ? node.clusterKey : undefined;
  if (role === 'manager' && clusterKey === undefined) {
    throw new ClusterError(ClusterErrorCode.NotManager, 'This manager is locked (or holds no cluster key) and cannot admit managers: unlock it, or join through another manager');
  }
  const nodeId = await unusedNodeId(node);
  const ca = await node.loadCa();
  const common = { ca, subjectKey: { csrPem: request.csrPem }, nodeId, validitySeconds: node.certificateValiditySeconds };
  const certificatePem = await issueNodeCertificate({ ...common, role, addresses: request.addresses });
  const adminCertificatePem = role === 'manager' ? await issueAdminCertificate(common) : undefined;
  await node.withAdmin((admin) => grantNodeAccess(admin, nodeId, role));
  let member: JoinResponse['member'];
  let clientUrls: string[];
  try {
    await recordIssued(active.store, nodeId, adminCertificatePem === undefined ? [certificatePem] : [certificatePem, adminCertificatePem]);
    ({ member, clientUrls } = await node.withAdmin((admin) => addMemberIfManager(node, admin, { role, nodeId, address: request.addresses[0] ?? '', peerPort: request.etcdPeerPort })));
  } catch (error) {
    await node.withAdmin((admin) => revokeNodeAccess(admin, nodeId)).catch(() => undefined);
    await active.store.delete(issuedCollection, nodeId).catch(() => undefined);
    throw error;
  }
  node.logger.info({ nodeId, role, addresses: request.addresses }, 'admitted a joining host');
  return {
    clusterId: active.state.clusterId, nodeId, role, certificatePem, adminCertificatePem, caCertificatePem: active.tls.caPem,
    caPrivateKeyPem: role === 'manager' ? ca.privateKeyPem : undefined, clientUrls, member,
    ...(clusterKey === undefined ? {} : { clusterKey: encodeClusterKey(clusterKey.key, clusterKey.autolock) }),
  };
}

async function unusedNodeId(node: ClusterNode): Promise<string> {
  const { store } = node.requireManager();
  for (let attempt = 0; attempt < 4; attempt += 1) {
    const nodeId = newNodeId();
    const taken = await Promise.all([store.get(hostsCollection, nodeId), store.get(issuedCollection, nodeId), store.get(revokedCollection, nodeId)]);
    if (taken.every((entry) => entry === undefined)) return nodeId;
  }
  throw new ClusterError(ClusterErrorCode.StateInvalid, 'Cannot find an unused node id');
}

async function addMemberIfManager(node: ClusterNode, admin: Etcd3, joiner: { role: NodeRole; nodeId: string; address: string; peerPort: number }): Promise<{ member: JoinResponse['member']; clientUrls: string[] }> {
  const { members } = await admin.cluster.memberList({});
  const clientUrls = members.filter((m) => !m.isLearner).flatMap((m) => m.clientURLs);
  if (joiner.role !== 'manager') return { member: undefined, clientUrls };
  const peer = peerUrl(joiner.address, joiner.peerPort);
  if (members.some((m) => m.peerURLs.includes(peer))) throw new ClusterError(ClusterErrorCode.AlreadyInCluster, `An etcd member already uses ${peer}`);
  const added = await addLearner(node, admin, peer, joiner.nodeId);
  const initialCluster = added.members.map((m) => ({ name: m.ID === added.member.ID ? joiner.nodeId : m.name, peerUrl: m.peerURLs[0] ?? '' }));
  if (initialCluster.some((peerEntry) => peerEntry.name === '' || peerEntry.peerUrl === '')) {
    await admin.cluster.memberRemove({ ID: added.member.ID }).catch(() => undefined);
    throw new ClusterError(ClusterErrorCode.JoinFailed, 'Another etcd member was added but never started; remove it before joining more managers');
  }
  return { member: { memberId: added.member.ID, clusterToken: node.requireManager().state.member?.clusterToken ?? '', initialCluster }, clientUrls };
}

/**
 * etcd (strict reconfiguration check) refuses to add a member until every voting member has been connected for
 * 5 s, e.g. right after the previous join: retry that case for a bounded time.
 */
export const addRetryWindowMs = 15_000;

async function addLearner(node: ClusterNode, admin: Etcd3, peer: string, nodeId: string): Promise<IMemberAddResponse> {
  const deadline = Date.now() + addRetryWindowMs;
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await admin.cluster.memberAdd({ peerURLs: [peer], isLearner: true });
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
