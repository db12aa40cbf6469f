/**
 * A Berth network as a CNI conflist, as data: the driver plugin with berth-ipam, then berth-portmap and
 * berth-firewall when they are installed. Pure; the CLI (local networks) and berthd (cluster networks, on every host)
 * render with the same code.
 */
import { createHash } from 'node:crypto';
import {
  cidrCanonical, cidrContains, cidrOverlaps, defaultBridgeName, defaultDeviceName, formatCidr, overlayPortDefault, parseCidr,
  parseIp, parsePeers, validatePeers, type IpCidr, type OverlayNetwork,
} from '@berth/cni';
import type { NetworkRecord } from '@berth/secrets';

export const drivers = ['bridge', 'macvlan', 'vxlan'] as const;
export type Driver = (typeof drivers)[number];

type Plugin = Record<string, unknown>;

export function plugins(conflist: Record<string, unknown>): Plugin[] {
  const list = conflist['plugins'];
  return Array.isArray(list) ? list.filter((item): item is Plugin => typeof item === 'object' && item !== null) : [];
}

/** The subnets of a network: its driver plugin's IPAM ranges, or (vxlan, whose hosts each allocate from their own
 * part) the overlay's whole `subnet`. */
export function subnetsOf(conflist: Record<string, unknown>): string[] {
  const driverPlugin = plugins(conflist)[0];
  const ipam = driverPlugin?.['ipam'] as { ranges?: { subnet?: string }[][] } | undefined;
  const ranges = (ipam?.ranges ?? []).flat().map((range) => range.subnet).filter((subnet): subnet is string => typeof subnet === 'string');
  if (ranges.length > 0) return ranges;
  const overlay = driverPlugin?.['subnet'];
  return typeof overlay === 'string' ? [overlay] : [];
}

export function driverOf(conflist: Record<string, unknown>): string {
  return String(plugins(conflist)[0]?.['type'] ?? '?').replace(/^berth-/, '');
}

/** `key=value`: true/false become booleans, integers numbers, `[...]`/`{...}` JSON; anything else stays a string. */
export function parseOption(text: string): [string, unknown] {
  const equals = text.indexOf('=');
  if (equals <= 0) throw new Error(`Cannot use --opt ${JSON.stringify(text)}: expected KEY=VALUE`);
  const key = text.slice(0, equals);
  const raw = text.slice(equals + 1);
  if (['type', 'ipam', 'name', 'cniVersion'].includes(key)) throw new Error(`Cannot use --opt ${key}: Berth sets it`);
  if (raw === 'true' || raw === 'false') return [key, raw === 'true'];
  if (/^-?\d{1,15}$/.test(raw)) return [key, Number(raw)];
  if (/^[[{]/.test(raw)) {
    try { return [key, JSON.parse(raw) as unknown]; } catch { throw new Error(`Cannot use --opt ${key}: ${raw} is not valid JSON`); }
  }
  return [key, raw];
}

/** The first free 10.89.N.0/24 (bridge, macvlan) or 10.N.0.0/16 from 10.244 on (vxlan) not overlapping `taken`. */
export function pickSubnet(driver: Driver, taken: readonly IpCidr[]): string {
  const candidates = driver === 'vxlan'
    ? Array.from({ length: 12 }, (_, index) => `10.${244 + index}.0.0/16`)
    : Array.from({ length: 256 }, (_, index) => `10.89.${index}.0/24`);
  const free = candidates.find((candidate) => !taken.some((cidr) => cidrOverlaps(cidr, parseCidr(candidate))));
  if (free === undefined) throw new Error('Cannot pick a subnet: every default subnet is taken; pass --subnet');
  return free;
}

export interface CreateOptions {
  readonly driver: Driver;
  readonly subnets: readonly string[];
  readonly gateway?: string;
  /** vxlan: the static peers, each `ADDRESS=SUBNET` (VTEP address on the underlay = that host's part of the subnet). */
  readonly peers?: readonly string[];
  readonly options: Readonly<Record<string, unknown>>;
  /** Plugin types available next to the driver (berth-portmap, berth-firewall are chained when present). */
  readonly available: ReadonlySet<string>;
}

function rangesFor(subnets: readonly IpCidr[], gateway: string | undefined): Record<string, string>[][] {
  if (gateway !== undefined && !subnets.some((subnet) => cidrContains(cidrCanonical(subnet), parseIp(gateway)))) {
    throw new Error(`Cannot use --gateway ${gateway}: it is in none of the subnets ${subnets.map(formatCidr).join(', ')}`);
  }
  return subnets.map((subnet) => {
    const range: Record<string, string> = { subnet: formatCidr(subnet) };
    if (gateway !== undefined && parseIp(gateway).family === subnet.address.family) range['gateway'] = gateway;
    return [range];
  });
}

/** `ADDRESS=SUBNET` of --peer → a conflist `peers` entry (checked with the others by `vxlanPlugin`). */
export function parsePeerOption(text: string): { address: string; subnet: string } {
  const equals = text.indexOf('=');
  const address = text.slice(0, equals);
  const subnet = text.slice(equals + 1);
  if (equals <= 0 || subnet === '' || subnet.includes('=')) {
    throw new Error(`Cannot use --peer ${JSON.stringify(text)}: expected VTEP_ADDRESS=SUBNET, e.g. 192.168.50.1=10.244.1.0/24`);
  }
  return { address, subnet };
}

/**
 * The berth-vxlan plugin of a new network: the overlay's whole `subnet`, the static `peers` (each host's VTEP address
 * and its own part of the subnet) and an `ipam` without ranges, so that on every host berth-vxlan has berth-ipam
 * allocate from that host's part (with that part's first address as gateway). Without peers the agent (berthd)
 * supplies them from the cluster store.
 */
function vxlanPlugin(name: string, subnets: readonly IpCidr[], options: CreateOptions): Plugin {
  const [overlay, ...more] = subnets;
  if (overlay === undefined || more.length > 0 || overlay.address.family !== 4) {
    throw new Error(`Cannot create vxlan network ${name}: it takes one IPv4 --subnet, the overlay's whole range (each --peer owns a part)`);
  }
  if (options.gateway !== undefined) {
    throw new Error(`Cannot use --gateway with the vxlan driver: each host's gateway is the first address of its own --peer subnet`);
  }
  const vni = options.options['vni'];
  if (vni === undefined) throw new Error('Cannot create a vxlan network without --opt vni=N (1-16777215)');
  const peerTexts = options.peers ?? [];
  if (peerTexts.length > 0 && options.options['peers'] !== undefined) throw new Error('Cannot use both --peer and --opt peers=...');
  const plugin: Plugin = { type: 'berth-vxlan', subnet: formatCidr(overlay), ...options.options, ipam: { type: 'berth-ipam' } };
  if (peerTexts.length > 0) plugin['peers'] = peerTexts.map(parsePeerOption);
  const peersValue = plugin['peers'];
  if (peersValue !== undefined) {
    if (!Array.isArray(peersValue)) throw new Error('Cannot use --opt peers: expected a JSON list of {"address", "subnet"}');
    if (typeof vni !== 'number') throw new Error(`Cannot use --opt vni=${String(vni)}: expected an integer 1-16777215`);
    const network: OverlayNetwork = {
      name, vni, port: overlayPortDefault, cidr: overlay, device: defaultDeviceName(vni), bridge: defaultBridgeName(vni),
      directRouting: false, mtu: undefined,
    };
    try {
      validatePeers(network, parsePeers(peersValue, 'peers'));
    } catch (error) {
      throw new Error(`Cannot create vxlan network ${name}: ${(error as Error).message.replace(/^Invalid network config: /, '')}`);
    }
  }
  return plugin;
}

/** The conflist of a new network. Pure. */
export function buildConflist(name: string, options: CreateOptions): Record<string, unknown> {
  const subnets = options.subnets.map((text) => cidrCanonical(parseCidr(text)));
  if (options.driver !== 'vxlan' && (options.peers ?? []).length > 0) throw new Error(`Cannot use --peer with the ${options.driver} driver (vxlan only)`);
  const ipam = {
    type: 'berth-ipam',
    ranges: rangesFor(subnets, options.gateway),
    routes: [...new Set(subnets.map((subnet) => (subnet.address.family === 4 ? '0.0.0.0/0' : '::/0')))].map((dst) => ({ dst })),
  };
  const driverDefaults: Record<Exclude<Driver, 'vxlan'>, Plugin> = {
    bridge: { bridge: `br-${createHash('sha256').update(name).digest('hex').slice(0, 12)}`, isGateway: true, ipMasq: true, hairpinMode: true },
    macvlan: { mode: 'bridge' },
  };
  const driverPlugin: Plugin = options.driver === 'vxlan'
    ? vxlanPlugin(name, subnets, options)
    : { type: `berth-${options.driver}`, ...driverDefaults[options.driver], ...options.options, ipam };
  const chained: Plugin[] = [];
  if (options.available.has('berth-portmap')) chained.push({ type: 'berth-portmap', capabilities: { portMappings: true }, snat: true });
  if (options.available.has('berth-firewall')) chained.push({ type: 'berth-firewall' });
  return { cniVersion: '1.0.0', name, plugins: [driverPlugin, ...chained] };
}

/** The top-level key marking a conflist berthd wrote for a cluster network (CNI and engines ignore keys they do not know). */
export const clusterMarkerKey = 'berth';

/** This host's part of a leased vxlan network: its subnet of the range and its VTEP address. */
export interface HostPart { readonly subnet: string; readonly vtep: string }

export function isClusterConflist(conflist: Record<string, unknown>): boolean {
  const marker = conflist[clusterMarkerKey];
  return typeof marker === 'object' && marker !== null && typeof (marker as Record<string, unknown>)['cluster'] === 'string';
}

/** A vxlan network whose hosts lease their subnets (no static peers): berthd writes its conflist once leased. */
export function isLeasedNetwork(record: NetworkRecord): boolean {
  return record.driver === 'vxlan' && record.peers === undefined;
}

/**
 * The conflist one host writes for a cluster network: the same rendering as a local network's (driver options as
 * given, the VNI the cluster chose, static peers as written), marked as the cluster's, and for a leased vxlan network
 * this host's `hostSubnet` and `localAddress` in the driver plugin. Pure.
 */
export function clusterConflist(record: NetworkRecord, options: { clusterId: string; available: ReadonlySet<string>; host?: HostPart | undefined }): Record<string, unknown> {
  const rendered = buildConflist(record.name, {
    driver: record.driver, subnets: record.subnets, options: { ...record.options, ...(record.vni === undefined ? {} : { vni: record.vni }) },
    available: options.available,
    ...(record.gateway === undefined ? {} : { gateway: record.gateway }),
    ...(record.peers === undefined ? {} : { peers: record.peers.map((peer) => `${peer.address}=${peer.subnet}`) }),
  });
  const [driverPlugin, ...chained] = plugins(rendered);
  if (driverPlugin === undefined) throw new Error(`Cannot render network ${record.name}: no driver plugin`);
  const leased = isLeasedNetwork(record);
  if (leased && options.host === undefined) throw new Error(`Cannot render network ${record.name} before this host leased its subnet`);
  const driver = leased && options.host !== undefined ? { ...driverPlugin, hostSubnet: options.host.subnet, localAddress: options.host.vtep } : driverPlugin;
  return { cniVersion: rendered['cniVersion'], name: record.name, [clusterMarkerKey]: { cluster: options.clusterId }, plugins: [driver, ...chained] };
}
