/** The console's page builders: named columns only, hostile text escaped, counter chains read as policies. */
import t from 'tap';
import { clusterBody, dropRows, secretBody, secretsBody, verdictRows, verdictsBody } from '../../../src/daemon/console/pages.js';

const hostile = '<script>alert(1)</script>';

t.test('counter chains are read as verb, direction and policy', async (t) => {
  t.same(verdictRows([{ chain: 'drop/in/np/shop/db-from-web', packets: 3, bytes: 180 }, { chain: 'monitor/eg/anp/audit/2', packets: 0, bytes: 0 }]), [
    { policy: 'np/shop/db-from-web', verb: 'drop', direction: 'ingress', chain: 'drop/in/np/shop/db-from-web', packets: 3, bytes: 180 },
    { policy: 'anp/audit/2', verb: 'monitor', direction: 'egress', chain: 'monitor/eg/anp/audit/2', packets: 0, bytes: 0 },
  ]);
});

t.test('would-be drops are shown newest first as policy, direction, addresses, proto/port and age', async (t) => {
  const rows = dropRows([
    { chain: 'monitor/in/np/shop', source: '10.9.0.4', destination: '10.9.0.3', protocol: 'tcp', port: 5432, secondsAgo: 2 },
    { chain: 'monitor/eg/anp/audit/2', source: 'fd00::2', destination: 'fd00::3', protocol: 'icmpv6', port: null, secondsAgo: 40 },
    { chain: 'monitor/in/np/a or monitor/in/np/b', source: '10.9.0.4', destination: '10.9.0.5', protocol: 'udp', port: 53, secondsAgo: 41 },
  ]);
  t.same(rows, [
    { policy: 'np/shop', direction: 'ingress', from: '10.9.0.4', to: '10.9.0.3', 'proto/port': 'tcp/5432', age: '2 s ago' },
    { policy: 'anp/audit/2', direction: 'egress', from: 'fd00::2', to: 'fd00::3', 'proto/port': 'icmpv6', age: '40 s ago' },
    { policy: 'np/a or np/b', direction: 'ingress', from: '10.9.0.4', to: '10.9.0.5', 'proto/port': 'udp/53', age: '41 s ago' },
  ], 'a hit whose tag two chains share names both');
  const page = verdictsBody({ counters: [], drops: rows });
  t.match(page, /<table id="drops">.*<td>np\/shop<\/td><td>ingress<\/td><td>10\.9\.0\.4<\/td><td>10\.9\.0\.3<\/td><td>tcp\/5432<\/td>/s);
  t.match(page, /data-live="\/console\/events\/drops"/, 'refreshed live, as the counters');
  t.equal(dropRows(Array.from({ length: 300 }, (_, index) => ({ chain: 'monitor/in/np/x', source: '10.0.0.1', destination: '10.0.0.2', protocol: 'tcp', port: index + 1, secondsAgo: index }))).length, 50, 'at most 50 rows');
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
