import type { KvStore } from '../store/kv-store.js';
import type { Revision } from '../store/revision.js';
import { grantCollection, tasksCollection, tasksPrefix, type GrantRecord, type TaskRecord } from './schema.js';

/** Every registered task of every host (managers only: workers may read only their own prefix). */
export async function listAllTasks(kv: KvStore): Promise<TaskRecord[]> {
  const { kvs } = await kv.list(tasksPrefix);
  return kvs.map((entry) => {
    const nodeId = entry.key.slice(tasksPrefix.length).split('/')[0] ?? '';
    return tasksCollection(nodeId).decode(entry.value, entry.key);
  });
}

export async function listNodeTasks(kv: KvStore, nodeId: string): Promise<{ revision: Revision; tasks: TaskRecord[] }> {
  const collection = tasksCollection(nodeId);
  const { revision, kvs } = await kv.list(collection.prefix);
  return { revision, tasks: kvs.map((entry) => collection.decode(entry.value, entry.key)) };
}

/** Grants with their revisions: of one secret (a key prefix), or all. */
export async function listGrants(kv: KvStore, secret?: string): Promise<Array<{ grant: GrantRecord; modRevision: Revision }>> {
  const { kvs } = await kv.list(secret === undefined ? grantCollection.prefix : `${grantCollection.prefix}${secret}:`);
  return kvs.map((entry) => ({ grant: grantCollection.decode(entry.value, entry.key), modRevision: entry.modRevision }));
}

/** A grant reaches a task when the services match and the grant's node list (ids or hostnames) is empty or names the host. */
export function grantReaches(grant: GrantRecord, task: { service: string }, host: { nodeId: string; hostname: string | undefined }): boolean {
  if (grant.service !== task.service) return false;
  return grant.nodes.length === 0 || grant.nodes.includes(host.nodeId) || (host.hostname !== undefined && grant.nodes.includes(host.hostname));
}
