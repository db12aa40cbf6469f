import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { JsonObject } from '@berth/cni';
import { berthImplementation } from '../cni/implementation.js';
import { CniEngine } from '../cni/engine.js';
import type { TestNetns } from '../harness/index.js';
import type { DemoStage } from './stage.js';

export interface DemoPod {
  readonly name: string;
  readonly netns: TestNetns;
  readonly ip: string;
}

export interface DemoNetwork {
  readonly pods: readonly DemoPod[];
}

const podNamespace = 'shop';
const podLabels: Readonly<Record<string, string>> = { web: 'web', client: 'client', other: 'batch' };

/** A conflist whose berth-firewall entry carries this pod's labels, as an engine passes them in `args`. */
function conflistFor(conflist: JsonObject, pod: string): JsonObject {
  const plugins = (conflist['plugins'] as JsonObject[]).map((plugin) => plugin['type'] === 'berth-firewall'
    ? { ...plugin, args: { cni: { labels: [{ key: 'app', value: podLabels[pod] ?? pod }] } } }
    : plugin);
  return { ...conflist, plugins };
}

/** Act 1: `berth network create`, three containers attached through the CNI executables, traffic between them. */
export async function runNetworkAct(stage: DemoStage): Promise<DemoNetwork> {
  stage.act('A bridge network, written by the CLI and used through the CNI plugins');
  await stage.berth('network', 'create', 'demo', '--driver', 'bridge', '--subnet', '10.77.0.0/24');
  stage.teardown(() => stage.berth('network', 'rm', 'demo'));
  await stage.berth('network', 'ls');
  const conflist = JSON.parse(readFileSync(join(stage.env['BERTH_CNI_CONF_DIR'] ?? '', 'demo.conflist'), 'utf8')) as JsonObject;
  const engine = new CniEngine(berthImplementation, stage.host, { BERTH_ROOT: stage.root });

  const pods: DemoPod[] = [];
  for (const name of Object.keys(podLabels)) {
    const netns = await stage.host.addNetns(name);
    const attachment = { containerId: `demo-${name}`, netns: netns.path, ifName: 'eth0', args: `K8S_POD_NAMESPACE=${podNamespace};K8S_POD_NAME=${name}` };
    const podConflist = conflistFor(conflist, name);
    const result = await engine.add(podConflist, attachment);
    stage.teardown(() => engine.del(podConflist, attachment, result));
    const ips = (result?.['ips'] as { address: string }[] | undefined) ?? [];
    const ip = (ips[0]?.address ?? '').split('/')[0] ?? '';
    process.stdout.write(`  CNI ADD ${name}: eth0 ${ips.map((entry) => entry.address).join(', ')}\n`);
    pods.push({ name, netns, ip });
  }

  const [web, client] = pods;
  if (web === undefined || client === undefined) throw new Error('the demo needs its pods');
  const ping = await client.netns.exec(['ping', '-c', '1', '-W', '2', web.ip]);
  stage.expect(ping.code === 0, `client pings web at ${web.ip} across the bridge`);
  const route = await client.netns.execChecked(['ip', 'route', 'show', 'default']);
  stage.expect(/via 10\.77\.0\.1/.test(route), `client's default route goes via the gateway 10.77.0.1`);
  return { pods };
}
