/** Pods on one bridge, for firewall tests that drive the firewall themselves (no CNI plugin in between). */
import type { TestHost, TestNetns } from '../harness/index.js';

export interface BridgePod {
  readonly netns: TestNetns;
  readonly ip: string;
  readonly hostInterface: string;
}

/**
 * A bridge br0 in `host` and one namespace per pod on it, addresses 10.SUBNET.0.(index+2)/24. `host` may be any
 * namespace that can run commands and make (and later remove) pod namespaces: a TestHost, or a cluster host.
 */
export async function bridgeWithPods(host: Pick<TestHost, 'execChecked' | 'addNetns'>, count: number, subnet: number): Promise<BridgePod[]> {
  await host.execChecked(['ip', 'link', 'add', 'br0', 'type', 'bridge']);
  await host.execChecked(['ip', 'link', 'set', 'br0', 'up']);
  const pods: BridgePod[] = [];
  for (let index = 0; index < count; index += 1) {
    const netns = await host.addNetns(`pod${index}`);
    const hostInterface = `veth${index}`;
    await host.execChecked(['ip', 'link', 'add', hostInterface, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns.name]);
    await host.execChecked(['ip', 'link', 'set', hostInterface, 'master', 'br0', 'up']);
    const ip = `10.${subnet}.0.${index + 2}`;
    await netns.execChecked(['ip', 'addr', 'add', `${ip}/24`, 'dev', 'eth0']);
    await netns.execChecked(['ip', 'link', 'set', 'eth0', 'up']);
    pods.push({ netns, ip, hostInterface });
  }
  return pods;
}
