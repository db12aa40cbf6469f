/** The console's page builders: named columns only, hostile text escaped, counter chains read as policies. */
import t from 'tap';
import { clusterBody, secretBody, secretsBody, verdictRows } from '../../../src/daemon/console/pages.js';

const hostile = '<script>alert(1)</script>';

t.test('counter chains are read as verb, direction and policy', async (t) => {
  t.same(verdictRows([{ chain: 'drop/in/np/shop/db-from-web', packets: 3, bytes: 180 }, { chain: 'monitor/eg/anp/audit/2', packets: 0, bytes: 0 }]), [
    { policy: 'np/shop/db-from-web', verb: 'drop', direction: 'ingress', chain: 'drop/in/np/shop/db-from-web', packets: 3, bytes: 180 },
    { policy: 'anp/audit/2', verb: 'monitor', direction: 'egress', chain: 'monitor/eg/anp/audit/2', packets: 0, bytes: 0 },
  ]);
});

t.test('user text is escaped on every page; secrets pages show metadata fields only', async (t) => {
  const cluster = clusterBody({ clusterId: hostile, otherMembers: [], hosts: [{ nodeId: 'n1', hostname: hostile, role: 'manager', addresses: ['10.0.0.1'], alive: true, self: true, member: { leader: true, raftTerm: 2, raftIndex: 9 } }] });
  t.notOk(cluster.includes('<script>'));
  t.match(cluster, /leader/);
  const list = secretsBody([{ name: 'db', labels: { owner: hostile }, current: 1, latest: 1, versions: 1, updatedAt: 'now', value: 'c2VjcmV0' } as never]);
  t.notOk(list.includes('<script>'));
  t.notOk(list.includes('c2VjcmV0'), 'a field outside the named columns is never rendered');
  const details = secretBody({ name: 'db', current: 2, versions: [{ version: 1, createdAt: 'a', bytes: 4 }, { version: 2, createdAt: 'b', bytes: 5 }], grants: [{ service: 'web', target: 'db', uid: 0, gid: 0, mode: 0o400, nodes: [], createdAt: 'c' }] },
    [{ at: 'd', action: 'rotate', version: 2, detail: hostile, value: 'c2VjcmV0' }]);
  t.match(details, /<td>0400<\/td>/);
  t.notOk(details.includes('<script>'));
  t.notOk(details.includes('c2VjcmV0'));
});
