import {
  EtcdRoleExistsError, EtcdRoleNotFoundError, EtcdUserExistsError, EtcdUserNotFoundError, type Etcd3,
} from 'etcd3';
import {
  adminUserName, managerPermissions, managerRoleName, nodeRoleName, workerOwnPermissions, workerRoleName, workerSharedPermissions,
  type EtcdPermission,
} from './access.js';
import type { NodeRole } from './node-cert.js';

/**
 * etcd's users and roles, made from the access table. With `--client-cert-auth` and auth enabled, etcd takes the
 * client certificate's CN as the user, so every node certificate maps to one user:
 * - `<nodeId>` of a manager: role `manager` (read-write on /berth/v1/), its everyday store traffic;
 * - `<nodeId>.admin` of a manager: etcd's `root` role, for member add/remove/promote and users/roles only;
 * - `<nodeId>` of a worker: roles `worker` (shared reads) and `node-<nodeId>` (its own keys);
 * - `root`: required by etcd before auth can be enabled; no certificate ever names it (the CA refuses the CN).
 * Users have no password (`--no-password`): a certificate is the only way in. Every function is idempotent.
 */
function permissionId(permission: { permType: string; key: string; rangeEnd: string | undefined }): string {
  return `${permission.permType}\0${permission.key}\0${permission.rangeEnd ?? ''}`;
}

/** Makes the role hold exactly these permissions. */
export async function ensureRole(client: Etcd3, role: string, permissions: readonly EtcdPermission[]): Promise<void> {
  await client.auth.roleAdd({ name: role }).catch((error: unknown) => {
    if (!(error instanceof EtcdRoleExistsError)) throw error;
  });
  const { perm } = await client.auth.roleGet({ role });
  const current = perm.map((p) => ({ permType: p.permType, key: p.key.toString(), rangeEnd: p.range_end.length === 0 ? undefined : p.range_end.toString() }));
  const wanted = new Set(permissions.map(permissionId));
  const present = new Set(current.map(permissionId));
  for (const permission of current) {
    if (wanted.has(permissionId(permission))) continue;
    await client.auth.roleRevokePermission({ role, key: Buffer.from(permission.key), ...(permission.rangeEnd === undefined ? {} : { range_end: Buffer.from(permission.rangeEnd) }) });
  }
  for (const permission of permissions) {
    if (present.has(permissionId(permission))) continue;
    await client.auth.roleGrantPermission({
      name: role,
      perm: { permType: permission.permType, key: Buffer.from(permission.key), range_end: Buffer.from(permission.rangeEnd ?? '') },
    });
  }
}

/** Makes the user exist without a password and hold exactly these roles. */
export async function ensureUser(client: Etcd3, user: string, roles: readonly string[]): Promise<void> {
  await client.auth.userAdd({ name: user, options: { no_password: true } }).catch((error: unknown) => {
    if (!(error instanceof EtcdUserExistsError)) throw error;
  });
  const current = (await client.auth.userGet({ name: user })).roles;
  for (const role of current) if (!roles.includes(role)) await client.auth.userRevokeRole({ name: user, role });
  for (const role of roles) if (!current.includes(role)) await client.auth.userGrantRole({ user, role });
}

/** The roles every node shares, as the access table says now (run at init and whenever a manager starts). */
export async function ensureSharedRoles(client: Etcd3): Promise<void> {
  await ensureRole(client, managerRoleName, managerPermissions());
  await ensureRole(client, workerRoleName, workerSharedPermissions());
}

/** The etcd users (and for a worker, its own role) of a node that is being admitted. */
export async function grantNodeAccess(client: Etcd3, nodeId: string, role: NodeRole): Promise<void> {
  if (role === 'manager') {
    await ensureUser(client, nodeId, [managerRoleName]);
    await ensureUser(client, adminUserName(nodeId), ['root']);
    return;
  }
  await ensureRole(client, nodeRoleName(nodeId), workerOwnPermissions(nodeId));
  await ensureUser(client, nodeId, [workerRoleName, nodeRoleName(nodeId)]);
}

/**
 * Removes a node's users and role: from the next request on, etcd refuses everything that needs a permission, even
 * on connections opened before (etcd resolves the user for every request). The admin user goes last: a manager
 * removing itself does this with that very identity.
 */
export async function revokeNodeAccess(client: Etcd3, nodeId: string): Promise<void> {
  await client.auth.roleDelete({ role: nodeRoleName(nodeId) }).catch((error: unknown) => {
    if (!(error instanceof EtcdRoleNotFoundError)) throw error;
  });
  for (const user of [nodeId, adminUserName(nodeId)]) {
    await client.auth.userDelete({ name: user }).catch((error: unknown) => {
      if (!(error instanceof EtcdUserNotFoundError)) throw error;
    });
  }
}

/** First manager, before any data is written: roles, the `root` user, this manager's users, then auth on. */
export async function bootstrapAuth(client: Etcd3, managerNodeId: string): Promise<void> {
  await ensureUser(client, 'root', ['root']);
  await ensureSharedRoles(client);
  await grantNodeAccess(client, managerNodeId, 'manager');
  await client.auth.authEnable();
}
