/**
 * The overlay's scenarios: Debian has no reference VXLAN plugin, so they run for Berth alone, each in fresh
 * namespaces (three hosts at most, one or two containers each, bounded traffic).
 */
import { expect } from '../cni/context.js';
import { askSource, pings, startSourceEchoServer } from '../cni/traffic.js';
import type { TeardownRegistry } from '../harness/index.js';
import { OverlayCluster, ClusterCallError, underlayOutsideAddress, type ClusterContainer, type OverlayClusterOptions } from './cluster.js';
import { bulkTransfer, capturedPackets, openLongConnection, startCapture } from './traffic.js';

export interface OverlayScenarioContext {
  readonly registry: TeardownRegistry;
  cluster(options: OverlayClusterOptions): Promise<OverlayCluster>;
}

export interface OverlayScenario {
  readonly name: string;
  run(context: OverlayScenarioContext): Promise<string | void>;
}

/** 3 hosts with 2, 1 and 2 containers. */
async function threeHosts(context: OverlayScenarioContext, options: Partial<OverlayClusterOptions> = {}): Promise<OverlayCluster> {
  const cluster = await context.cluster({ hosts: 3, ...options });
  for (const [hostIndex, count] of [[0, 2], [1, 1], [2, 2]] as const) {
    for (let index = 0; index < count; index += 1) await cluster.addContainer(hostIndex, `h${hostIndex + 1}c${index + 1}`);
  }
  return cluster;
}

const pairs = (containers: readonly ClusterContainer[]): [ClusterContainer, ClusterContainer][] =>
  containers.flatMap((from) => containers.filter((to) => to !== from).map((to): [ClusterContainer, ClusterContainer] => [from, to]));

/** Host-side entries one host has for the network, as text: FDB, permanent neighbours, overlay routes. */
async function peerState(cluster: OverlayCluster, hostIndex: number): Promise<{ fdb: string; neighbours: string; routes: string }> {
  const netns = cluster.hosts[hostIndex]?.netns;
  if (netns === undefined) throw new RangeError(`no host${hostIndex + 1}`);
  const device = cluster.network.device;
  return {
    fdb: await netns.execChecked(['bridge', 'fdb', 'show', 'dev', device]),
    neighbours: await netns.execChecked(['ip', 'neigh', 'show', 'dev', device, 'nud', 'permanent']),
    routes: await netns.execChecked(['ip', 'route', 'show', 'proto', '98']),
  };
}

const linesWith = (text: string, needle: string): string[] => text.split('\n').filter((line) => line.includes(needle)).sort();

export const overlayScenarios: readonly OverlayScenario[] = [
  {
    name: 'every container reaches every other (ICMP and TCP), with its own address',
    async run(context) {
      const cluster = await threeHosts(context);
      const containers = cluster.allContainers();
      for (const container of containers) await startSourceEchoServer(context.registry, container.netns, 7100);
      for (const [from, to] of pairs(containers)) {
        expect(await pings(from.netns, to.address), `${from.id} cannot ping ${to.id} (${to.address})`);
        const seen = await askSource(from.netns, to.address, 7100);
        expect(seen === from.address, `${to.id} saw ${seen ?? 'nothing'} connect, not ${from.id}'s ${from.address}`);
      }
      return `${pairs(containers).length} pairs`;
    },
  },
  {
    name: 'the underlay carries VXLAN with the VNI on the configured port, nothing in clear',
    async run(context) {
      const cluster = await context.cluster({ hosts: 2, port: 8472, vni: 777 });
      const a = await cluster.addContainer(0, 'a');
      const b = await cluster.addContainer(1, 'b');
      const vxlan = await startCapture(context.registry, cluster.underlay, { iface: 'br0', filter: 'udp dst port 8472', count: 4, seconds: 8, decodeVxlan: true });
      const clear = await startCapture(context.registry, cluster.underlay, { iface: 'br0', filter: 'net 10.244.0.0/16', count: 1, seconds: 4 });
      expect(await pings(a.netns, b.address), 'a cannot ping b');
      expect(await pings(b.netns, a.address), 'b cannot ping a');
      const packets = capturedPackets(await vxlan.done);
      expect(packets.length === 4, `${packets.length} VXLAN packets to UDP 8472 captured, expected 4`);
      for (const packet of packets) {
        expect(/VXLAN, flags \[I\] \(0x08\), vni 777\b/.test(packet), `not VXLAN with VNI 777: ${packet.slice(0, 300)}`);
        expect(/10\.123\.0\.[12]\.\d+ > 10\.123\.0\.[12]\.8472:/.test(packet), `outer addresses are not the VTEPs: ${packet.slice(0, 200)}`);
        expect(new RegExp(`(${a.address} > ${b.address}|${b.address} > ${a.address}): ICMP echo`).test(packet), `inner packet is not the ping: ${packet.slice(0, 300)}`);
      }
      const leaked = capturedPackets(await clear.done);
      expect(leaked.length === 0, `an overlay address crossed the underlay unencapsulated: ${leaked[0]?.slice(0, 200) ?? ''}`);
    },
  },
  {
    name: 'MTU: a full-size TCP transfer completes with DF set, MSS 1410, 1450-byte DF pings only',
    async run(context) {
      const cluster = await context.cluster({ hosts: 3 });
      const a = await cluster.addContainer(0, 'a');
      const c = await cluster.addContainer(2, 'c');
      // `ip`, not /sys: nsenter --net keeps the root netns's sysfs mounted.
      const mtu = (JSON.parse(await a.netns.execChecked(['ip', '-j', 'link', 'show', 'eth0'])) as { mtu: number }[])[0]?.mtu;
      expect(mtu === 1450, `container MTU ${mtu ?? '?'}, expected 1500 − 50`);
      const capture = await startCapture(context.registry, cluster.underlay, { iface: 'br0', filter: 'udp dst port 4789', count: 40, seconds: 15, decodeVxlan: true });
      const outcome = await bulkTransfer(context.registry, a.netns, c.netns, c.address, 7200, 8 * 1024 * 1024);
      expect(outcome.intact, `transfer of ${outcome.sentBytes} bytes: ${outcome.receivedBytes} arrived, digests ${outcome.intact ? 'agree' : 'differ'}`);
      const packets = capturedPackets(await capture.done);
      const syn = packets.find((packet) => /Flags \[S\]/.test(packet));
      expect(syn !== undefined && /mss 1410\b/.test(syn), `the SYN on the underlay does not offer MSS 1410: ${syn?.slice(0, 400) ?? 'no SYN captured'}`);
      const data = packets.filter((packet) => new RegExp(`${a.address}\\.\\d+ > ${c.address}\\.7200: Flags \\[\\.?P?\\.?\\]`).test(packet));
      expect(data.length > 0 && data.every((packet) => /proto TCP \(6\)/.test(packet) && /flags \[DF\], proto TCP/.test(packet)), `inner data segments without DF: ${data.find((packet) => !/flags \[DF\], proto TCP/.test(packet))?.slice(0, 300) ?? 'none captured'}`);
      expect(await a.netns.exec(['ping', '-c1', '-W2', '-M', 'do', '-s', '1422', c.address]).then((result) => result.code === 0), 'a 1450-byte DF ping does not cross');
      expect(await a.netns.exec(['ping', '-c1', '-W2', '-M', 'do', '-s', '1423', c.address]).then((result) => result.code !== 0), 'a 1451-byte DF ping leaves the container');
      return `${outcome.receivedBytes} bytes intact`;
    },
  },
  {
    name: 'agent source: a host removed stops being reachable, its state is cleaned, others untouched',
    async run(context) {
      const cluster = await threeHosts(context, { peers: 'agent' });
      const [h1c1, , h2c1, h3c1] = cluster.allContainers() as [ClusterContainer, ClusterContainer, ClusterContainer, ClusterContainer];
      const connection = await openLongConnection(context.registry, h1c1.netns, h2c1.netns, h2c1.address, 7300);
      const before = await connection.say('before');
      expect(await pings(h1c1.netns, h3c1.address), 'host 3 is not reachable before its removal');
      const [h1Before, h2Before] = [await peerState(cluster, 0), await peerState(cluster, 1)];
      await cluster.setPeers([0, 1]);
      const after = await connection.say('after');
      expect(before.split(' ')[0] === after.split(' ')[0], `the connection between host 1 and 2 was replaced: ${before} / ${after}`);
      connection.close();
      for (const container of [h1c1, h2c1]) expect(!await pings(container.netns, h3c1.address), `${container.id} still reaches host 3's container`);
      expect(await pings(h1c1.netns, h2c1.address), 'host 1 no longer reaches host 2');
      const [h1After, h2After] = [await peerState(cluster, 0), await peerState(cluster, 1)];
      for (const [label, state] of [['host 1', h1After], ['host 2', h2After]] as const) {
        expect(linesWith(state.fdb, '10.123.0.3').length === 0, `${label} keeps an FDB entry for host 3: ${state.fdb}`);
        expect(linesWith(state.neighbours, '10.244.3.0').length === 0, `${label} keeps host 3's neighbour`);
        expect(linesWith(state.routes, '10.244.3.0/24').length === 0, `${label} keeps a route to host 3`);
      }
      expect(linesWith(h1After.fdb, '10.123.0.2').join() === linesWith(h1Before.fdb, '10.123.0.2').join() &&
        linesWith(h1After.routes, '10.244.2.0').join() === linesWith(h1Before.routes, '10.244.2.0').join(), 'host 1\'s entries for host 2 changed');
      expect(linesWith(h2After.fdb, '10.123.0.1').join() === linesWith(h2Before.fdb, '10.123.0.1').join(), 'host 2\'s entries for host 1 changed');
      const h3 = await peerState(cluster, 2);
      expect(h3.routes.trim() === '' && h3.neighbours.trim() === '', `host 3 kept peer entries after leaving: ${h3.routes}`);
      return 'connection kept';
    },
  },
  {
    name: 'agent source: a host joining later is reached by all, existing entries untouched',
    async run(context) {
      const cluster = await context.cluster({ hosts: 3, peers: 'agent' });
      await cluster.setPeers([0, 1]);
      const a = await cluster.addContainer(0, 'a');
      const b = await cluster.addContainer(1, 'b');
      const h1Before = await peerState(cluster, 0);
      await cluster.setPeers([0, 1, 2]);
      const c = await cluster.addContainer(2, 'c');
      for (const [from, to] of pairs([a, b, c])) expect(await pings(from.netns, to.address), `${from.id} cannot ping ${to.id}`);
      const h1After = await peerState(cluster, 0);
      expect(linesWith(h1After.fdb, '10.123.0.2').join() === linesWith(h1Before.fdb, '10.123.0.2').join(), 'host 1\'s entry for host 2 changed');
    },
  },
  {
    name: 'static peers: GC with a host dropped from the conflist cleans it on the others',
    async run(context) {
      const cluster = await threeHosts(context);
      const [h1c1, , h2c1, h3c1] = cluster.allContainers() as [ClusterContainer, ClusterContainer, ClusterContainer, ClusterContainer];
      await cluster.setPeers([0, 1]);
      expect(!await pings(h1c1.netns, h3c1.address), 'host 1 still reaches host 3');
      expect(await pings(h1c1.netns, h2c1.address), 'host 1 no longer reaches host 2');
      const state = await peerState(cluster, 1);
      expect(linesWith(state.routes, '10.244.3.0/24').length === 0 && linesWith(state.fdb, '10.123.0.3').length === 0, `host 2 kept host 3's entries: ${state.routes}`);
      const h3c2 = cluster.hosts[2]?.containers[1];
      if (h3c2 !== undefined) await cluster.delContainer(h3c2);
      try {
        await cluster.addContainer(2, 'h3c3');
      } catch (error) {
        if (error instanceof ClusterCallError) return `host 3: DEL ok, ADD refused (code ${String(error.output?.['code'])})`;
        throw error;
      }
      throw new Error('host 3 could ADD although it is no longer a peer');
    },
  },
  {
    name: 'masquerade out of the overlay only',
    async run(context) {
      const cluster = await context.cluster({ hosts: 3 });
      const a = await cluster.addContainer(0, 'a');
      const c = await cluster.addContainer(2, 'c');
      await startSourceEchoServer(context.registry, cluster.underlay, 7400);
      await startSourceEchoServer(context.registry, c.netns, 7400);
      const outside = await askSource(a.netns, underlayOutsideAddress, 7400);
      expect(outside === '10.123.0.1', `the underlay saw ${outside ?? 'nothing'}, not host 1's 10.123.0.1`);
      const inside = await askSource(a.netns, c.address, 7400);
      expect(inside === a.address, `host 3's container saw ${inside ?? 'nothing'}, not ${a.address}`);
    },
  },
  {
    name: 'directRouting on a shared segment: reachable without encapsulation',
    async run(context) {
      const cluster = await context.cluster({ hosts: 2, directRouting: true });
      const a = await cluster.addContainer(0, 'a');
      const b = await cluster.addContainer(1, 'b');
      const vxlan = await startCapture(context.registry, cluster.underlay, { iface: 'br0', filter: 'udp port 4789', count: 1, seconds: 4 });
      expect(await pings(a.netns, b.address) && await pings(b.netns, a.address), 'a and b cannot ping each other');
      const packets = capturedPackets(await vxlan.done);
      expect(packets.length === 0, `VXLAN on the underlay despite directRouting: ${packets[0]?.slice(0, 200) ?? ''}`);
    },
  },
  {
    name: 'CHECK passes on every host; DEL on one host leaves the others reachable',
    async run(context) {
      const cluster = await threeHosts(context);
      for (const container of cluster.allContainers()) {
        const { host } = container;
        await cluster.call(host, { CNI_COMMAND: 'CHECK', CNI_CONTAINERID: container.id, CNI_NETNS: container.netns.path, CNI_IFNAME: 'eth0' },
          { ...cluster.conf(host), prevResult: container.result });
      }
      const [h1c1, h1c2, h2c1, h3c1] = cluster.allContainers() as [ClusterContainer, ClusterContainer, ClusterContainer, ClusterContainer];
      await cluster.delContainer(h1c2);
      expect(await pings(h1c1.netns, h3c1.address) && await pings(h2c1.netns, h1c1.address), 'traffic between the remaining containers broke');
      expect(!await pings(h2c1.netns, h1c2.address), 'the deleted container still answers');
    },
  },
];
