/**
 * `berth network create|ls|inspect|rm`: Berth networks as CNI conflists in the CNI config directory
 * (`$BERTH_CNI_CONF_DIR`, default /etc/cni/net.d), where the runtime's `--network NAME` and any engine reading that
 * directory find them. A network is the driver plugin with berth-ipam, then berth-portmap, then berth-firewall.
 */
import { existsSync, rmSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import { cidrOverlaps, ipamDefaultDataDir, parseCidr, validateNetworkName, withRtnl } from '@berth/cni';
import { callDaemon, DaemonClientError, socketPathFrom } from '../../daemon/client.js';
import {
  attachmentsOf, berthPluginDir, cniConfDirDefault, confDirFrom, readNetworks, removeConflistFile, writeConflistFile, type NetworkFile,
} from '../../networks/conf-dir.js';
import { formatFields, formatOf, formatRows, outputOption, print, progress, show, type OutputFormat } from '../output.js';
import {
  buildConflist, driverOf, drivers, isClusterConflist, parseOption, pickSubnet, plugins, subnetsOf, type Driver,
} from '../../networks/conflist.js';

const requestTimeoutMs = 60_000;
/** How long `network create` in a cluster waits for this host's berthd to write the conflist (it watches the store). */
const conflistWaitMsMax = 30_000;
const conflistPollMs = 100;

function confDir(): string {
  return confDirFrom(process.env);
}


function find(name: string): NetworkFile {
  const network = readNetworks().find((item) => item.name === name);
  if (network === undefined) throw new Error(`No network ${JSON.stringify(name)} in ${confDir()}`);
  return network;
}

interface CreateFlags { driver: string; subnet: string[]; gateway?: string; peer: string[]; opt: string[]; output?: string; local?: boolean }

/**
 * Where a network command goes: berthd when this host is in a cluster (the network is the cluster's), this host's
 * conflist directory otherwise (or with --local). A host in a cluster whose berthd is down gets a clear error rather
 * than a local network it did not ask for.
 */
async function viaCluster<T>(local: boolean | undefined, call: (socketPath: string) => Promise<T>): Promise<{ answer: T } | undefined> {
  if (local === true) return undefined;
  try {
    return { answer: await call(socketPathFrom(process.env)) };
  } catch (error) {
    if (!(error instanceof DaemonClientError)) throw error;
    if (error.code === 'NOT_INITIALIZED' || error.code === 'NOT_IN_CLUSTER') return undefined;
    if (error.code === 'UNREACHABLE' && !existsSync(join(process.env['BERTH_ROOT'] || '/var/lib/berth', 'cluster', 'state.json'))) return undefined;
    throw new Error(error.code === 'UNREACHABLE' ? `${error.message} (this host is in a cluster: its networks are the cluster's; use --local for a network of this host only)` : error.message);
  }
}

async function create(name: string, options: CreateFlags): Promise<void> {
  validateNetworkName(name);
  if (!(drivers as readonly string[]).includes(options.driver)) throw new Error(`Cannot create network ${name}: unknown driver ${JSON.stringify(options.driver)} (expected ${drivers.join(', ')})`);
  const driver = options.driver as Driver;
  const body = {
    name, driver, subnets: options.subnet, peers: options.peer, options: Object.fromEntries(options.opt.map(parseOption)),
    ...(options.gateway === undefined ? {} : { gateway: options.gateway }),
  };
  const cluster = await viaCluster(options.local, (socketPath) => callDaemon({ socketPath, method: 'POST', path: '/v1/networks', body, timeoutMs: requestTimeoutMs }));
  if (cluster !== undefined) {
    const record = cluster.answer as { name: string; driver: string; subnets: string[]; vni?: number };
    await waitForConflistHere(name, formatOf(options));
    return show(formatOf(options), record, () => `${name} created in the cluster (${record.driver}, ${record.subnets.join(', ')}${record.vni === undefined ? '' : `, VNI ${record.vni}`}); every host writes its conflist`);
  }
  createLocal(name, driver, options);
}

/**
 * A cluster network's conflist is written by every host's berthd when it sees the network in the store: wait (bounded)
 * until this host's is, so that a `berth run --network NAME` right after finds it.
 */
async function waitForConflistHere(name: string, format: OutputFormat): Promise<void> {
  const socketPath = socketPathFrom(process.env);
  const startedMs = Date.now();
  let announced = false;
  while (Date.now() - startedMs < conflistWaitMsMax) {
    const networks = await callDaemon({ socketPath, method: 'GET', path: '/v1/networks', timeoutMs: requestTimeoutMs }) as { name: string; host?: { ready?: boolean } }[];
    if (networks.find((network) => network.name === name)?.host?.ready === true) return;
    if (!announced && Date.now() - startedMs > 1_000) {
      progress(format, `Waiting for this host's berthd to write the ${name} conflist…`);
      announced = true;
    }
    await sleep(conflistPollMs);
  }
  process.stderr.write(`berth: ${name} is in the cluster, but this host's berthd has not written its conflist after ${conflistWaitMsMax / 1000} s (see its log)\n`);
}

function createLocal(name: string, driver: Driver, options: CreateFlags): void {
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
  const file = writeConflistFile(dir, name, conflist);
  show(formatOf(options), { name, file, conflist }, () => `${name} created (${driver}, ${subnets.join(', ')}) in ${file}`);
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

async function remove(name: string, options: { force?: boolean; output?: string; local?: boolean }): Promise<void> {
  const local = readNetworks().find((item) => item.name === name);
  const cluster = local !== undefined && !isClusterConflist(local.conflist) ? undefined
    : await viaCluster(options.local, (socketPath) => callDaemon({ socketPath, method: 'DELETE', path: `/v1/networks/${encodeURIComponent(name)}${options.force === true ? '?force=true' : ''}`, timeoutMs: requestTimeoutMs }));
  if (cluster !== undefined) {
    return show(formatOf(options), cluster.answer, () => `${name} removed from the cluster; every host removes its conflist`);
  }
  const network = find(name);
  const attached = attachmentsOf(network);
  if (attached.length > 0 && options.force !== true) {
    throw new Error(`Cannot remove network ${name}: ${attached.length} container(s) attached (${attached.slice(0, 5).map((item) => item.containerId.slice(0, 12)).join(', ')}); use --force`);
  }
  removeConflistFile(network.file);
  const ipam = plugins(network.conflist)[0]?.['ipam'] as { dataDir?: unknown } | undefined;
  if (options.force === true && attached.length > 0) {
    const dataDir = typeof ipam?.dataDir === 'string' && isAbsolute(ipam.dataDir) ? ipam.dataDir : ipamDefaultDataDir(process.env);
    rmSync(join(dataDir, name), { recursive: true, force: true });
  }
  const bridgeNote = await removeIdleBridge(network);
  show(formatOf(options), { name, removed: network.file, detached: attached.length, bridge: bridgeNote ?? null }, () => [`${name} removed`, ...(attached.length > 0 ? [`${attached.length} attachment(s) forgotten`] : []), ...(bridgeNote === undefined ? [] : [bridgeNote])].join('; '));
}

export function registerNetworkCommands(program: Command): void {
  const network = program.command('network').description(`CNI networks (conflists in $BERTH_CNI_CONF_DIR, default ${cniConfDirDefault}); on a host in a cluster, create and rm are the cluster's`);
  const collect = (value: string, previous: string[]): string[] => [...previous, value];

  network.command('create')
    .description('write a conflist: the driver plugin with berth-ipam, then berth-portmap and berth-firewall')
    .argument('<name>', 'network name (letters, digits, "_", ".", "-")')
    .option('-d, --driver <driver>', `driver: ${drivers.join(', ')}`, 'bridge')
    .option('--subnet <cidr>', 'subnet (repeat for dual-stack); default: a free 10.89.N.0/24 (vxlan: the overlay\'s whole range, default a free 10.N.0.0/16 from 10.244)', collect, [])
    .option('--gateway <ip>', 'gateway address inside the subnet (default: its first address; not for vxlan)')
    .option('--peer <address=subnet>', 'vxlan outside a cluster: a static peer host, its VTEP (underlay) address = its own part of the overlay subnet, e.g. 192.168.50.1=10.244.1.0/24; repeat once per host, this host included (each host allocates from its part). In a cluster no --peer is needed: each host leases its part', collect, [])
    .option('--opt <key=value>', 'driver option, e.g. mtu=1400, master=eth0, vni=42 (vxlan outside a cluster needs vni; in a cluster it is chosen when not given) (repeatable)', collect, [])
    .option('--local', 'on a host in a cluster: a network of this host only (a conflist here), not the cluster\'s')
    .addOption(outputOption())
    .action((name: string, options: CreateFlags) => create(name, options));

  network.command('ls')
    .description('list networks')
    .addOption(outputOption())
    .action((options: { output?: string }) => {
      const networks = readNetworks().map((item) => ({
        name: item.name, driver: driverOf(item.conflist), subnets: subnetsOf(item.conflist), scope: isClusterConflist(item.conflist) ? 'cluster' : 'local',
        attached: attachmentsOf(item).length, file: item.file,
      }));
      print(formatRows(formatOf(options), networks, [
        { header: 'NAME', cell: (item) => item.name }, { header: 'DRIVER', cell: (item) => item.driver },
        { header: 'SUBNETS', cell: (item) => item.subnets.join(',') || '-' }, { header: 'ATTACHED', cell: (item) => String(item.attached) },
        { header: 'FILE', cell: (item) => item.file },
      ]));
    });

  network.command('inspect')
    .description('show a network\'s conflist and the containers attached to it (a cluster network: with every host\'s lease)')
    .argument('<name>')
    .addOption(outputOption('json'))
    .action(async (name: string, options: { output?: string }) => {
      const item = readNetworks().find((network) => network.name === name);
      const cluster = item !== undefined && !isClusterConflist(item.conflist) ? undefined
        : await viaCluster(false, (socketPath) => callDaemon({ socketPath, method: 'GET', path: `/v1/networks/${encodeURIComponent(name)}`, timeoutMs: requestTimeoutMs }));
      if (item === undefined && cluster === undefined) find(name);
      const shown = {
        name, ...(item === undefined ? {} : { file: item.file, driver: driverOf(item.conflist), attachments: attachmentsOf(item), conflist: item.conflist }),
        ...(cluster === undefined ? {} : { cluster: cluster.answer }),
      };
      show(formatOf(options), shown, () => formatFields(shown));
    });

  network.command('rm')
    .description('remove a network (refused while containers are attached, unless --force)')
    .argument('<name>')
    .option('-f, --force', 'remove even with containers attached (their reservations are forgotten)')
    .option('--local', 'on a host in a cluster: remove a network of this host only')
    .addOption(outputOption())
    .action((name: string, options: { force?: boolean; output?: string; local?: boolean }) => remove(name, options));
}

