import t from 'tap';
import { readFile } from 'node:fs/promises';
import {
  accessTable, accessTableMarkdown, managerPermissions, ownKey, prefixRangeEnd, workerOwnPermissions, workerSharedPermissions, type AccessRow,
} from '../../src/cluster/access.js';
import { keyspaceRoot } from '../../src/store/keyspace.js';

t.test('the cluster README shows exactly the access table of the code', async (t) => {
  const readme = await readFile(new URL('../../src/cluster/README.md', import.meta.url), 'utf8');
  const shown = /<!-- access-table:begin -->\n([\s\S]*?)\n<!-- access-table:end -->/.exec(readme)?.[1];
  t.equal(shown, accessTableMarkdown(), 'regenerate the README block from accessTableMarkdown() when access.ts changes');
});

t.test('the rows hold the contracts: prefixes under the root, workers write only keys carrying their own id', async (t) => {
  const prefixes = accessTable.map((row) => row.prefix);
  t.equal(new Set(prefixes).size, prefixes.length, 'no prefix twice');
  for (const row of accessTable) {
    t.match(row.prefix, /^[a-z0-9-]+(\/[a-z0-9-]+)*\/$/, `${row.prefix}: a collection prefix ending in /`);
    for (const other of accessTable) {
      if (other !== row) t.notOk(other.prefix.startsWith(row.prefix), `${row.prefix} does not contain ${other.prefix}`);
    }
  }
  const byPrefix = new Map(accessTable.map((row) => [row.prefix, row]));
  const expect = (prefix: string, workerAll: AccessRow['workerAll'], workerOwn: AccessRow['workerOwn']) => t.match(byPrefix.get(prefix), { workerAll, workerOwn }, prefix);
  expect('cluster/join-tokens/', 'none', 'none');
  expect('secrets/', 'none', 'none');
  expect('cluster/issued/', 'none', 'none');
  expect('tasks/', 'none', 'prefix');
  expect('cluster/hosts/', 'read', 'key');
  expect('cluster/alive/', 'read', 'key');
  expect('cluster/revoked/', 'read', 'none');
  expect('networks/', 'read', 'none');
  expect('overlay/', 'read', 'prefix');
});

t.test('etcd permissions made from the table', async (t) => {
  t.same(managerPermissions(), [{ permType: 'Readwrite', key: keyspaceRoot, rangeEnd: '/berth/v10' }], 'managers: everything under /berth/v1/');
  const shared = workerSharedPermissions();
  t.ok(shared.every((permission) => permission.permType === 'Read'), 'the shared worker role only reads');
  t.notOk(shared.some((permission) => /join-tokens|secrets|issued/.test(permission.key)), 'and never token records, secrets or serials');
  const own = workerOwnPermissions('n0000000000aa');
  t.ok(own.every((permission) => permission.permType === 'Readwrite' && permission.key.includes('n0000000000aa')), 'a worker writes only keys with its own id');
  t.same(own.find((permission) => permission.key.includes('cluster/hosts/')), { permType: 'Readwrite', key: '/berth/v1/cluster/hosts/n0000000000aa', rangeEnd: undefined }, 'a single key');
  t.same(own.find((permission) => permission.key.includes('tasks/')), { permType: 'Readwrite', key: '/berth/v1/tasks/n0000000000aa/', rangeEnd: '/berth/v1/tasks/n0000000000aa0' }, 'a prefix ends with / so n1 never covers n10');
  t.equal(ownKey({ prefix: 'tasks/', holds: '', workerAll: 'none', workerOwn: 'prefix' }, 'n1'), '/berth/v1/tasks/n1/');
  t.equal(prefixRangeEnd('/a/'), '/a0');
});
