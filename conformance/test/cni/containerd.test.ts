/**
 * containerd's CRI as a real engine over a Berth conflist (bridge + portmap), driven over its gRPC socket as the
 * kubelet drives it: RunPodSandbox with port mappings and DNS, PodSandboxStatus, StopPodSandbox, RemovePodSandbox.
 * Two pods talk, a hostPort answers from outside the host (containerd sends the mapping through go-cni, with Go field
 * names: HostPort, ContainerPort, Protocol, HostIP), and nothing is left after removal; in both modes.
 */
import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execCommand, TestHost, type TestNetns } from '../../src/harness/index.js';
import {
  addOutside, berthImplementation, referenceImplementation, CniBerthd, cniModes, execModeEnv, globalAddresses, linkNames, reservedAddresses, rulesetText,
  createContainerdSandbox, totalCalls, type CniMode,
} from '../../src/cni/index.js';


const hasEngine = ['/usr/bin/containerd', '/usr/bin/containerd-shim-runc-v2', '/usr/bin/ctr', '/usr/lib/cni/loopback'].every((file) => existsSync(file));
const network = 'btcri';
const bridge = 'btcri0';
const hostPort = 18082;

/** busybox httpd serving `text` on port 8080 inside a pod's netns (a host process in that netns), killed in teardown. */
async function serveInPod(t: Test, netns: string, text: string): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'bt-cri-www-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'index.html'), `${text}\n`);
  const server = spawn('nsenter', [`--net=${netns}`, '--', 'busybox', 'httpd', '-f', '-p', '8080', '-h', dir], { stdio: 'ignore' });
  t.teardown(() => { server.kill('SIGKILL'); });
}

/** Fetches `url` from `netns` with busybox wget, retried (the server may still be starting): 10 tries, 0.3 s apart. */
async function fetchFrom(netns: TestNetns | string, url: string): Promise<string> {
  const path = typeof netns === 'string' ? netns : netns.path;
  const loop = `for i in 1 2 3 4 5 6 7 8 9 10; do busybox wget -q -O - ${url} && exit 0; sleep 0.3; done; exit 1`;
  return (await execCommand(['nsenter', `--net=${path}`, '--', 'sh', '-c', loop], { timeoutMs: 20_000 })).stdout.trim();
}

async function containerdOnBerth(t: Test, mode: CniMode): Promise<void> {
  const berthd = mode === 'berthd' ? await CniBerthd.start(t) : undefined;
  const host = await TestHost.create(t, 'cri');
  const outside = await addOutside(host);
  const sandbox = await createContainerdSandbox(t, host, {
    pluginDirs: [berthImplementation.pluginDir, referenceImplementation.pluginDir],
    env: berthd?.callerEnv ?? await execModeEnv(t),
    conflist: (ipamDir) => ({
      cniVersion: '1.0.0', name: network,
      plugins: [
        { type: 'berth-bridge', bridge, isGateway: true, ipMasq: true, hairpinMode: true,
          ipam: { type: 'berth-ipam', dataDir: ipamDir, ranges: [[{ subnet: '10.90.0.0/24', gateway: '10.90.0.1' }]], routes: [{ dst: '0.0.0.0/0' }] } },
        { type: 'berth-portmap', capabilities: { portMappings: true }, snat: true },
      ],
    }),
  });
  const version = await sandbox.cri.version();
  t.equal(version.runtimeName, 'containerd', `CRI ${version.runtimeApiVersion} from containerd ${version.runtimeVersion}`);

  const dnsConfig = { servers: ['192.0.2.53'], searches: ['berth.test'], options: ['ndots:2'] };
  const pod = (name: string, uid: string, portMappings: { protocol: 'TCP'; containerPort: number; hostPort: number }[] = []) => ({
    metadata: { name, uid, namespace: 'default', attempt: 0 }, hostname: name, dnsConfig, portMappings,
    logDirectory: join(sandbox.dir, 'logs', uid), labels: { app: name },
  });
  const web = await sandbox.runPod(pod('web', 'uid-web', [{ protocol: 'TCP', containerPort: 8080, hostPort }]));
  const client = await sandbox.runPod(pod('client', 'uid-client'));
  t.equal(web.status.state, 'SANDBOX_READY', 'the web pod is ready');
  t.match(web.status.network?.ip, /^10\.90\.0\.\d+$/, 'PodSandboxStatus reports the address berth-ipam gave');
  t.match(client.status.network?.ip, /^10\.90\.0\.\d+$/);
  t.not(web.status.network?.ip, client.status.network?.ip, 'distinct addresses');
  t.same((await reservedAddresses(sandbox.ipamDir, network)).sort(), [web.status.network?.ip, client.status.network?.ip].sort(), 'both reserved');
  t.match(sandbox.resolvConf(web.id), /nameserver 192\.0\.2\.53[\s\S]*search berth\.test|search berth\.test[\s\S]*nameserver 192\.0\.2\.53/, 'the pod\'s DNS config is in its resolv.conf');
  t.match(await rulesetText(host), new RegExp(`${network}/${web.id}/eth0`), 'NAT elements tagged with the web pod\'s sandbox ID');

  await serveInPod(t, web.netns, 'berth-cri-ok');
  t.equal(await fetchFrom(client.netns, `http://${web.status.network?.ip ?? ''}:8080/index.html`), 'berth-cri-ok', 'the client pod reaches the web pod');
  t.equal(await fetchFrom(outside, `http://192.0.2.1:${hostPort}/index.html`), 'berth-cri-ok', 'the hostPort answers from outside the host');

  for (const { id } of [web, client]) await sandbox.removePod(id);
  t.same((await linkNames(host)).sort(), ['bthout', bridge, 'lo'].sort(), 'no veth left on the host');
  t.same(await globalAddresses(host, bridge), ['10.90.0.1/24'], 'only the gateway address on the bridge');
  t.same(await reservedAddresses(sandbox.ipamDir, network), [], 'no reservation left');
  t.notMatch(await rulesetText(host), new RegExp(`${network}/`), 'no nft element left');
  t.notOk(existsSync(web.netns) || existsSync(client.netns), 'the pods\' network namespaces are gone');
  t.equal((await sandbox.ctr(['containers', 'ls', '-q'])).trim(), '', 'no container left in containerd');
  if (berthd !== undefined) {
    const stats = await berthd.stats();
    t.ok((stats.served['berth-bridge ADD'] ?? 0) >= 2 && (stats.served['berth-portmap ADD'] ?? 0) >= 2 && (stats.served['berth-bridge DEL'] ?? 0) >= 2,
      `containerd's calls were served by berthd: ${JSON.stringify(stats.served)}`);
    t.equal(totalCalls(stats.declined), 0, 'none declined');
  }
}

for (const mode of cniModes) {
  t.test(`${mode}: containerd's CRI runs two pods on a Berth network; a hostPort answers; removal leaves nothing`,
    { skip: hasEngine ? false : 'containerd (Debian package) not installed' }, (t) => containerdOnBerth(t, mode));
}
