import t from 'tap';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { DaemonClientError } from '../../src/daemon/client.js';
import { makeHosts, waitFor } from './helpers.js';

/**
 * The networks API of a one-host cluster (berthd in this namespace, so only requests that create no devices: every
 * hostile one is refused with a clear message and stores nothing; a bridge network is written as a conflist).
 */
t.test('networks API: outside a cluster NOT_INITIALIZED; hostile requests refused and nothing stored; a bridge network reaches the conflist directory', async (t) => {
  const hosts = await makeHosts(t);
  const host = await hosts.add('solo');
  await host.start();
  const confDir = join(hosts.base, 'solo.cni');
  const call = (body: unknown) => host.api('POST', '/v1/networks', body).then(() => 'accepted', (error: unknown) => error instanceof DaemonClientError ? `${error.code}: ${error.message}` : String(error));
  t.match(await call({ name: 'web', driver: 'bridge' }), /^NOT_INITIALIZED: /, 'no cluster: the CLI falls back to local conflists');
  const init = await host.cli(['cluster', 'init']);
  t.equal(init.code, 0, `cluster init: ${init.stderr.trim()}`);

  const hostile: Array<[string, unknown, RegExp]> = [
    ['not an object', [1, 2], /must be a JSON object/],
    ['unknown field', { name: 'x', evil: true }, /unknown field "evil"/],
    ['bad name', { name: '../../etc/passwd' }, /letters, digits/],
    ['unknown driver', { name: 'x', driver: 'ipvlan' }, /unknown driver "ipvlan"/],
    ['not a CIDR', { name: 'x', subnets: ['10.0.0.0/33'] }, /is not a CIDR/],
    ['reserved option', { name: 'x', options: { ipam: { type: 'host-local' } } }, /option ipam is set by Berth/],
    ['vni on a bridge', { name: 'x', options: { vni: 5 } }, /vni is an integer option of vxlan networks/],
    ['vni out of range', { name: 'x', driver: 'vxlan', subnets: ['10.244.0.0/16'], options: { vni: 0x1000000 } }, /vni must be an integer/],
    ['vxlan over two ranges', { name: 'x', driver: 'vxlan', subnets: ['10.244.0.0/16', '10.245.0.0/16'] }, /one IPv4 subnet/],
    ['vxlan range too small', { name: 'x', driver: 'vxlan', subnets: ['10.244.0.0/30'] }, /too small for host subnets/],
    ['gateway outside', { name: 'x', subnets: ['10.90.0.0/24'], gateway: '10.91.0.1' }, /in none of the subnets/],
    ['overlapping static peers', { name: 'x', driver: 'vxlan', subnets: ['10.244.0.0/16'], peers: ['10.0.0.1=10.244.1.0/24', '10.0.0.2=10.244.1.0/25'], options: { vni: 9 } }, /overlaps/],
    ['too many subnets', { name: 'x', subnets: Array.from({ length: 9 }, (_, i) => `10.${i}.0.0/24`) }, /at most 8/],
  ];
  for (const [what, body, pattern] of hostile) t.match(await call(body), new RegExp(`^REQUEST_INVALID: .*${pattern.source}`), what);
  t.same(await host.api('GET', '/v1/networks'), [], 'nothing stored');
  t.same(await readdir(confDir).catch(() => [] as string[]), [], 'nothing written');

  t.equal(await call({ name: 'web', driver: 'bridge', subnets: ['10.89.5.0/24'] }), 'accepted');
  t.match(await call({ name: 'web', driver: 'bridge', subnets: ['10.89.6.0/24'] }), /exists in the cluster/, 'a name once');
  t.match(await call({ name: 'web2', driver: 'bridge', subnets: ['10.89.5.128/25'] }), /overlaps network web/, 'subnets disjoint');
  await waitFor('berthd writes the conflist', async () => (await readdir(confDir).catch(() => [] as string[])).includes('web.conflist'));
  const conflist = JSON.parse(await readFile(join(confDir, 'web.conflist'), 'utf8')) as Record<string, unknown>;
  t.match(conflist, { name: 'web', berth: { cluster: /./ }, plugins: [{ type: 'berth-bridge', ipam: { ranges: [[{ subnet: '10.89.5.0/24' }]] } }] });
  const removed = await host.api('DELETE', '/v1/networks/web');
  t.match(removed, { name: 'web', removed: true });
  await waitFor('berthd removes the conflist', async () => !(await readdir(confDir)).includes('web.conflist'));
  t.match(await host.api('DELETE', '/v1/networks/web').catch((error: Error) => error.message), /No network "web"/);
});
