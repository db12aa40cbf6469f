import type { ClusterNode } from './cluster-node.js';
import { ClusterError, ClusterErrorCode } from './errors.js';
import { callAnyManager } from './manager-call.js';
import { wipeNodeState } from './node-state.js';
import { revokeNode } from './revocation.js';

/**
 * Leaves the cluster and revokes this node's identity. A manager removes its own etcd member first (while quorum
 * still counts it) through the other members, then its records and users, and denylists its certificates; the last
 * manager refuses unless `force`, which ends the cluster for this host. A worker may not delete its own etcd user,
 * so it asks a manager (over mTLS, as itself) to revoke it. With `force`, unreachable remote steps are skipped and
 * the local state is wiped anyway.
 */
export function leaveCluster(node: ClusterNode, options: { force: boolean }): Promise<{ nodeId: string; clusterId: string }> {
  return node.exclusive(async () => {
    const active = node.requireActive();
    const { nodeId, clusterId, role } = active.state;
    const quietly = async (what: string, step: () => Promise<unknown>): Promise<void> => {
      try {
        await step();
      } catch (error) {
        if (!options.force) throw error;
        node.logger.warn({ err: error instanceof Error ? error.message : String(error) }, `leave --force: skipped ${what}`);
      }
    };
    if (role === 'manager') {
      const { members } = await node.withAdmin((admin) => admin.cluster.memberList({})).catch((error: unknown) => {
        if (options.force) return { members: [] };
        throw new ClusterError(ClusterErrorCode.EtcdFailed, `Cannot list etcd members: ${error instanceof Error ? error.message : String(error)}`);
      });
      const self = members.find((m) => m.name === nodeId);
      const others = members.filter((m) => m !== self && !m.isLearner);
      if (others.length === 0 && !options.force) {
        throw new ClusterError(ClusterErrorCode.LastManager, `Host ${nodeId} is the last manager of cluster ${clusterId}: leaving would destroy it; use --force`);
      }
      if (others.length > 0 && self !== undefined) {
        active.member?.retire();
        try {
          await quietly('revocation', () => revokeNode(node, nodeId, { endpoints: others.flatMap((m) => m.clientURLs) }));
        } catch (error) {
          active.member?.unretire();
          throw error;
        }
      }
    } else {
      await quietly('revocation by a manager', () => callAnyManager(node, '/v1/node/leave'));
    }
    await node.deactivate();
    await wipeNodeState(node.paths);
    node.logger.info({ nodeId, clusterId }, 'left cluster');
    return { nodeId, clusterId };
  });
}
