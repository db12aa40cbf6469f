/**
 * `berth network create|ls|inspect|rm`: Berth networks as CNI conflists in the CNI config directory
 * (`$BERTH_CNI_CONF_DIR`, default /etc/cni/net.d), where the runtime's `--network NAME` and any engine reading that
 * directory find them. A network is the driver plugin with berth-ipam, then berth-portmap, then berth-firewall.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join } from 'node:path';
import type { Command } from 'commander';
import {
  cidrCanonical, cidrContains, cidrOverlaps, defaultBridgeName, defaultDeviceName, formatCidr, ipamDefaultDataDir,
  overlayPortDefault, parseCidr, parseIp, parsePeers, validateNetworkName, validatePeers, withRtnl, type IpCidr,
  type OverlayNetwork,
} from '@berth/cni';

export const cniConfDirDefault = '/etc/cni/net.d';
export const drivers = ['bridge', 'macvlan', 'vxlan'] as const;
export type Driver = (typeof drivers)[number];
/** Conflists scanned per directory, and attachments shown per network: bounds on what a command reads. */
const conflistsMax = 4096;
const attachmentsMax = 65_536;

export interface NetworkFile { readonly name: string; readonly file: string; readonly conflist: Record<string, unknown> }
export interface Attachment { readonly address: string; readonly containerId: string; readonly ifName: string }

type Plugin = Record<string, unknown>;

function confDir(): string {
  return process.env['BERTH_CNI_CONF_DIR'] || cniConfDirDefault;
}

function plugins(conflist: Record<string, unknown>): Plugin[] {
  const list = conflist['plugins'];
  return Array.isArray(list) ? list.filter((item): item is Plugin => typeof item === 'object' && item !== null) : [];
}

/** Every conflist of the directory that parses, by file name order. */
export function readNetworks(dir = confDir()): NetworkFile[] {
  const names = existsSync(dir) ? readdirSync(dir).filter((name) => name.endsWith('.conflist')).sort().slice(0, conflistsMax) : [];
  const out: NetworkFile[] = [];
  for (const name of names) {
    try {
      const conflist = JSON.parse(readFileSync(join(dir, name), 'utf8')) as Record<string, unknown>;
      if (typeof conflist['name'] === 'string') out.push({ name: conflist['name'], file: join(dir, name), conflist });
    } catch {
      // Not JSON or unreadable: not a network this command can describe.
    }
  }
  return out;
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

function driverOf(conflist: Record<string, unknown>): string {
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

/** Addresses reserved in the network's berth-ipam store: the containers attached to it. */
export function attachmentsOf(network: NetworkFile): Attachment[] {
  const ipam = plugins(network.conflist)[0]?.['ipam'] as { type?: unknown; dataDir?: unknown } | undefined;
  if (ipam?.type !== 'berth-ipam' && ipam?.type !== 'host-local') return [];
  const dataDir = typeof ipam.dataDir === 'string' && isAbsolute(ipam.dataDir) ? ipam.dataDir : ipamDefaultDataDir(process.env);
  const dir = join(dataDir, network.name);
  const names = existsSync(dir) ? readdirSync(dir).filter((entry) => /^[0-9a-f.:]+$/i.test(entry) && /[.:]/.test(entry)).slice(0, attachmentsMax) : [];
  return names.map((address) => {
    const [containerId = '', ifName = ''] = readFileSync(join(dir, address), 'utf8').split(/\r?\n/).map((line) => line.trim());
    return { address, containerId, ifName };
  });
}

function berthPluginDir(): string {
  return join(dirname(createRequire(import.meta.url).resolve('@berth/cni')), '..', '..', 'bin');
}

function print(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: readonly string[]): string => cells.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

function outputOption(options: { output?: string }): 'table' | 'json' {
  const output = options.output ?? 'table';
  if (output !== 'table' && output !== 'json') throw new Error(`Cannot use --output ${JSON.stringify(output)}: expected table or json`);
  return output;
}

function find(name: string): NetworkFile {
  const network = readNetworks().find((item) => item.name === name);
  if (network === undefined) throw new Error(`No network ${JSON.stringify(name)} in ${confDir()}`);
  return network;
}

interface CreateFlags { driver: string; subnet: string[]; gateway?: string; peer: string[]; opt: string[]; output?: string }

function create(name: string, options: CreateFlags): void {
  validateNetworkName(name);
  if (!(drivers as readonly string[]).includes(options.driver)) throw new Error(`Cannot create network ${name}: unknown driver ${JSON.stringify(options.driver)} (expected ${drivers.join(', ')})`);
  const driver = options.driver as Driver;
  const dir = confDir();
  const existing = readNetworks(dir);
  if (existing.some((network) => network.name === name) || existsSync(join(dir, `${name}.conflist`))) throw new Error(`Cannot create network ${name}: it exists in ${dir}`);
  const taken = existing.flatMap((network) => subnetsOf(network.conflist)).flatMap((text) => { try { return [parseCidr(text)]; } catch { return []; } });
  const subnets = options.subnet.length > 0 ? options.subnet : [pickSubnet(driver, taken)];
  for (const text of subnets) {
    const cidr = parseCidr(text);
    const clash = existing.find((network) => subnetsOf(network.conflist).some((other) => cidrOverlaps(parseCidr(other), cidr)));
    if (clash !== undefined) throw new Error(`Cannot create network ${name}: subnet ${text} overlaps network ${clash.name}`);
  }
  const pluginDir = berthPluginDir();
  const available = new Set(['berth-portmap', 'berth-firewall'].filter((type) => existsSync(join(pluginDir, type))));
  const conflist = buildConflist(name, {
    driver, subnets, peers: options.peer, options: Object.fromEntries(options.opt.map(parseOption)), available,
    ...(options.gateway === undefined ? {} : { gateway: options.gateway }),
  });
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const file = join(dir, `${name}.conflist`);
  writeFileSync(`${file}.tmp`, `${JSON.stringify(conflist, null, 2)}\n`, { mode: 0o644 });
  renameSync(`${file}.tmp`, file);
  if (outputOption(options) === 'json') print(JSON.stringify({ name, file, conflist }, null, 2));
  else print(`${name} created (${driver}, ${subnets.join(', ')}) in ${file}`);
}

/** Deletes the network's bridge when no port is left on it (in the netns this command runs in). */
async function removeIdleBridge(network: NetworkFile): Promise<string | undefined> {
  const driverPlugin = plugins(network.conflist)[0];
  const bridge = driverPlugin?.['type'] === 'berth-bridge' ? driverPlugin['bridge'] : undefined;
  if (typeof bridge !== 'string') return undefined;
  return withRtnl(undefined, async (rtnl) => {
    const link = await rtnl.links.find(bridge);
    if (link?.kind !== 'bridge') return undefined;
    if ((await rtnl.links.list()).some((port) => port.masterIndex === link.index)) return `bridge ${bridge} kept: it still has ports`;
    await rtnl.links.remove(bridge);
    return `bridge ${bridge} removed`;
  });
}

async function remove(name: string, options: { force?: boolean; output?: string }): Promise<void> {
  const network = find(name);
  const attached = attachmentsOf(network);
  if (attached.length > 0 && options.force !== true) {
    throw new Error(`Cannot remove network ${name}: ${attached.length} container(s) attached (${attached.slice(0, 5).map((item) => item.containerId.slice(0, 12)).join(', ')}); use --force`);
  }
  rmSync(network.file, { force: true });
  const ipam = plugins(network.conflist)[0]?.['ipam'] as { dataDir?: unknown } | undefined;
  if (options.force === true && attached.length > 0) {
    const dataDir = typeof ipam?.dataDir === 'string' && isAbsolute(ipam.dataDir) ? ipam.dataDir : ipamDefaultDataDir(process.env);
    rmSync(join(dataDir, name), { recursive: true, force: true });
  }
  const bridgeNote = await removeIdleBridge(network);
  if (outputOption(options) === 'json') print(JSON.stringify({ name, removed: network.file, detached: attached.length, bridge: bridgeNote ?? null }, null, 2));
  else print([`${name} removed`, ...(attached.length > 0 ? [`${attached.length} attachment(s) forgotten`] : []), ...(bridgeNote === undefined ? [] : [bridgeNote])].join('; '));
}

export function registerNetworkCommands(program: Command): void {
  const network = program.command('network').description(`CNI networks (conflists in $BERTH_CNI_CONF_DIR, default ${cniConfDirDefault})`);
  const collect = (value: string, previous: string[]): string[] => [...previous, value];

  network.command('create')
    .description('write a conflist: the driver plugin with berth-ipam, then berth-portmap and berth-firewall')
    .argument('<name>', 'network name (letters, digits, "_", ".", "-")')
    .option('-d, --driver <driver>', `driver: ${drivers.join(', ')}`, 'bridge')
    .option('--subnet <cidr>', 'subnet (repeat for dual-stack); default: a free 10.89.N.0/24 (vxlan: the overlay\'s whole range, default a free 10.N.0.0/16 from 10.244)', collect, [])
    .option('--gateway <ip>', 'gateway address inside the subnet (default: its first address; not for vxlan)')
    .option('--peer <address=subnet>', 'vxlan: a static peer host, its VTEP (underlay) address = its own part of the overlay subnet, e.g. 192.168.50.1=10.244.1.0/24; repeat once per host, this host included (each host allocates from its part); without --peer the berthd agent supplies peers', collect, [])
    .option('-o, --opt <key=value>', 'driver option, e.g. mtu=1400, master=eth0, vni=42 (vxlan needs vni) (repeatable)', collect, [])
    .option('--output <format>', 'table or json', 'table')
    .addHelpText('after', `
Examples:
  berth network create web --subnet 10.89.5.0/24
  berth network create lan --driver macvlan --subnet 192.168.50.0/24 --gateway 192.168.50.254 --opt master=eth0
  berth network create ovl --driver vxlan --subnet 10.244.0.0/16 --opt vni=42 \\
    --peer 192.168.50.1=10.244.1.0/24 --peer 192.168.50.2=10.244.2.0/24
  (the same vxlan conflist serves every host: each finds itself among the peers by its own address)`)
    .action((name: string, options: CreateFlags) => create(name, options));

  network.command('ls')
    .description('list networks')
    .option('-o, --output <format>', 'table or json', 'table')
    .action((options: { output?: string }) => {
      const networks = readNetworks();
      if (outputOption(options) === 'json') return print(JSON.stringify(networks.map((item) => ({ name: item.name, driver: driverOf(item.conflist), subnets: subnetsOf(item.conflist), file: item.file })), null, 2));
      print(table(['NAME', 'DRIVER', 'SUBNETS', 'ATTACHED', 'FILE'], networks.map((item) => [
        item.name, driverOf(item.conflist), subnetsOf(item.conflist).join(',') || '-', String(attachmentsOf(item).length), item.file,
      ])));
    });

  network.command('inspect')
    .description('show a network\'s conflist and the containers attached to it')
    .argument('<name>')
    .action((name: string) => {
      const item = find(name);
      print(JSON.stringify({ name: item.name, file: item.file, driver: driverOf(item.conflist), attachments: attachmentsOf(item), conflist: item.conflist }, null, 2));
    });

  network.command('rm')
    .description('remove a network (refused while containers are attached, unless --force)')
    .argument('<name>')
    .option('-f, --force', 'remove even with containers attached (their reservations are forgotten)')
    .option('-o, --output <format>', 'table or json', 'table')
    .action((name: string, options: { force?: boolean; output?: string }) => remove(name, options));
}

