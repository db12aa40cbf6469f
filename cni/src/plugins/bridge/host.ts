import { CniCode, CniError } from '../../errors.js';
import { NetlinkError, isExists } from '../../net/errors.js';
import { cidrCanonical, cidrContains, formatCidr, type IpCidr } from '../../net/ip.js';
import type { Link } from '../../net/link-model.js';
import type { Rtnl } from '../../net/rtnl.js';
import { readSysctl, writeSysctl } from '../../net/sysctl.js';
import type { BridgeConfig } from './config.js';

/** The bridge, created if missing (with VLAN filtering when the config uses VLANs), up, promiscuous if asked. */
export async function ensureBridge(rtnl: Rtnl, config: BridgeConfig): Promise<Link> {
  const vlanFiltering = config.vlan !== 0 || config.vlanTrunk.length > 0;
  let bridge: Link;
  try {
    bridge = await rtnl.links.ensureBridge({
      name: config.bridge,
      ...(config.mtu === undefined ? {} : { mtu: config.mtu }),
      ...(vlanFiltering ? { vlanFiltering: true } : {}),
    });
  } catch (error) {
    if (isExists(error)) {
      throw new CniError(CniCode.InvalidNetworkConfig, `Cannot use bridge ${config.bridge}: a link of another kind has that name`);
    }
    if (vlanFiltering && error instanceof NetlinkError && (error.code === 'EOPNOTSUPP' || error.code === 'ENOTSUP')) {
      throw new CniError(CniCode.Internal, `Cannot create bridge ${config.bridge} with VLAN filtering ("vlan"/"vlanTrunk"): this kernel has no bridge VLAN filtering (CONFIG_BRIDGE_VLAN_FILTERING)`);
    }
    throw error;
  }
  if (vlanFiltering && bridge.bridge?.vlanFiltering === false) {
    throw new CniError(CniCode.InvalidNetworkConfig, `Cannot use VLANs on bridge ${config.bridge}: it exists without VLAN filtering`);
  }
  if (!bridge.up || (config.promiscMode && (bridge.promiscuity ?? 0) === 0)) {
    await rtnl.links.update(config.bridge, { up: true, ...(config.promiscMode ? { promisc: true } : {}) });
  }
  return bridge;
}

/**
 * Gives the bridge its gateway address. An IPv4 address of the same subnet that differs is an error unless
 * `forceAddress`, which replaces it (as the reference); IPv6 allows several. Concurrent ADDs adding the same address
 * both succeed.
 */
export async function ensureGatewayAddress(rtnl: Rtnl, config: BridgeConfig, gateway: IpCidr): Promise<void> {
  const family = gateway.address.family;
  const existing = await rtnl.addresses.list(config.bridge, family);
  if (existing.some((entry) => formatCidr(entry.cidr) === formatCidr(gateway))) return;
  if (family === 4) {
    const subnet = cidrCanonical(gateway);
    const others = existing.filter((entry) => cidrContains(subnet, entry.cidr.address) || cidrContains(cidrCanonical(entry.cidr), gateway.address));
    if (others.length > 0 && !config.forceAddress) {
      throw new CniError(CniCode.InvalidNetworkConfig, `Cannot give bridge ${config.bridge} gateway ${formatCidr(gateway)}: it already has ${others.map((entry) => formatCidr(entry.cidr)).join(', ')} (set "forceAddress" to replace it)`);
    }
    for (const other of others) await rtnl.addresses.remove(config.bridge, other.cidr);
  }
  await rtnl.addresses.ensure(config.bridge, gateway, { noDad: true });
}

/** Turns on forwarding for a family in the host netns (undefined: this process's), writing only when it is off. */
export function enableForwarding(family: 4 | 6, hostNetns: string | undefined): void {
  const key = family === 4 ? 'net.ipv4.ip_forward' : 'net.ipv6.conf.all.forwarding';
  if (readSysctl(hostNetns, key) !== '1') writeSysctl(hostNetns, key, '1');
}

/** Configures the host end's bridge port: hairpin, isolation, VLANs (as the reference's setupVeth and VLAN handling). */
export async function configureHostPort(rtnl: Rtnl, config: BridgeConfig, hostVeth: string): Promise<void> {
  if (config.hairpinMode || config.portIsolation) {
    await rtnl.bridge.setPortFlags(hostVeth, {
      ...(config.hairpinMode ? { hairpin: true } : {}),
      ...(config.portIsolation ? { isolated: true } : {}),
    });
  }
  if (config.vlan !== 0) {
    if (!config.preserveDefaultVlan) await rtnl.bridge.removeVlan(hostVeth, { vid: 1 }).catch(() => undefined);
    await rtnl.bridge.addVlan(hostVeth, { vid: config.vlan, pvid: true, untagged: true });
  }
  for (const range of config.vlanTrunk) {
    for (let vid = range.min; vid <= range.max; vid += 1) await rtnl.bridge.addVlan(hostVeth, { vid });
  }
}

/** With a VLAN and a gateway, the bridge's own port joins that VLAN untagged, so the gateway reaches the containers. */
export async function configureBridgeVlan(rtnl: Rtnl, config: BridgeConfig): Promise<void> {
  if (config.vlan === 0 || !config.isGateway) return;
  await rtnl.bridge.addVlan(config.bridge, { vid: config.vlan, pvid: true, untagged: true, self: true });
}
