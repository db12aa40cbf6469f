import { Hono } from 'hono';
import { cidrCanonical, cidrOverlaps, formatCidr, hostPrefixLengthFor, parseCidr, tryParseCidr, validateNetworkName } from '@berth/cni';
import {
  ClusterError, ClusterErrorCode, createNetwork, leasesOf, listOverlayLeases, networksCollection, parseNetworkRecord, removeNetwork, type ClusterNode, type NetworkRequest,
} from '@berth/secrets';
import { attachmentsOf, readNetworks, type NetworkFile } from '../../networks/conf-dir.js';
import { clusterConflist, drivers, isClusterConflist, parsePeerOption, pickSubnet, plugins, subnetsOf, type Driver } from '../../networks/conflist.js';
import { jsonBody } from '../errors.js';
import type { NetworksRuntime } from '../networks-runtime.js';

function invalid(message: string): ClusterError {
  return new ClusterError(ClusterErrorCode.RequestInvalid, `Invalid request: ${message}`);
}

function fields(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalid('the body must be a JSON object');
  const extra = Object.keys(body).find((key) => !['name', 'driver', 'subnets', 'gateway', 'peers', 'options'].includes(key));
  if (extra !== undefined) throw invalid(`unknown field ${JSON.stringify(extra.slice(0, 40))}`);
  return body as Record<string, unknown>;
}

function strings(value: unknown, name: string, max: number): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.length > max || !value.every((item) => typeof item === 'string' && item.length <= 100)) throw invalid(`${name} must be a list of at most ${max} strings`);
  return value as string[];
}

/**
 * A create request as `berth network create` sends it → the record the cluster stores: subnets defaulted as the
 * local path does (free of the cluster's networks and this host's own), a vxlan network's `--opt vni` moved to its
 * VNI field and its host subnet size fixed (Flannel's sizes) unless it has static peers. The result is rendered once
 * here, so anything the conflist would refuse (bad peers, a gateway outside the subnets) is refused before it is
 * stored.
 */
async function networkRequest(body: Record<string, unknown>, takenSubnets: () => Promise<readonly string[]>): Promise<NetworkRequest> {
  const name = body['name'];
  if (typeof name !== 'string') throw invalid('name must be a string');
  try {
    validateNetworkName(name);
  } catch (error) {
    throw invalid((error as Error).message.replace(/^Invalid network config: /, ''));
  }
  const driver = body['driver'] ?? 'bridge';
  if (!(drivers as readonly unknown[]).includes(driver)) throw invalid(`unknown driver ${JSON.stringify(driver)} (expected ${drivers.join(', ')})`);
  const options = body['options'] ?? {};
  if (typeof options !== 'object' || options === null || Array.isArray(options)) throw invalid('options must be an object');
  const { vni, ...rest } = options as Record<string, unknown>;
  if (vni !== undefined && (driver !== 'vxlan' || typeof vni !== 'number')) throw invalid('vni is an integer option of vxlan networks');
  const peers = strings(body['peers'], 'peers', 1024).map(parsePeerOption);
  const gateway = body['gateway'];
  if (gateway !== undefined && typeof gateway !== 'string') throw invalid('gateway must be a string');
  const subnets = strings(body['subnets'], 'subnets', 8);
  const taken = subnets.length > 0 ? [] : (await takenSubnets()).flatMap((text) => { const cidr = tryParseCidr(text); return cidr === undefined ? [] : [cidr]; });
  const chosen = (subnets.length > 0 ? subnets : [pickSubnet(driver as Driver, taken)]).map((text) => {
    const cidr = tryParseCidr(text);
    if (cidr === undefined) throw invalid(`subnet ${JSON.stringify(text)} is not a CIDR`);
    return formatCidr(cidrCanonical(cidr));
  });
  let hostPrefixLength: number | undefined;
  if (driver === 'vxlan' && peers.length === 0) {
    try {
      hostPrefixLength = hostPrefixLengthFor(parseCidr(chosen[0] ?? ''));
    } catch (error) {
      throw invalid((error as Error).message);
    }
  }
  return {
    name, driver: driver as Driver, subnets: chosen, gateway, hostPrefixLength, peers: peers.length > 0 ? peers : undefined,
    options: rest as NetworkRequest['options'], ...(typeof vni === 'number' ? { vni } : {}),
  };
}

/**
 * Cluster networks (issue 14): `POST /v1/networks` and `DELETE /v1/networks/<name>` on a manager store the network
 * for every host (each host's berthd writes the conflist); `GET /v1/networks` lists them with this host's state.
 * Outside a cluster: 409 NOT_INITIALIZED, and the CLI works on local conflists.
 */
export function createNetworksRouter(node: ClusterNode, runtime: NetworksRuntime): Hono {
  const app = new Hono();

  app.post('/v1/networks', async (c) => {
    const active = node.requireManager();
    const body = fields(await jsonBody(c));
    // This host's own networks (the cluster's conflists here are in the store already).
    const local = readNetworks(runtime.confDir).filter((network) => !isClusterConflist(network.conflist));
    const clash = local.find((network) => network.name === body['name']);
    if (clash !== undefined) throw invalid(`network ${String(body['name'])} exists on this host (${clash.file}); remove it or choose another name`);
    const request = await networkRequest(body, async () => [
      ...local.flatMap((network) => subnetsOf(network.conflist)),
      ...(await active.store.list(networksCollection)).entries.flatMap((entry) => entry.value.subnets),
    ]);
    assertRenders(request, active.state.advertiseAddress);
    assertDisjointFrom(request, local);
    const localVnis = new Map(local.flatMap((network) => { const vni = vniOfConflist(network.conflist); return vni === undefined ? [] : [[vni, network.name] as const]; }));
    const created = await createNetwork(active.store, request, { localVnis });
    return c.json(created.value, 201);
  });

  app.get('/v1/networks', async (c) => {
    const active = node.requireActive();
    const { entries } = await active.store.list(networksCollection);
    const here = new Map((runtime.current?.status() ?? []).map((entry) => [entry.name, entry]));
    return c.json(entries.map((entry) => ({ ...entry.value, host: { ready: here.get(entry.id)?.ready ?? false, subnet: here.get(entry.id)?.subnet } })));
  });

  /** One network with every host's lease (subnet, VTEP): what `berth network inspect` shows in a cluster. */
  app.get('/v1/networks/:name', async (c) => {
    const active = node.requireActive();
    const name = c.req.param('name');
    const network = await active.store.get(networksCollection, name);
    if (network === undefined) throw new ClusterError(ClusterErrorCode.RequestInvalid, `No network ${JSON.stringify(name.slice(0, 64))} in the cluster`);
    const leases = leasesOf(network.value, (await listOverlayLeases(active.store)).leases)
      .map((lease) => ({ nodeId: lease.nodeId, hostname: lease.value.hostname, subnet: lease.value.subnet, vtep: lease.value.vtep, mac: lease.value.mac }));
    return c.json({ ...network.value, leases });
  });

  app.delete('/v1/networks/:name', async (c) => {
    const active = node.requireManager();
    const name = c.req.param('name');
    const force = c.req.query('force') === 'true';
    const file = readNetworks(runtime.confDir).find((network) => network.name === name);
    const attached = file === undefined ? [] : attachmentsOf(file, runtime.pluginEnv);
    if (attached.length > 0 && !force) throw invalid(`network ${name} has ${attached.length} container(s) attached on this host; use --force`);
    const removed = await removeNetwork(active.store, name);
    return c.json({ name, removed: true, driver: removed.driver });
  });

  return app;
}

/** Renders the request once as a host would, so anything a conflist refuses (bad peers, a gateway outside) is refused before it is stored. */
function assertRenders(request: NetworkRequest, vtep: string): void {
  try {
    const check = parseNetworkRecord({ ...request, vni: request.driver === 'vxlan' ? request.vni ?? 1 : undefined, createdAt: new Date(0).toISOString() });
    clusterConflist(check, { clusterId: 'check', available: new Set(), host: { subnet: check.subnets[0] ?? '', vtep } });
  } catch (error) {
    throw invalid((error as Error).message.replace(/^Cannot create (vxlan )?network \S+: /, ''));
  }
}

/** The manager's own networks count too: a cluster network over one of them would clash on this host. */
function assertDisjointFrom(request: NetworkRequest, local: readonly NetworkFile[]): void {
  for (const subnet of request.subnets) {
    const overlap = local.find((network) => subnetsOf(network.conflist).some((other) => {
      const cidr = tryParseCidr(other);
      return cidr !== undefined && cidrOverlaps(cidr, parseCidr(subnet));
    }));
    if (overlap !== undefined) throw invalid(`subnet ${subnet} overlaps network ${overlap.name} of this host`);
  }
}

/** The VNI of a local vxlan conflist (so the cluster never chooses one this host already uses). */
function vniOfConflist(conflist: Record<string, unknown>): number | undefined {
  const driver = plugins(conflist)[0];
  return driver?.['type'] === 'berth-vxlan' && typeof driver['vni'] === 'number' ? driver['vni'] : undefined;
}
