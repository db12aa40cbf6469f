import type { ClusterNode } from './cluster-node.js';
import { aliveCollection, hostsCollection } from './keys.js';
import { fetchMemberStatus, type MemberStatus } from './member-status.js';
import type { NodeRole } from './node-cert.js';

export interface HostStatus {
  readonly nodeId: string;
  readonly hostname: string;
  readonly role: NodeRole;
  readonly addresses: readonly string[];
  readonly joinPort: number;
  readonly certificateExpiresAt: string | undefined;
  /** berthd holds its liveness lease. */
  readonly alive: boolean;
  readonly self: boolean;
  readonly member: MemberStatus | undefined;
}

export interface ClusterListing {
  readonly clusterId: string;
  readonly nodeId: string;
  readonly hosts: readonly HostStatus[];
  /** etcd members with no host record (a learner mid-join, or a member whose host never finished). */
  readonly otherMembers: readonly MemberStatus[];
}

/** `berth cluster ls`: hosts from the store, liveness from leases, each member's own status over its client URL. */
export async function listCluster(node: ClusterNode): Promise<ClusterListing> {
  const active = node.requireActive();
  const [hosts, alive, memberList] = await Promise.all([
    active.store.list(hostsCollection),
    active.store.list(aliveCollection),
    active.kv.client.cluster.memberList({}),
  ]);
  const statuses = await Promise.all(memberList.members.map((member) => fetchMemberStatus(member, active.tls, node.limits.statusTimeoutMs)));
  const aliveIds = new Set(alive.entries.map((entry) => entry.id));
  const rows: HostStatus[] = hosts.entries.map(({ value }) => ({
    nodeId: value.nodeId, hostname: value.hostname, role: value.role, addresses: value.addresses, joinPort: value.joinPort,
    certificateExpiresAt: value.certificateExpiresAt, alive: aliveIds.has(value.nodeId), self: value.nodeId === active.state.nodeId,
    member: statuses.find((status) => status.name === value.nodeId),
  }));
  const known = new Set(rows.map((row) => row.nodeId));
  return { clusterId: active.state.clusterId, nodeId: active.state.nodeId, hosts: rows, otherMembers: statuses.filter((status) => !known.has(status.name)) };
}
