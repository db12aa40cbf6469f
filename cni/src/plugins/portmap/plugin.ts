import { CniCode, CniError } from '../../errors.js';
import { cidrContains, cidrCanonical, parseCidr, type IpAddress } from '../../net/ip.js';
import { fullIdentity, portMappingElements, type OwnedElement } from '../../nat/elements.js';
import { ownerTag } from '../../nat/owner.js';
import { NatSet, portMappingSets } from '../../nat/ruleset.js';
import type { CniPlugin, CniRequest } from '../../skel/plugin.js';
import { optionalBoolean } from '../../spec/fields.js';
import type { Result } from '../../spec/result.js';
import { SUPPORTED_VERSIONS } from '../../spec/version.js';
import { failpoint } from '../common/failpoints.js';
import { attachmentTag } from '../bridge/names.js';
import { withUndo } from '../common/undo.js';
import { withHostTables } from '../bridge/tables.js';

export const BERTH_PORTMAP_TYPE = 'berth-portmap';

function requirePrevResult(request: CniRequest): Result {
  const result = request.config.prevResult;
  if (result === undefined) {
    throw new CniError(CniCode.InvalidNetworkConfig, `Invalid network config: ${BERTH_PORTMAP_TYPE} is a chained plugin and needs "prevResult"`);
  }
  return result;
}

/** The container's addresses: those of prevResult on an interface inside a sandbox (all of them if none says). */
export function containerAddresses(result: Result): IpAddress[] {
  const interfaces = result.interfaces ?? [];
  return (result.ips ?? [])
    .filter((ip) => ip.interface === undefined || interfaces[ip.interface]?.sandbox !== undefined)
    .map((ip) => parseCidr(ip.address).address);
}

function desiredElements(request: CniRequest, result: Result): OwnedElement[] {
  const mappings = request.config.runtimeConfig.portMappings ?? [];
  if (mappings.length === 0) return [];
  const snat = optionalBoolean(request.config.raw, 'snat', '') ?? true;
  return portMappingElements({ owner: attachmentTag(request), containerAddresses: containerAddresses(result), mappings, snat });
}

/**
 * 127.0.0.1:hostPort reaches a container only if the host interface routing to it accepts loopback sources
 * (route_localnet). That interface is the one the host's longest matching route points at, as `ip route get`.
 */
async function enableLocalnet(hostNetns: string | undefined, addresses: readonly IpAddress[]): Promise<void> {
  const v4 = addresses.filter((address) => address.family === 4);
  if (v4.length === 0) return;
  // Loaded here, not at startup: a portmap call without IPv4 mappings never needs netlink.
  const [{ withRtnl }, { writeSysctl }] = await Promise.all([import('../../net/rtnl.js'), import('../../net/sysctl.js')]);
  const names = await withRtnl(hostNetns, async (host) => {
    const routes = await host.routes.list({ family: 4 });
    const found = new Set<string>();
    for (const address of v4) {
      const best = routes
        .filter((route) => route.oifIndex !== undefined && cidrContains(cidrCanonical(route.dst), address))
        .sort((a, b) => b.dst.prefixLength - a.dst.prefixLength)[0];
      if (best?.oifIndex !== undefined) found.add((await host.links.get(best.oifIndex)).name);
    }
    return found;
  });
  for (const name of names) writeSysctl(hostNetns, `net/ipv4/conf/${name}/route_localnet`, '1');
}

async function add(request: CniRequest): Promise<Result> {
  const result = requirePrevResult(request);
  const elements = desiredElements(request, result);
  if (elements.length === 0) return result;
  const tag = attachmentTag(request);
  await withHostTables(request.hostNetns, (tables) => withUndo(async (rollback) => {
    const nat = await tables.nat();
    await nat.sync(tag, portMappingSets, elements);
    rollback.push('remove the port mappings', () => nat.sync(tag, portMappingSets, []));
    failpoint(request.env, 'portmap-after-nat');
    if (elements.some((element) => element.set === NatSet.localnetV4)) await enableLocalnet(request.hostNetns, containerAddresses(result));
  }));
  return result;
}

/** DEL: every port-mapping element of this attachment, found by its owner tag (prevResult not needed). */
async function del(request: CniRequest): Promise<void> {
  await withHostTables(request.hostNetns, async (tables) => { await (await tables.nat()).sync(attachmentTag(request), portMappingSets, []); });
}

async function check(request: CniRequest): Promise<void> {
  const elements = desiredElements(request, requirePrevResult(request));
  if (elements.length === 0) return;
  const missing = await withHostTables(request.hostNetns, async (tables) => (await tables.nat()).missing(elements));
  if (missing.length > 0) {
    throw new CniError(CniCode.Internal, `CHECK failed: port mapping elements missing for ${attachmentTag(request)}: ${missing.map(fullIdentity).join('; ')}`);
  }
}

async function gc(request: CniRequest): Promise<void> {
  const network = request.config.name;
  const keep = new Set((request.config.validAttachments ?? []).map((attachment) =>
    ownerTag({ network, containerId: attachment.containerID, ifName: attachment.ifname })));
  await withHostTables(request.hostNetns, async (tables) => { await (await tables.nat()).collect(network, keep, portMappingSets); });
}

/** STATUS: ready when nftables answers in the host netns (listing Berth's NAT table; its absence is fine). */
async function status(request: CniRequest): Promise<void> {
  try {
    await withHostTables(request.hostNetns, async (tables) => { await (await tables.nat()).missing([]); });
  } catch (error) {
    throw new CniError(CniCode.PluginNotAvailable, `${BERTH_PORTMAP_TYPE} STATUS: nftables is not usable in the host network namespace: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** berth-portmap: the `portMappings` capability as DNAT map elements in `table inet berth-nat`. */
export function createBerthPortmap(): CniPlugin {
  return { name: BERTH_PORTMAP_TYPE, supportedVersions: SUPPORTED_VERSIONS, add, del, check, status, gc };
}

