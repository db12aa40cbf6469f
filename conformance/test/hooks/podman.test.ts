/**
 * The same hooks under podman: `--hooks-dir` with Berth's hooks.d files, runc, cgroupfs, a temporary CONTAINERS_CONF,
 * inside a test host netns. podman's own network is `none` (podman brings up loopback only); Berth's hook attaches
 * the network from the `berth.network` annotation, registers the firewall endpoint and binds the secrets.
 */
import t from 'tap';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FirewallStore } from '@berth/firewall';
import { hooksDFiles } from '@berth/runtime';
import { berthImplementation, createPodmanSandbox } from '../../src/cni/index.js';
import { createHooksLab, settledVeths } from '../../src/hooks/lab.js';

const hasEngine = existsSync('/usr/bin/podman') && (existsSync('/usr/sbin/runc') || existsSync('/usr/bin/runc'));
const network = 'podhook';

t.test('podman with Berth\'s hooks.d: network, firewall endpoint and /run/secrets as under runc; rm leaves nothing', { skip: hasEngine ? false : 'podman or runc not installed' }, async (t) => {
  const lab = await createHooksLab(t, 'hpod');
  await lab.createNetwork(network, '10.89.64.0/24');
  const value = `value-${Date.now()}`;
  lab.berthd.secrets.set('token', value);
  const sandbox = await createPodmanSandbox(t, lab.host, {
    pluginDir: berthImplementation.pluginDir,
    conflist: () => ({ cniVersion: '1.0.0', name: 'unused', plugins: [{ type: 'berth-none' }] }),
  });
  const hooksDir = join(lab.dir, 'hooks.d');
  mkdirSync(hooksDir);
  for (const [name, content] of Object.entries(hooksDFiles(lab.env))) writeFileSync(join(hooksDir, name), JSON.stringify(content, null, 2));
  const run = (name: string, annotations: Record<string, string>, command: string, detach: boolean) => sandbox.podman([
    '--hooks-dir', hooksDir, 'run', detach ? '-d' : '--rm', '--name', name, '--network', 'none',
    // podman reads --annotation as a CSV field: quoted, inner quotes doubled (JSON values have quotes and commas).
    ...Object.entries(annotations).flatMap(([key, item]) => ['--annotation', `"${key}=${item.replace(/"/g, '""')}"`]),
    '--rootfs', sandbox.rootfs, '/bin/busybox', 'sh', '-c', command,
  ]);

  const server = await run('srv', { 'berth.network': network, 'berth.labels': JSON.stringify({ app: 'db' }), 'berth.service': 'db', 'berth.secrets': JSON.stringify(['token']) },
    'cat /run/secrets/token > /tmp/seen; exec sleep 300', true);
  t.equal(server.code, 0, `podman run -d srv: ${server.stderr.trim()}`);
  const id = (await sandbox.podmanChecked(['inspect', '--format', '{{.Id}}', 'srv'])).trim();
  const endpoint = new FirewallStore(lab.root).read().endpoints.find((item) => item.containerId === id);
  t.same(endpoint?.labels, { app: 'db' }, 'firewall endpoint registered with the container\'s labels');
  const address = endpoint?.ips[0] ?? '';
  t.match(address, /^10\.89\.64\.\d+$/, 'an address of the Berth network');
  const seen = await sandbox.podman(['exec', 'srv', '/bin/busybox', 'sh', '-c', 'cat /tmp/seen; echo; busybox ip -o -4 addr show eth0']);
  t.equal(seen.stdout.split('\n')[0], value, 'the secret was at /run/secrets/token when the process started');
  t.match(seen.stdout, new RegExp(`inet ${address.replace(/\./g, '\\.')}/24`), 'eth0 inside has the address');

  const client = await run('cli', { 'berth.network': network }, `ping -c 1 -W 2 ${address}`, false);
  t.equal(client.code, 0, `a second podman container pings the first: ${client.stdout.trim()} ${client.stderr.trim()}`);

  const removed = await sandbox.podman(['--hooks-dir', hooksDir, 'rm', '-f', '-t', '0', 'srv']);
  t.equal(removed.code, 0, `podman rm: ${removed.stderr.trim()}`);
  t.same(await lab.leftovers(id, network), [], 'podman rm ran poststop: nothing left');
  const veths = await settledVeths(lab.host);
  t.equal(veths.trim(), '', 'no veth left in the host netns');
});
