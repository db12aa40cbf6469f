import { setTimeout as sleep } from 'node:timers/promises';
import { EtcdKvStore } from '../store/etcd-kv-store.js';
import { Store } from '../store/typed-store.js';
import type { ClusterNode } from './cluster-node.js';
import { ClusterError, ClusterErrorCode } from './errors.js';
import { aliveCollection, hostsCollection } from './keys.js';
import { wipeNodeState } from './node-state.js';

/**
 * Leaves the cluster. A manager's etcd member is removed from the cluster first (while quorum still counts it),
 * then stopped; the last manager refuses unless `force`, which ends the cluster for this host. With `force`,
 * unreachable remote steps are skipped and the local state is wiped anyway.
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
      const { members } = await active.kv.client.cluster.memberList({}).catch((error: unknown) => {
        if (options.force) return { members: [] };
        throw new ClusterError(ClusterErrorCode.EtcdFailed, `Cannot list etcd members: ${error instanceof Error ? error.message : String(error)}`);
      });
      const self = members.find((m) => m.name === nodeId);
      const others = members.filter((m) => m !== self && !m.isLearner);
      if (others.length === 0 && !options.force) {
        throw new ClusterError(ClusterErrorCode.LastManager, `Host ${nodeId} is the last manager of cluster ${clusterId}: leaving would destroy it; use --force`);
      }
      if (others.length > 0 && self !== undefined) {
        const remote = new EtcdKvStore({ endpoints: others.flatMap((m) => m.clientURLs), tls: active.tls, limits: { requestTimeoutMs: 5_000 }, hostFailover: 'none' });
        try {
          active.member?.retire();
          await quietly('etcd member removal', () => removeMember(node, remote, self.ID));
          await quietly('host records', () => deleteHostRecords(remote, nodeId));
        } catch (error) {
          active.member?.unretire();
          throw error;
        } finally {
          await remote.close();
        }
      }
    } else {
      await quietly('host records', () => deleteHostRecords(active.kv, nodeId));
    }
    await node.deactivate();
    await wipeNodeState(node.paths);
    node.logger.info({ nodeId, clusterId }, 'left cluster');
    return { nodeId, clusterId };
  });
}

/** etcd refuses to remove a voting member while fewer peers than a quorum have been connected for 5 s. */
export const removeRetryWindowMs = 15_000;

async function removeMember(node: ClusterNode, remote: EtcdKvStore, memberId: string): Promise<void> {
  const deadline = Date.now() + removeRetryWindowMs;
  for (let attempt = 1; ; attempt += 1) {
    try {
      await remote.client.cluster.memberRemove({ ID: memberId });
      return;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (!/unhealthy cluster|not enough started members/.test(message) || Date.now() > deadline) {
        throw new ClusterError(ClusterErrorCode.EtcdFailed, `Cannot remove etcd member ${memberId}: ${message}`);
      }
      node.logger.info({ attempt, err: message }, 'etcd will not remove the member yet; retrying');
      await sleep(500);
    }
  }
}

async function deleteHostRecords(kv: EtcdKvStore, nodeId: string): Promise<void> {
  await new Store(kv).transaction().delete(hostsCollection, nodeId).delete(aliveCollection, nodeId).commit();
}
