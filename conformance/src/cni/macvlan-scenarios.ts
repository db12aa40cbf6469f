/**
 * macvlan scenarios for the side-by-side CNI suite: the same runner (`runScenario`), the same context, run against
 * berth-macvlan and the reference macvlan. The "uplink" is the host's link to the outside namespace (`bthout`,
 * 192.0.2.1/24); macvlan containers sit on that segment beside the outside client (192.0.2.2).
 */
import type { JsonObject } from '@berth/cni';
import { PluginCallError } from './engine.js';
import { attachment, expect, outsideClientAddress, resultAddresses, type ScenarioContext } from './context.js';
import { ipamType, type CniImplementation } from './implementation.js';
import { globalAddresses, linkNames, reservedAddresses } from './inspect.js';
import type { CniScenario } from './scenarios.js';
import { pings } from './traffic.js';

/** The host's link to the outside namespace: the macvlan master in these scenarios. */
export const macvlanUplink = 'bthout';
export const macvlanNetworkName = 'bt-macvlan';

export function macvlanType(implementation: CniImplementation): string {
  return `${implementation.typePrefix}macvlan`;
}

export interface MacvlanNetworkOptions {
  readonly cniVersion?: string;
  /** Plugin keys (mode, mtu, mac, master...); `master: undefined` leaves it out. */
  readonly plugin?: Readonly<Record<string, unknown>>;
  /** False: no IPAM section (an L2-only macvlan). */
  readonly ipam?: boolean;
  readonly rangeStart?: string;
  readonly rangeEnd?: string;
}

/** One macvlan network for any implementation: only the plugin types differ. */
export function macvlanNetwork(context: ScenarioContext, options: MacvlanNetworkOptions = {}): JsonObject {
  const plugin: Record<string, unknown> = { type: macvlanType(context.implementation), master: macvlanUplink, ...options.plugin };
  for (const [key, value] of Object.entries(plugin)) if (value === undefined) delete plugin[key];
  if (options.ipam !== false) {
    plugin['ipam'] = {
      type: ipamType(context.implementation), dataDir: context.dataDir,
      ranges: [[{ subnet: '192.0.2.0/24', rangeStart: options.rangeStart ?? '192.0.2.10', rangeEnd: options.rangeEnd ?? '192.0.2.40' }]],
    };
  }
  return { cniVersion: options.cniVersion ?? '1.0.0', name: macvlanNetworkName, plugins: [plugin] };
}

const bare = (cidr: string | undefined): string => (cidr ?? '').split('/')[0] ?? '';

interface LinkJson { ifname: string; address: string; mtu: number; operstate: string; linkinfo?: { info_kind?: string; info_data?: { mode?: string } } }

async function linkOf(netns: { execChecked(argv: readonly string[]): Promise<string> }, name: string): Promise<LinkJson | undefined> {
  return (JSON.parse(await netns.execChecked(['ip', '-j', '-d', 'link', 'show', 'dev', name]) || '[]') as LinkJson[])[0];
}

/** Two containers in `mode`: whether they reach each other, and whether each reaches the outside client. */
async function twoContainers(context: ScenarioContext, mode: string): Promise<{ together: boolean; outside: boolean }> {
  await context.outside();
  const network = macvlanNetwork(context, { plugin: { mode } });
  const [a, b] = [await context.container(), await context.container()];
  const ra = await context.engine.add(network, attachment('c1', a));
  const rb = await context.engine.add(network, attachment('c2', b));
  const link = await linkOf(a, 'eth0');
  expect(link?.linkinfo?.info_kind === 'macvlan' && link.linkinfo.info_data?.mode === mode, `eth0 is ${link?.linkinfo?.info_kind ?? '?'} mode ${link?.linkinfo?.info_data?.mode ?? '?'}`);
  return {
    together: await pings(a, bare(resultAddresses(rb)[0])),
    outside: await pings(a, outsideClientAddress) && await pings(b, outsideClientAddress) && resultAddresses(ra).length === 1,
  };
}

async function expectAddFails(context: ScenarioContext, network: JsonObject): Promise<string> {
  const a = await context.container();
  try {
    await context.engine.add(network, attachment('c1', a));
  } catch (error) {
    if (!(error instanceof PluginCallError)) throw error;
    expect((await linkNames(a)).join() === 'lo', `a link was left in the container: ${(await linkNames(a)).join(', ')}`);
    const left = await reservedAddresses(context.dataDir, macvlanNetworkName);
    expect(left.length === 0, `reservations left: ${left.join(', ')}`);
    return `code ${String(error.outcome.json?.['code'])}`;
  }
  throw new Error('ADD succeeded');
}

export const macvlanScenarios: readonly CniScenario[] = [
  {
    name: 'macvlan bridge: containers reach each other and the uplink peer',
    async run(context) {
      const seen = await twoContainers(context, 'bridge');
      expect(seen.together, 'c1 cannot ping c2');
      expect(seen.outside, 'a container cannot ping the peer on the uplink');
    },
  },
  {
    name: 'macvlan private: isolated from each other, not from the peer',
    async run(context) {
      const seen = await twoContainers(context, 'private');
      expect(!seen.together, 'c1 pings c2 in private mode');
      expect(seen.outside, 'a container cannot ping the peer on the uplink');
    },
  },
  {
    name: 'macvlan vepa: the peer is reachable',
    async run(context) {
      const seen = await twoContainers(context, 'vepa');
      expect(seen.outside, 'a container cannot ping the peer on the uplink');
      return seen.together ? 'c1-c2 reflected' : 'c1-c2 needs a hairpin switch';
    },
  },
  {
    name: 'macvlan passthru: one container owns the uplink',
    async run(context) {
      await context.outside();
      const network = macvlanNetwork(context, { plugin: { mode: 'passthru' } });
      const a = await context.container();
      await context.engine.add(network, attachment('c1', a));
      expect(await pings(a, outsideClientAddress), 'the passthru container cannot ping the peer');
    },
  },
  {
    name: 'macvlan mtu, config mac and runtimeConfig mac',
    async run(context) {
      await context.outside();
      const network = macvlanNetwork(context, { plugin: { mtu: 1400, mac: '02:42:00:00:00:01', capabilities: { mac: true } } });
      const [a, b] = [await context.container(), await context.container()];
      await context.engine.add(network, attachment('c1', a));
      await context.engine.add(network, attachment('c2', b, { capabilityArgs: { mac: '02:42:00:00:00:02' } }));
      const [la, lb] = [await linkOf(a, 'eth0'), await linkOf(b, 'eth0')];
      expect(la?.mtu === 1400, `c1 MTU ${la?.mtu ?? '?'}`);
      expect(la?.address === '02:42:00:00:00:01', `c1 MAC ${la?.address ?? '?'} (config mac)`);
      expect(lb?.address === '02:42:00:00:00:02', `c2 MAC ${lb?.address ?? '?'} (runtimeConfig.mac)`);
      expect(await pings(b, outsideClientAddress), 'c2 cannot ping the peer');
    },
  },
  {
    name: 'macvlan master defaults to the default route\'s link',
    async run(context) {
      await context.outside();
      await context.host.execChecked(['ip', 'route', 'add', 'default', 'via', outsideClientAddress]);
      const network = macvlanNetwork(context, { plugin: { master: undefined } });
      const a = await context.container();
      await context.engine.add(network, attachment('c1', a));
      expect(await pings(a, outsideClientAddress), 'the container cannot ping the peer');
    },
  },
  {
    name: 'macvlan without IPAM: an L2 link that is up',
    async run(context) {
      await context.outside();
      const a = await context.container();
      const result = await context.engine.add(macvlanNetwork(context, { ipam: false }), attachment('c1', a));
      expect(resultAddresses(result).length === 0, `addresses in the result: ${resultAddresses(result).join()}`);
      expect((await globalAddresses(a, 'eth0')).length === 0, 'eth0 has an address');
      const link = await linkOf(a, 'eth0');
      expect(link !== undefined && link.operstate !== 'DOWN', `eth0 is ${link?.operstate ?? 'missing'}`);
    },
  },
  {
    name: 'macvlan CHECK passes, then fails without the address',
    async run(context) {
      await context.outside();
      const network = macvlanNetwork(context);
      const a = await context.container();
      const result = await context.engine.add(network, attachment('c1', a)) as JsonObject;
      await context.engine.check(network, attachment('c1', a), result);
      await a.execChecked(['ip', 'addr', 'del', resultAddresses(result)[0] ?? '', 'dev', 'eth0']);
      try {
        await context.engine.check(network, attachment('c1', a), result);
      } catch (error) {
        if (error instanceof PluginCallError) return `then code ${String(error.outcome.json?.['code'])}`;
        throw error;
      }
      throw new Error('CHECK succeeded although the address is gone');
    },
  },
  {
    name: 'macvlan DEL, repeated DEL, DEL with the netns gone',
    async run(context) {
      await context.outside();
      const network = macvlanNetwork(context);
      const [a, b] = [await context.container(), await context.container()];
      const ra = await context.engine.add(network, attachment('c1', a)) as JsonObject;
      const rb = await context.engine.add(network, attachment('c2', b)) as JsonObject;
      await context.engine.del(network, attachment('c1', a), ra);
      await context.engine.del(network, attachment('c1', a), ra);
      expect((await linkNames(a)).join() === 'lo', 'the macvlan is still in c1');
      await b.remove();
      await context.engine.del(network, attachment('c2', b), rb);
      const left = await reservedAddresses(context.dataDir, macvlanNetworkName);
      expect(left.length === 0, `reservations left: ${left.join(', ')}`);
      const hostLinks = (await linkNames(context.host)).filter((name) => name !== 'lo' && name !== macvlanUplink);
      expect(hostLinks.length === 0, `host links left: ${hostLinks.join(', ')}`);
    },
  },
  {
    name: 'macvlan mtu above the master\'s: refused, nothing left',
    async run(context) {
      await context.outside();
      return expectAddFails(context, macvlanNetwork(context, { plugin: { mtu: 9000 } }));
    },
  },
  {
    name: 'macvlan missing master: refused, nothing left',
    async run(context) {
      await context.outside();
      return expectAddFails(context, macvlanNetwork(context, { plugin: { master: 'bt-nomaster' } }));
    },
  },
  {
    name: 'macvlan 0.3.1 config gets a 0.3.1 result',
    async run(context) {
      await context.outside();
      const result = await context.engine.add(macvlanNetwork(context, { cniVersion: '0.3.1' }), attachment('c1', await context.container()));
      expect(result?.['cniVersion'] === '0.3.1', `result cniVersion ${String(result?.['cniVersion'])}`);
      const ips = result?.['ips'] as { version?: string; interface?: number }[] | undefined;
      expect(ips?.[0]?.version === '4' && ips[0].interface === 0, `ips[0] is ${JSON.stringify(ips?.[0])}`);
    },
  },
  {
    name: 'macvlan linkInContainer: the master is in the container',
    async run(context) {
      const outside = await context.outside();
      const a = await context.container();
      await outside.execChecked(['ip', 'link', 'add', 'btlan1', 'type', 'veth', 'peer', 'name', 'in0', 'netns', a.path]);
      await outside.execChecked(['ip', 'link', 'set', 'btlan1', 'up']);
      await outside.execChecked(['ip', 'addr', 'add', '198.51.100.1/24', 'dev', 'btlan1']);
      await a.execChecked(['ip', 'link', 'set', 'in0', 'up']);
      const network = macvlanNetwork(context, { plugin: { master: 'in0', linkInContainer: true } });
      const plugins = network['plugins'] as JsonObject[];
      const ipam = { ...(plugins[0]?.['ipam'] as JsonObject), ranges: [[{ subnet: '198.51.100.0/24', rangeStart: '198.51.100.10', rangeEnd: '198.51.100.20' }]] };
      const inside = { ...network, plugins: [{ ...plugins[0], ipam }] };
      await context.engine.add(inside, attachment('c1', a));
      expect(await pings(a, '198.51.100.1'), 'the macvlan on the container\'s own link cannot reach its peer');
    },
  },
];
