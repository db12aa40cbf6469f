import type { ClusterNode } from './cluster-node.js';
import { ClusterError, ClusterErrorCode } from './errors.js';
import { callManagerAsNode } from './join-client.js';
import { hostsCollection } from './keys.js';

/** Calls a route on the first manager (from the host records) that answers, as this node (mTLS). */
export async function callAnyManager(node: ClusterNode, path: '/v1/node/renew' | '/v1/node/leave'): Promise<unknown> {
  const active = node.requireActive();
  const managers = (await active.store.list(hostsCollection)).entries.map((entry) => entry.value).filter((host) => host.role === 'manager');
  let lastError: unknown = new ClusterError(ClusterErrorCode.JoinFailed, `No manager is known to call ${path}`);
  for (const manager of managers) {
    const address = manager.addresses[0];
    if (address === undefined) continue;
    try {
      return await callManagerAsNode({ address, port: manager.joinPort, path, tls: active.tls, timeoutMs: node.limits.joinRequestTimeoutMs });
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
}
