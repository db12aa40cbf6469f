/**
 * podman (network_backend "cni") runs busybox containers on a Berth conflist: two containers talk, a published port
 * is reached from outside the host, and `podman rm` leaves no link, address, nft element, reservation or cache entry;
 * in both modes: every plugin call served by a berthd (in a netns of its own), and with no berthd (exec).
 */
import t, { type Test } from 'tap';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { TestHost } from '../../src/harness/index.js';
import {
  addOutside, berthImplementation, CniBerthd, cniModes, cniResultsCacheDir, createPodmanSandbox, execModeEnv, globalAddresses, linkNames,
  reservedAddresses, rulesetText, totalCalls, type CniMode,
} from '../../src/cni/index.js';

const hasEngine = existsSync('/usr/bin/podman') && (existsSync('/usr/sbin/runc') || existsSync('/usr/bin/runc'));

async function podmanOnBerth(t: Test, mode: CniMode): Promise<void> {
  const berthd = mode === 'berthd' ? await CniBerthd.start(t) : undefined;
  const host = await TestHost.create(t, 'podman');
  const outside = await addOutside(host);
  const sandbox = await createPodmanSandbox(t, host, {
    pluginDir: berthImplementation.pluginDir,
    env: berthd?.callerEnv ?? await execModeEnv(t),
    conflist: (ipamDir) => ({
      cniVersion: '1.0.0', name: 'btpod',
      plugins: [
        { type: 'berth-bridge', bridge: 'btpod0', isGateway: true, ipMasq: true, hairpinMode: true,
          ipam: { type: 'berth-ipam', dataDir: ipamDir, ranges: [[{ subnet: '10.89.0.0/24', gateway: '10.89.0.1' }]], routes: [{ dst: '0.0.0.0/0' }] } },
        { type: 'berth-portmap', capabilities: { portMappings: true }, snat: true },
      ],
    }),
  });
  const networks = await sandbox.podmanChecked(['network', 'ls', '--format', '{{.Name}} {{.Driver}}']);
  t.match(networks, /btpod berth-bridge/, 'podman sees the Berth network');

  const server = await sandbox.run('c1', 'echo berth-podman-ok > /tmp/index.html; exec busybox httpd -f -p 8080 -h /tmp', { detach: true, publish: ['18080:8080'] });
  t.equal(server.code, 0, `podman run c1: ${server.stderr.trim()}`);
  const c1 = await sandbox.inspect('c1');
  t.match(c1.address, /^10\.89\.0\.\d+$/, 'c1 has an address from berth-ipam');
  t.same(await reservedAddresses(sandbox.ipamDir, 'btpod'), [c1.address], 'reserved in the IPAM store');
  t.match(await rulesetText(host), new RegExp(`btpod/${c1.id}/eth0`), 'masquerade element tagged with c1\'s ID');

  // c1's httpd may still be starting: a bounded retry (10 tries, 0.5 s apart). No wget -T: busybox-static
  // segfaults with it here.
  const fetchLoop = (url: string): string => `for i in 1 2 3 4 5 6 7 8 9 10; do busybox wget -q -O - ${url} && exit 0; sleep 0.5; done; exit 1`;
  const client = await sandbox.run('c2', fetchLoop(`http://${c1.address}:8080/index.html`));
  t.equal(client.stdout.trim(), 'berth-podman-ok', `c2 fetched from c1 (${client.stderr.trim()})`);
  const published = await outside.exec(['sh', '-c', fetchLoop('http://192.0.2.1:18080/index.html')]);
  t.equal(published.stdout.trim(), 'berth-podman-ok', 'the published port answers from outside the host');

  const removed = await sandbox.podman(['rm', '-f', '-t', '0', 'c1']);
  t.equal(removed.code, 0, `podman rm: ${removed.stderr.trim()}`);
  t.same((await linkNames(host)).sort(), ['bthout', 'btpod0', 'lo'], 'no veth left on the host');
  t.same(await globalAddresses(host, 'btpod0'), ['10.89.0.1/24'], 'only the gateway address on the bridge');
  t.same(await reservedAddresses(sandbox.ipamDir, 'btpod'), [], 'no reservation left');
  t.notMatch(await rulesetText(host), /btpod\//, 'no nft element left');
  const cached = existsSync(cniResultsCacheDir) ? readdirSync(cniResultsCacheDir).filter((name) => name.startsWith('btpod-')) : [];
  t.same(cached, [], 'no cached CNI result left');
  t.notOk(existsSync(c1.sandboxKey), `the container netns ${c1.sandboxKey} is gone`);
  t.same(readdirSync(join(sandbox.dir, 'runroot')).filter((name) => name === 'overlay-containers'), [], 'no container state in runroot');
  if (berthd !== undefined) {
    const stats = await berthd.stats();
    t.ok((stats.served['berth-bridge ADD'] ?? 0) >= 2 && (stats.served['berth-portmap DEL'] ?? 0) >= 1, `podman's calls were served by berthd: ${JSON.stringify(stats.served)}`);
    t.equal(totalCalls(stats.declined), 0, 'none declined');
  }
}

for (const mode of cniModes) {
  t.test(`${mode}: podman runs two busybox containers on a Berth network, and rm leaves nothing`,
    { skip: hasEngine ? false : 'podman or runc not installed' }, (t) => podmanOnBerth(t, mode));
}
