import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ClusterError, ClusterErrorCode } from './errors.js';
import type { EtcdPeer } from './etcd-config.js';
import { isNodeRole, type NodeRole } from './node-cert.js';
import { writeFileDurably } from './secure-file.js';

/** Where one host keeps its cluster identity; `state.json` is written last, so its presence means "joined". */
export interface NodePaths {
  readonly clusterDir: string;
  readonly stateFile: string;
  readonly caCertFile: string;
  readonly caKeyFile: string;
  readonly nodeCertFile: string;
  readonly nodeKeyFile: string;
  /** Managers: the `<nodeId>.admin` client certificate (same key as the node certificate). */
  readonly adminCertFile: string;
  /** Managers: the CRL every etcd member loads (client and peer). */
  readonly crlFile: string;
  readonly etcdDir: string;
  readonly etcdDataDir: string;
  readonly etcdPidFile: string;
  readonly etcdLogFile: string;
}

export function nodePaths(root: string): NodePaths {
  const clusterDir = join(root, 'cluster');
  const etcdDir = join(root, 'etcd');
  return {
    clusterDir,
    stateFile: join(clusterDir, 'state.json'),
    caCertFile: join(clusterDir, 'ca.crt'),
    caKeyFile: join(clusterDir, 'ca.key'),
    nodeCertFile: join(clusterDir, 'node.crt'),
    nodeKeyFile: join(clusterDir, 'node.key'),
    adminCertFile: join(clusterDir, 'admin.crt'),
    crlFile: join(clusterDir, 'crl.pem'),
    etcdDir,
    etcdDataDir: join(etcdDir, 'data'),
    etcdPidFile: join(etcdDir, 'member.pid'),
    etcdLogFile: join(etcdDir, 'etcd.log'),
  };
}

/** The etcd member settings that must stay identical across restarts (so a running member can be adopted). */
export interface MemberState {
  readonly clientPort: number;
  readonly peerPort: number;
  readonly clusterToken: string;
  readonly initialCluster: readonly EtcdPeer[];
  readonly initialClusterState: 'new' | 'existing';
}

export interface NodeState {
  readonly version: 1;
  readonly clusterId: string;
  readonly nodeId: string;
  readonly role: NodeRole;
  readonly advertiseAddress: string;
  readonly joinPort: number;
  /** Client URLs of the managers' etcd members, as last known. */
  readonly clientUrls: readonly string[];
  readonly member: MemberState | undefined;
  readonly joinedAt: string;
}

export async function loadNodeState(paths: NodePaths): Promise<NodeState | undefined> {
  let text: string;
  try {
    text = await readFile(paths.stateFile, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    return parseNodeState(JSON.parse(text));
  } catch (error) {
    throw new ClusterError(ClusterErrorCode.StateInvalid, `Cannot load ${paths.stateFile}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function parseNodeState(value: unknown): NodeState {
  const v = value as Partial<Record<keyof NodeState, unknown>> | null;
  if (v === null || typeof v !== 'object' || v.version !== 1) throw new TypeError('not a version 1 state');
  if (typeof v.clusterId !== 'string' || typeof v.nodeId !== 'string' || !isNodeRole(v.role) || typeof v.advertiseAddress !== 'string'
    || typeof v.joinPort !== 'number' || !Array.isArray(v.clientUrls) || typeof v.joinedAt !== 'string') throw new TypeError('missing fields');
  const member = v.member as MemberState | undefined | null;
  if (v.role === 'manager' && (member === undefined || member === null || !Array.isArray(member.initialCluster))) throw new TypeError('a manager state needs its member settings');
  return {
    version: 1, clusterId: v.clusterId, nodeId: v.nodeId, role: v.role, advertiseAddress: v.advertiseAddress, joinPort: v.joinPort,
    clientUrls: v.clientUrls.map(String), member: member ?? undefined, joinedAt: v.joinedAt,
  };
}

export async function saveNodeState(paths: NodePaths, state: NodeState): Promise<void> {
  await mkdir(paths.clusterDir, { recursive: true, mode: 0o700 });
  await writeFileDurably(paths.stateFile, `${JSON.stringify(state, null, 2)}\n`);
}

/** Forgets the cluster: identity, keys, and the etcd member's data. */
export async function wipeNodeState(paths: NodePaths): Promise<void> {
  await rm(paths.stateFile, { force: true });
  await rm(paths.clusterDir, { recursive: true, force: true });
  await rm(paths.etcdDir, { recursive: true, force: true });
}
