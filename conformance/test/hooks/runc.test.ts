/**
 * Berth's hooks under runc (bundle with the hooks in config.json), in a test host netns: a container gets its
 * network from the conflist, its firewall endpoint and its secrets at /run/secrets, and `runc delete` leaves nothing.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FirewallStore } from '@berth/firewall';
import { createHooksLab, runtimeBinDir, settledVeths } from '../../src/hooks/lab.js';

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

  const state = (await lab.runc(['state', server])).stdout;
  const recordBefore = readFileSync(join(lab.runDir, 'hooks', `${server}.json`), 'utf8');
  for (const stage of ['createRuntime', 'createContainer']) {
    const again = await lab.hook(stage, state);
    t.equal(again.code, 0, `${stage} run again: ${again.stderr.trim()}`);
  }
  t.equal(readFileSync(join(lab.runDir, 'hooks', `${server}.json`), 'utf8'), recordBefore, 'a second createRuntime/createContainer changed nothing');
  t.equal(new FirewallStore(lab.root).read().endpoints.filter((item) => item.containerId === server).length, 1, 'still one endpoint');

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
  const poststopAgain = await lab.hook('poststop', state);
  t.equal(poststopAgain.code, 0, `poststop run again: ${poststopAgain.stderr.trim()}`);
  t.same(await lab.leftovers(server, network), [], 'and it left nothing either');
});

t.test('runc: a netns joined by path outlives the container, so poststop detaches inside it and leaves nothing there', async (t) => {
  const lab = await createHooksLab(t, 'hjoin');
  await lab.createNetwork(network, '10.89.62.0/24');
  // A network namespace held by a process of its own, as a pod's infra container holds it.
  const holder = spawn('unshare', ['--net', 'sleep', '120'], { stdio: 'ignore' });
  t.teardown(() => { holder.kill('SIGKILL'); });
  const netns = `/proc/${holder.pid ?? 0}/ns/net`;
  for (let waited = 0; waited < 5_000 && readlinkSync(netns) === readlinkSync('/proc/self/ns/net'); waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
  const id = 'bt-hjoin-1';
  const run = await lab.runc(['run', '--bundle', lab.bundle(id, { args: ['sh', '-c', 'busybox ip -o -4 addr show eth0', id], annotations: { 'berth.network': network }, netnsPath: netns }), id]);
  t.equal(run.code, 0, `runc run: ${run.stderr.trim()}`);
  t.match(run.stdout, /inet 10\.89\.62\.\d+\/24/, 'eth0 in the joined netns has an address of the network');
  const left = await lab.exec(['nsenter', `--net=${netns}`, 'ip', '-o', 'link', 'show', 'eth0']);
  t.not(left.code, 0, 'no eth0 left in the joined netns, which lives on');
  t.same(await lab.leftovers(id, network), [], 'nothing left');
});

t.test('runc: a service\'s container gets its secrets read-only at /run/secrets; --network none gives loopback only', async (t) => {
  const lab = await createHooksLab(t, 'hsec');
  const value = `value-${Date.now()}`;
  lab.berthd.secrets.set('token', value);
  const id = 'bt-hsec-1';
  const script = 'cat /run/secrets/token; echo; (echo x > /run/secrets/other) 2>/dev/null && echo WRITABLE; busybox ip -o link show | busybox cut -d: -f2; busybox ip -o addr show lo | busybox grep -c "inet 127.0.0.1"';
  const annotations = { 'berth.network': 'none', 'berth.service': 'db', 'berth.secrets': JSON.stringify(['token']) };
  const run = await lab.runc(['run', '--bundle', lab.bundle(id, { args: ['sh', '-c', script, id], annotations }), id]);
  t.equal(run.code, 0, `runc run: ${run.stderr.trim()}`);
  const lines = run.stdout.trim().split('\n').map((line) => line.trim());
  t.equal(lines[0], value, 'the secret file is readable inside');
  t.notOk(lines.includes('WRITABLE'), '/run/secrets is read-only inside');
  t.same(lines.slice(1, -1), ['lo'], 'only loopback');
  t.equal(lines.at(-1), '1', 'loopback is up with 127.0.0.1');
  t.same(lab.berthd.calls, ['POST /v1/tasks', `DELETE /v1/tasks/${id}`], 'registered with berthd, then deregistered');
  t.same(await lab.leftovers(id), [], 'nothing left: no task, no secrets tmpfs, no pin');
});

t.test('runc: without a cluster a service runs without secrets; --network host is left alone', async (t) => {
  const lab = await createHooksLab(t, 'hnoc');
  lab.berthd.mode = 'not-in-cluster';
  const id = 'bt-hnoc-1';
  const run = await lab.runc(['run', '--bundle', lab.bundle(id, { args: ['sh', '-c', 'ls /run/secrets 2>&1 | busybox head -1', id], annotations: { 'berth.network': 'none', 'berth.service': 'web' } }), id]);
  t.equal(run.code, 0, `runc run: ${run.stderr.trim()}`);
  t.match(run.stdout, /No such file/, 'no /run/secrets');
  t.same(await lab.leftovers(id), [], 'nothing left');

  const hostId = 'bt-hnoc-2';
  const hostRun = await lab.runc(['run', '--bundle', lab.bundle(hostId, { args: ['sh', '-c', 'busybox ip -o link show | busybox wc -l', hostId], annotations: { 'berth.network': 'host' }, hostNetwork: true }), hostId]);
  t.equal(hostRun.code, 0, `runc run (host network): ${hostRun.stderr.trim()}`);
  t.equal(hostRun.stdout.trim(), String((await lab.host.execChecked(['ip', '-o', 'link', 'show'])).trim().split('\n').length), 'sees the host netns links');
  const wrong = 'bt-hnoc-3';
  const refused = await lab.runc(['run', '--bundle', lab.bundle(wrong, { args: ['true', wrong], annotations: { 'berth.network': 'none' }, hostNetwork: true }), wrong]);
  t.not(refused.code, 0, 'berth.network=none on a container sharing the host netns is refused');
  t.match(refused.stderr, /shares the host's network namespace/, 'with the reason');
  t.same(await lab.leftovers(wrong), [], 'nothing left');
});

t.test('runc: a hostile rootfs whose /run is a symlink out of it gets no secrets bind anywhere, and nothing is left', async (t) => {
  const lab = await createHooksLab(t, 'hhost');
  lab.berthd.secrets.set('token', 'not-a-real-secret');
  const hostile = join(lab.dir, 'hostile');
  const outside = join(lab.dir, 'outside');
  mkdirSync(outside);
  cpSync(lab.rootfs, hostile, { recursive: true, verbatimSymlinks: true });
  rmSync(join(hostile, 'run'), { recursive: true });
  symlinkSync(outside, join(hostile, 'run'));
  const id = 'bt-hhost-1';
  const annotations = { 'berth.network': 'none', 'berth.service': 'db', 'berth.secrets': JSON.stringify(['token']) };
  const run = await lab.runc(['run', '--bundle', lab.bundle(id, { args: ['true', id], annotations, rootfs: hostile, noRunTmpfs: true }), id]);
  t.not(run.code, 0, 'the container does not start');
  t.match(run.stderr, /berth-hook createContainer: Cannot bind .* at \/run\/secrets: .*ENOTDIR/, 'the hook says why');
  t.same(readdirSync(outside), [], 'nothing created or mounted outside the rootfs');
  t.same(await lab.leftovers(id), [], 'nothing left (runc ran poststop)');
});

t.test('runc: berth.ips asks the network for an address; a network that cannot take it refuses before creating anything', async (t) => {
  const lab = await createHooksLab(t, 'hips');
  await lab.createNetwork(network, '10.89.69.0/24');
  writeFileSync(join(lab.env['BERTH_CNI_CONF_DIR'] ?? '', 'ipsnet.conflist'), JSON.stringify({
    cniVersion: '1.0.0', name: 'ipsnet', plugins: [
      { type: 'berth-bridge', bridge: 'btips0', isGateway: true, capabilities: { ips: true }, ipam: { type: 'berth-ipam', ranges: [[{ subnet: '10.89.72.0/24' }]] } },
    ],
  }));
  const id = 'bt-hips-1';
  const run = await lab.runc(['run', '--bundle', lab.bundle(id, { args: ['sh', '-c', 'busybox ip -o -4 addr show eth0', id], annotations: { 'berth.network': 'ipsnet', 'berth.ips': '["10.89.72.77/24"]' } }), id]);
  t.equal(run.code, 0, `runc run: ${run.stderr.trim()}`);
  t.match(run.stdout, /inet 10\.89\.72\.77\/24/, 'the container has the address it asked for');
  t.same(await lab.leftovers(id, 'ipsnet'), [], 'nothing left');
  const refused = 'bt-hips-2';
  const result = await lab.runc(['run', '--bundle', lab.bundle(refused, { args: ['true', refused], annotations: { 'berth.network': network, 'berth.ips': '["10.89.69.9"]' } }), refused]);
  t.not(result.code, 0, 'refused');
  t.match(result.stderr, /Cannot request addresses on network hooknet: none of its plugins takes the ips capability/, 'with the reason');
  t.same(await lab.leftovers(refused, network), [], 'nothing created');
});

t.test('runc with a real berthd that is in no cluster: a service runs without secrets, one that needs secrets is refused', async (t) => {
  const lab = await createHooksLab(t, 'hbd');
  const socket = join(lab.dir, 'real-berthd.sock');
  const berthd = spawn('nsenter', [`--net=${lab.host.path}`, '--', '/usr/bin/env', '-u', 'NODE_OPTIONS', process.execPath, join(runtimeBinDir, 'berthd.js'),
    // The join port is on the test host netns's own loopback: no other test can hold it.
    '--root', join(lab.dir, 'berthd-root'), '--socket', socket, '--advertise', '127.0.0.1:17946'], { stdio: ['ignore', 'ignore', 'pipe'] });
  t.teardown(() => { berthd.kill('SIGKILL'); });
  await new Promise<void>((resolve, reject) => {
    let stderr = '';
    const timer = setTimeout(() => reject(new Error(`berthd not ready: ${stderr}`)), 30_000);
    berthd.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (stderr.includes('berthd: ready')) { clearTimeout(timer); resolve(); }
    });
  });
  const hookEnv = { BERTH_SOCKET: socket };
  const id = 'bt-hbd-1';
  const run = await lab.runc(['run', '--bundle', lab.bundle(id, { args: ['sh', '-c', 'test -e /run/secrets && echo has-secrets || echo no-secrets', id], annotations: { 'berth.network': 'none', 'berth.service': 'web' }, hookEnv }), id]);
  t.equal(run.code, 0, `runc run: ${run.stderr.trim()}`);
  t.equal(run.stdout.trim(), 'no-secrets', 'runs without /run/secrets');
  const needs = 'bt-hbd-2';
  const refused = await lab.runc(['run', '--bundle', lab.bundle(needs, { args: ['true', needs], annotations: { 'berth.network': 'none', 'berth.service': 'web', 'berth.secrets': '["token"]' }, hookEnv }), needs]);
  t.not(refused.code, 0, 'a container that needs secrets does not start');
  t.match(refused.stderr, /berth-hook createRuntime: Cannot deliver secrets token to service web: /, 'and says why');
  t.same([...await lab.leftovers(id), ...await lab.leftovers(needs)], [], 'nothing left');
});

t.test('runc: a plugin that hangs is killed within the stage\'s budget, the stage rolls back and says so', async (t) => {
  const lab = await createHooksLab(t, 'hslow');
  const pluginDir = join(lab.dir, 'plugins');
  mkdirSync(pluginDir);
  writeFileSync(join(pluginDir, 'slow-plugin'), '#!/bin/sh\n[ "$CNI_COMMAND" = ADD ] && exec sleep 37\ncat > /dev/null\nexit 0\n', { mode: 0o755 });
  writeFileSync(join(lab.env['BERTH_CNI_CONF_DIR'] ?? '', 'slownet.conflist'), JSON.stringify({
    cniVersion: '1.0.0', name: 'slownet', plugins: [
      { type: 'berth-bridge', bridge: 'btslow0', isGateway: true, ipam: { type: 'berth-ipam', ranges: [[{ subnet: '10.89.75.0/24' }]] } },
      { type: 'slow-plugin' },
    ],
  }));
  const id = 'bt-hslow-1';
  const run = await lab.runc(['run', '--bundle', lab.bundle(id, { args: ['true', id], annotations: { 'berth.network': 'slownet' }, hookEnv: { BERTH_HOOK_TIMEOUT_MS: '3000', BERTH_CNI_PATH: pluginDir } }), id]);
  t.not(run.code, 0, 'the container does not start');
  const limit = Number(/slow-plugin ADD timed out after (\d+) ms/.exec(run.stderr)?.[1]);
  t.match(run.stderr, /berth-hook createRuntime: Cannot attach to network slownet: /, `the hook says why: ${run.stderr.trim().split('\n').at(-1) ?? ''}`);
  t.ok(limit > 0 && limit <= 2000, `the plugin got what was left of the 3 s stage less the rollback reserve (${limit} ms), not its own 20 s`);
  t.same(await lab.leftovers(id, 'slownet'), [], 'rolled back: nothing left');
  const sleepers = readdirSync('/proc').filter((pid) => /^\d+$/.test(pid)).filter((pid) => {
    try { return readFileSync(`/proc/${pid}/cmdline`, 'utf8') === 'sleep\u000037\u0000'; } catch { return false; }
  });
  t.same(sleepers, [], 'the hung plugin process is gone');
});

t.test('runc: a conflist of the reference plugins (exec\'d from /usr/lib/cni) attaches and detaches the same way', { skip: existsSync('/usr/lib/cni/bridge') ? false : 'containernetworking-plugins not installed' }, async (t) => {
  const lab = await createHooksLab(t, 'href');
  writeFileSync(join(lab.env['BERTH_CNI_CONF_DIR'] ?? '', 'refnet.conflist'), JSON.stringify({
    cniVersion: '1.0.0', name: 'refnet', plugins: [
      { type: 'bridge', bridge: 'btref0', isGateway: true, ipam: { type: 'host-local', dataDir: join(lab.root, 'ipam'), ranges: [[{ subnet: '10.89.76.0/24' }]] } },
    ],
  }));
  const id = 'bt-href-1';
  const run = await lab.runc(['run', '--bundle', lab.bundle(id, { args: ['sh', '-c', 'busybox ip -o -4 addr show eth0', id], annotations: { 'berth.network': 'refnet' } }), id]);
  t.equal(run.code, 0, `runc run: ${run.stderr.trim()}`);
  t.match(run.stdout, /inet 10\.89\.76\.\d+\/24/, 'eth0 has an address from host-local');
  t.same(await lab.leftovers(id, 'refnet'), [], 'the reference DEL left nothing (no reservation, no pin, no record)');
  const veths = await settledVeths(lab.host);
  t.equal(veths.trim(), '', 'no veth');
});

t.test('runc: /run/secrets is berthd\'s tmpfs itself, so a rotation there shows in the running container', async (t) => {
  const lab = await createHooksLab(t, 'hrot');
  lab.berthd.secrets.set('token', 'first-value');
  const id = 'bt-hrot-1';
  const annotations = { 'berth.network': 'none', 'berth.service': 'db', 'berth.secrets': JSON.stringify(['token']) };
  const started = await lab.runcDetached(id, lab.bundle(id, { args: ['sh', '-c', 'exec sleep 300', id], annotations }));
  t.equal(started.code, 0, `runc run -d: ${started.stderr.trim()}`);
  t.equal((await lab.runc(['exec', id, 'busybox', 'cat', '/run/secrets/token'])).stdout, 'first-value');
  // As berthd's atomic writer does: a new file renamed over the old one, inside the container's tmpfs.
  const dir = join(lab.runDir, 'secrets', id);
  writeFileSync(join(dir, '.token.new'), 'second-value', { mode: 0o400 });
  renameSync(join(dir, '.token.new'), join(dir, 'token'));
  t.equal((await lab.runc(['exec', id, 'busybox', 'cat', '/run/secrets/token'])).stdout, 'second-value', 'the new value, without a restart');
  await lab.runc(['delete', '--force', id]);
  t.same(await lab.leftovers(id), [], 'nothing left');
});
