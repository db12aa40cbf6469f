import type { Etcd3 } from 'etcd3';
import { setTimeout as sleep } from 'node:timers/promises';
import { Store as TypedStore, type Store } from '../store/typed-store.js';
import { absent } from '../store/revision.js';
import type { ClusterNode } from './cluster-node.js';
import { ClusterError, ClusterErrorCode } from './errors.js';
import { revokeNodeAccess } from './etcd-auth.js';
import { aliveCollection, hostsCollection, issuedCollection, revokedCollection } from './keys.js';
import { issueNodeCertificate, verifyNodeCertificate, type NodeIdentity, type NodeRole } from './node-cert.js';
import { parseCertificate } from './pki.js';
import { listOverlayLeases } from '../networks/overlay-leases.js';

const casAttemptsMax = 5;

/**
 * Adds certificates to the node's issued record (expired ones dropped), so a later revocation lists every serial.
 * Refused once the node is revoked: a certificate is handed out only after this, so one issued while the node was
 * being removed is either on the denylist or never leaves the manager.
 */
export async function recordIssued(store: Store, nodeId: string, certificatePems: readonly string[]): Promise<void> {
  const added = certificatePems.map((pem) => {
    const certificate = parseCertificate(pem, 'issued certificate');
    return { serial: certificate.serialNumber.toLowerCase(), notAfter: new Date(certificate.validTo).toISOString() };
  });
  for (let attempt = 1; attempt <= casAttemptsMax; attempt += 1) {
    const [current, revoked] = await Promise.all([store.get(issuedCollection, nodeId), store.get(revokedCollection, nodeId)]);
    if (revoked !== undefined) throw new ClusterError(ClusterErrorCode.NodeRevoked, `Node ${nodeId} was removed from the cluster`);
    const now = Date.now();
    const kept = (current?.value.certificates ?? []).filter((entry) => Date.parse(entry.notAfter) > now && !added.some((a) => a.serial === entry.serial));
    const { succeeded } = await store.transaction()
      .require(issuedCollection, nodeId, current?.modRevision ?? absent)
      .require(revokedCollection, nodeId, absent)
      .put(issuedCollection, nodeId, { nodeId, certificates: [...kept, ...added].slice(-64) })
      .commit();
    if (succeeded) return;
  }
  throw new ClusterError(ClusterErrorCode.StateInvalid, `Cannot record the certificates issued to ${nodeId}: changed concurrently ${casAttemptsMax} times`);
}

/** etcd refuses to remove a voting member while fewer peers than a quorum have been connected for 5 s. */
export const removeRetryWindowMs = 15_000;

export async function removeMember(node: ClusterNode, admin: Etcd3, memberId: string): Promise<void> {
  const deadline = Date.now() + removeRetryWindowMs;
  for (let attempt = 1; ; attempt += 1) {
    try {
      await admin.cluster.memberRemove({ ID: memberId });
      return;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (/member not found/.test(message)) return;
      if (!/unhealthy cluster|not enough started members/.test(message) || Date.now() > deadline) {
        throw new ClusterError(ClusterErrorCode.EtcdFailed, `Cannot remove etcd member ${memberId}: ${message}`);
      }
      node.logger.info({ attempt, err: message }, 'etcd will not remove the member yet; retrying');
      await sleep(500);
    }
  }
}

/**
 * Removes a node from the cluster for good (`berth cluster rm`, `leave`), on a manager: its etcd member first (a
 * manager's), then in one transaction its host, liveness, issued records and overlay leases go and a denylist record with every
 * serial it was issued comes (every manager rewrites its CRL from those), then its etcd users and role. `endpoints`:
 * talk to these members only (a manager removing itself uses the others).
 */
export async function revokeNode(node: ClusterNode, nodeId: string, options: { endpoints?: readonly string[]; serials?: readonly string[] } = {}): Promise<{ nodeId: string; role: NodeRole | undefined }> {
  const active = node.requireManager();
  // One admin connection for every step: it is open before the denylist (and so the CRL) can name this manager's
  // own certificates, which matters when a manager revokes itself on leave.
  const result = await node.withAdmin(async (admin, kv) => {
    const store = new TypedStore(kv);
    const read = () => Promise.all([store.get(hostsCollection, nodeId), store.get(issuedCollection, nodeId), store.get(revokedCollection, nodeId)]);
    const [host, ...records] = await read();
    let [issued, revoked] = records;
    if (host === undefined && issued === undefined && revoked === undefined) {
      throw new ClusterError(ClusterErrorCode.NodeUnknown, `No node ${nodeId} in cluster ${active.state.clusterId}`);
    }
    const member = (await etcdStep('list the etcd members', () => admin.cluster.memberList({}))).members.find((m) => m.name === nodeId);
    if (member !== undefined) await removeMember(node, admin, member.ID);
    let serials: string[] = [];
    // The denylist record is written from the issued record as read: a renewal that records a certificate in between
    // makes the transaction fail, and it is read again, so no certificate handed out escapes the denylist.
    for (let attempt = 1; ; attempt += 1) {
      const now = Date.now();
      const live = (issued?.value.certificates ?? []).filter((entry) => Date.parse(entry.notAfter) > now);
      serials = [...new Set([...(revoked?.value.serials ?? []), ...live.map((entry) => entry.serial), ...(options.serials ?? [])])].slice(-64);
      const expiresAt = new Date(Math.max(now, ...live.map((entry) => Date.parse(entry.notAfter)), Date.parse(revoked?.value.expiresAt ?? '') || 0)).toISOString();
      const removal = store.transaction()
        .require(issuedCollection, nodeId, issued?.modRevision ?? absent)
        .require(revokedCollection, nodeId, revoked?.modRevision ?? absent)
        .put(revokedCollection, nodeId, { nodeId, serials, revokedAt: new Date(now).toISOString(), expiresAt })
        .delete(hostsCollection, nodeId).delete(aliveCollection, nodeId).delete(issuedCollection, nodeId);
      // Its overlay subnets are released with it (they are bound to its liveness lease, which a removed host may still hold).
      for (const lease of (await listOverlayLeases(store)).leases.filter((entry) => entry.nodeId === nodeId)) removal.delete(lease.collection, lease.value.network);
      if ((await removal.commit()).succeeded) break;
      if (attempt >= casAttemptsMax) throw new ClusterError(ClusterErrorCode.StateInvalid, `Cannot revoke ${nodeId}: its certificates changed concurrently ${casAttemptsMax} times`);
      [, issued, revoked] = await read();
    }
    await etcdStep(`remove the etcd users of ${nodeId}`, () => revokeNodeAccess(admin, nodeId));
    return { nodeId, role: host?.value.role, serials: serials.length };
  }, options.endpoints);
  node.logger.info(result, 'node revoked');
  if (options.endpoints === undefined) await node.revocationsChanged().catch(() => undefined);
  return { nodeId: result.nodeId, role: result.role };
}

async function etcdStep<T>(what: string, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    if (error instanceof ClusterError) throw error;
    throw new ClusterError(ClusterErrorCode.EtcdFailed, `Cannot ${what}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

/** The identity a node presents on a manager's endpoint, after the chain, dates and the denylist were checked. */
export async function authenticateNode(node: ClusterNode, peerCertificatePem: string | undefined): Promise<NodeIdentity> {
  const active = node.requireManager();
  if (peerCertificatePem === undefined) throw new ClusterError(ClusterErrorCode.CertificateInvalid, 'This route needs the node certificate as TLS client certificate');
  const identity = verifyNodeCertificate({ certificatePem: peerCertificatePem, caCertificatePem: active.tls.caPem });
  if ((await active.store.get(revokedCollection, identity.nodeId)) !== undefined) {
    throw new ClusterError(ClusterErrorCode.NodeRevoked, `Node ${identity.nodeId} was removed from the cluster`);
  }
  return identity;
}

/** A worker's renewal: same key, same id and role, a new validity; refused once the node is revoked or gone. */
export async function handleRenewalRequest(node: ClusterNode, peerCertificatePem: string | undefined): Promise<{ certificatePem: string }> {
  const identity = await authenticateNode(node, peerCertificatePem);
  const active = node.requireManager();
  if (identity.role !== 'worker') throw new ClusterError(ClusterErrorCode.RequestInvalid, 'Managers renew their own certificates');
  if ((await active.store.get(hostsCollection, identity.nodeId)) === undefined) throw new ClusterError(ClusterErrorCode.NodeUnknown, `No node ${identity.nodeId} in the cluster`);
  const certificatePem = await issueNodeCertificate({
    ca: await node.loadCa(), subjectKey: { certificatePem: peerCertificatePem ?? '' }, nodeId: identity.nodeId, role: 'worker',
    addresses: identity.addresses.length > 0 ? identity.addresses : ['127.0.0.1'], validitySeconds: node.certificateValiditySeconds,
  });
  await recordIssued(active.store, identity.nodeId, [certificatePem]);
  node.logger.info({ nodeId: identity.nodeId }, 'renewed a worker certificate');
  return { certificatePem };
}

/** A worker leaving: the manager revokes it (a worker may not delete its own etcd user). */
export async function handleLeaveRequest(node: ClusterNode, peerCertificatePem: string | undefined): Promise<{ nodeId: string }> {
  const identity = await authenticateNode(node, peerCertificatePem);
  if (identity.role !== 'worker') throw new ClusterError(ClusterErrorCode.RequestInvalid, 'A manager leaves with `berth cluster leave` on its own host');
  return node.exclusive(async () => {
    await revokeNode(node, identity.nodeId, { serials: [identity.serial] });
    return { nodeId: identity.nodeId };
  });
}

/** `berth cluster rm NODE` on a manager: another node, revoked for good. */
export function removeNode(node: ClusterNode, nodeId: string): Promise<{ nodeId: string; role: NodeRole | undefined }> {
  return node.exclusive(async () => {
    const active = node.requireManager();
    if (nodeId === active.state.nodeId) throw new ClusterError(ClusterErrorCode.RequestInvalid, `Node ${nodeId} is this host: use \`berth cluster leave\``);
    return revokeNode(node, nodeId);
  });
}
