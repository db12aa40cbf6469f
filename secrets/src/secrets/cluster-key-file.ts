import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { NodePaths } from '../cluster/node-state.js';
import { writeFileDurably } from '../cluster/secure-file.js';
import { keyBytes, type ClusterKey } from './crypto.js';

/**
 * A manager's copy of the cluster key (KEK) while autolock is off: `$BERTH_ROOT/cluster/cluster.key`, 0600, beside
 * the CA key. With autolock on no manager keeps it on disk: it lives in memory after `berth cluster unlock`.
 */
export function clusterKeyFile(paths: NodePaths): string {
  return join(paths.clusterDir, 'cluster.key');
}

export async function saveClusterKey(paths: NodePaths, key: ClusterKey): Promise<void> {
  await writeFileDurably(clusterKeyFile(paths), `${JSON.stringify({ kekId: key.kekId, key: Buffer.from(key.key).toString('base64') })}\n`);
}

export async function loadClusterKey(paths: NodePaths): Promise<ClusterKey | undefined> {
  let text: string;
  try {
    text = await readFile(clusterKeyFile(paths), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const parsed = JSON.parse(text) as { kekId?: unknown; key?: unknown };
  const key = typeof parsed.key === 'string' ? new Uint8Array(Buffer.from(parsed.key, 'base64')) : undefined;
  if (typeof parsed.kekId !== 'string' || key?.length !== keyBytes) throw new Error(`${clusterKeyFile(paths)} is not a cluster key file`);
  return { kekId: parsed.kekId, key };
}

export async function removeClusterKey(paths: NodePaths): Promise<void> {
  await rm(clusterKeyFile(paths), { force: true });
}

/** The cluster key as a manager join answer carries it (over the join's TLS, to managers only). */
export function encodeClusterKey(key: ClusterKey, autolock: boolean): { kekId: string; key: string; autolock: boolean } {
  return { kekId: key.kekId, key: Buffer.from(key.key).toString('base64'), autolock };
}

export function decodeClusterKey(value: unknown): { key: ClusterKey; autolock: boolean } {
  const v = value as { kekId?: unknown; key?: unknown; autolock?: unknown } | null;
  const key = typeof v?.key === 'string' ? new Uint8Array(Buffer.from(v.key, 'base64')) : undefined;
  if (typeof v?.kekId !== 'string' || !/^k[0-9a-f]{12}$/.test(v.kekId) || key?.length !== keyBytes || typeof v.autolock !== 'boolean') {
    throw new TypeError('invalid cluster key');
  }
  return { key: { kekId: v.kekId, key }, autolock: v.autolock };
}
