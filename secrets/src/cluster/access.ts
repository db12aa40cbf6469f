import { keyspaceRoot } from '../store/keyspace.js';

/**
 * Who may touch which part of the keyspace, as DATA: the etcd roles are made from it, the escalation test walks it
 * with a real worker certificate, and the cluster README's table is checked against it. Managers decide (they may
 * read and write everything under /berth/v1/); a worker reads only what its berthd needs and writes only keys that
 * carry its own node id (swarm's dispatcher model). Anyone adding a collection adds its row here.
 */
export interface AccessRow {
  /** A collection prefix under /berth/v1/, ending in `/`. */
  readonly prefix: string;
  readonly holds: string;
  /** What every worker may do on the whole prefix. */
  readonly workerAll: 'none' | 'read';
  /**
   * What a worker may do on its own part: `key` = `<prefix><ownId>` exactly, `prefix` = everything under
   * `<prefix><ownId>/`; always read and write.
   */
  readonly workerOwn: 'none' | 'key' | 'prefix';
}

export const accessTable: readonly AccessRow[] = [
  { prefix: 'cluster/info/', holds: 'cluster id, CA fingerprint', workerAll: 'read', workerOwn: 'none' },
  { prefix: 'cluster/hosts/', holds: 'host records (role, address, join port)', workerAll: 'read', workerOwn: 'key' },
  { prefix: 'cluster/alive/', holds: 'liveness keys under each berthd\'s lease', workerAll: 'read', workerOwn: 'key' },
  { prefix: 'cluster/join-tokens/', holds: 'join-token hashes and sealed secrets', workerAll: 'none', workerOwn: 'none' },
  { prefix: 'cluster/issued/', holds: 'serials of the certificates issued to each node', workerAll: 'none', workerOwn: 'none' },
  { prefix: 'cluster/revoked/', holds: 'denylist of removed nodes and their certificate serials', workerAll: 'read', workerOwn: 'none' },
  { prefix: 'secrets/', holds: 'KEK, secret versions, ciphertext, grants, audit', workerAll: 'none', workerOwn: 'none' },
  { prefix: 'tasks/', holds: 'running containers of services, one key per container under the node\'s id', workerAll: 'none', workerOwn: 'prefix' },
  { prefix: 'networks/', holds: 'cluster networks: driver, subnets, VNI, options (`networks/<name>`)', workerAll: 'read', workerOwn: 'none' },
  { prefix: 'policies/', holds: 'cluster-wide policy documents (`documents/<Kind>:<ns>:<name>`) and monitor mode (`settings/cluster`)', workerAll: 'read', workerOwn: 'none' },
  { prefix: 'endpoints/', holds: 'firewall endpoints each host\'s berth-firewall registered (`<nodeId>/<ns>:<name>`)', workerAll: 'read', workerOwn: 'prefix' },
  // A host's subnet lease of a network (with its VTEP address and MAC) is `overlay/<ownId>/<network>`, under its
  // liveness lease; uniqueness among hosts comes from a prefix precondition on `overlay/`, not from a shared index.
  { prefix: 'overlay/', holds: 'each host\'s subnet lease of a vxlan network, with its VTEP address and MAC (`overlay/<nodeId>/<network>`)', workerAll: 'read', workerOwn: 'prefix' },
];

/** One etcd permission: a single key, or the range [key, rangeEnd) when rangeEnd is set. */
export interface EtcdPermission {
  readonly permType: 'Read' | 'Readwrite';
  readonly key: string;
  readonly rangeEnd: string | undefined;
}

export const managerRoleName = 'manager';
export const workerRoleName = 'worker';

/** etcd user names: the node certificate's CN for store traffic, `<nodeId>.admin` for membership and auth. */
export function adminUserName(nodeId: string): string {
  return `${nodeId}.admin`;
}

export function nodeRoleName(nodeId: string): string {
  return `node-${nodeId}`;
}

/** The end of a prefix range in etcd: the prefix with its last byte incremented (prefixes here are ASCII). */
export function prefixRangeEnd(prefix: string): string {
  return `${prefix.slice(0, -1)}${String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1)}`;
}

function range(prefix: string, permType: EtcdPermission['permType']): EtcdPermission {
  return { permType, key: prefix, rangeEnd: prefixRangeEnd(prefix) };
}

/** Managers: everything under the keyspace root. */
export function managerPermissions(): EtcdPermission[] {
  return [range(keyspaceRoot, 'Readwrite')];
}

/** The role every worker shares: read on the rows workers may read. */
export function workerSharedPermissions(table: readonly AccessRow[] = accessTable): EtcdPermission[] {
  return table.filter((row) => row.workerAll === 'read').map((row) => range(`${keyspaceRoot}${row.prefix}`, 'Read'));
}

/** The key (or prefix) of a row that belongs to one node. */
export function ownKey(row: AccessRow, nodeId: string): string {
  return row.workerOwn === 'prefix' ? `${keyspaceRoot}${row.prefix}${nodeId}/` : `${keyspaceRoot}${row.prefix}${nodeId}`;
}

/** One worker's own role: read and write on the keys that carry its node id. */
export function workerOwnPermissions(nodeId: string, table: readonly AccessRow[] = accessTable): EtcdPermission[] {
  return table.filter((row) => row.workerOwn !== 'none').map((row) => (row.workerOwn === 'prefix'
    ? range(ownKey(row, nodeId), 'Readwrite')
    : { permType: 'Readwrite' as const, key: ownKey(row, nodeId), rangeEnd: undefined }));
}

/** The rows as the README shows them; a test keeps the README's copy equal to this. */
export function accessTableMarkdown(table: readonly AccessRow[] = accessTable): string {
  const worker = (row: AccessRow): string => {
    const own = row.workerOwn === 'key' ? `rw own key (\`${row.prefix}<ownId>\`)` : row.workerOwn === 'prefix' ? `rw own prefix (\`${row.prefix}<ownId>/\`)` : '';
    const all = row.workerAll === 'read' ? 'r all' : '';
    return [all, own].filter((part) => part !== '').join('; ') || 'none';
  };
  return [
    '| key prefix (under /berth/v1/) | holds | manager | worker |',
    '| --- | --- | --- | --- |',
    ...table.map((row) => `| \`${row.prefix}\` | ${row.holds} | rw | ${worker(row)} |`),
  ].join('\n');
}
