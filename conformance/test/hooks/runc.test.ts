/**
 * Berth's hooks under runc (bundle with the hooks in config.json), in a test host netns: a container gets its
 * network from the conflist, its firewall endpoint and its secrets at /run/secrets, and `runc delete` leaves nothing.
 */
import t from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FirewallStore } from '@berth/firewall';
import { createHooksLab } from '../../src/hooks/lab.js';

const network = 'hooknet';

t.test('runc: createRuntime attaches the network and registers the endpoint; poststop leaves nothing', async (t) => {
  const lab = await createHooksLab(t, 'hrunc');
  await lab.createNetwork(network, '10.89.61.0/24');
  const annotations = { 'berth.network': network, 'berth.labels': JSON.stringify({ app: 'web' }), 'berth.namespace': 'shop' };
  const server = 'bt-hrunc-srv';
  const started = await lab.runcDetached(server, lab.bundle(server, { args: ['sh', '-c', 'exec sleep 300', server], annotations }));
  t.equal(started.code, 0, `runc run -d: ${started.stderr.trim()}`);

  const record = JSON.parse(readFileSync(join(lab.runDir, 'hooks', `${server}.json`), 'utf8')) as { network?: { result?: { ips?: { address: string }[] } } };
  const address = record.network?.result?.ips?.[0]?.address.split('/')[0] ?? '';
  t.match(address, /^10\.89\.61\.\d+$/, 'the recorded ADD result has an address of the network');
  t.ok(existsSync(join(lab.runDir, 'netns', server)), 'the netns is pinned under the run dir');
  const inside = await lab.runc(['exec', server, 'busybox', 'ip', '-o', '-4', 'addr', 'show', 'eth0']);
  t.match(inside.stdout, new RegExp(`inet ${address.replace(/\./g, '\\.')}/24`), 'eth0 inside has that address');
  const endpoint = new FirewallStore(lab.root).read().endpoints.find((item) => item.containerId === server);
  t.same({ namespace: endpoint?.namespace, labels: endpoint?.labels, ips: endpoint?.ips }, { namespace: 'shop', labels: { app: 'web' }, ips: [address] }, 'firewall endpoint registered with namespace and labels');

  const client = 'bt-hrunc-cli';
  const ping = await lab.runc(['run', '--bundle', lab.bundle(client, { args: ['sh', '-c', `ping -c 1 -W 2 ${address}`, client], annotations: { 'berth.network': network } }), client]);
  t.equal(ping.code, 0, `a second container pings the first: ${ping.stdout.trim()} ${ping.stderr.trim()}`);
  t.match(ping.stdout, /1 packets received/, 'output streamed back through runc');
  t.same(await lab.leftovers(client, network), [], 'runc run ended: the client left nothing');

  t.equal((await lab.runc(['kill', server, 'KILL'])).code, 0);
  await new Promise((resolve) => setTimeout(resolve, 200));
  const deleted = await lab.runc(['delete', server]);
  t.equal(deleted.code, 0, `runc delete: ${deleted.stderr.trim()}`);
  t.same(await lab.leftovers(server, network), [], 'runc delete ran poststop: nothing left');
});
