import { CniCode, CniError } from '../../errors.js';
import { ipamAdd, ipamDel } from '../../invoke/ipam.js';
import { isExists } from '../../net/errors.js';
import { parseCidr } from '../../net/ip.js';
import type { Rtnl } from '../../net/rtnl.js';
import { withRtnl } from '../../net/rtnl.js';
import { masqueradeElements } from '../../nat/elements.js';
import { macspoofElements } from '../../nat/macspoof.js';
import { masqueradeSets } from '../../nat/ruleset.js';
import type { CniRequest } from '../../skel/plugin.js';
import type { Result, ResultInterface } from '../../spec/result.js';
import { parseBridgeConfig, type BridgeConfig } from './config.js';
import { configureInterface, disableDad } from '../common/container-iface.js';
import { failpoint } from '../common/failpoints.js';
import { planAddresses, type AddressPlan } from './gateways.js';
import { configureBridgeVlan, configureHostPort, enableForwarding, ensureBridge, ensureGatewayAddress } from './host.js';
import { attachmentTag, hostVethName } from './names.js';
import { withContainerRtnl } from '../common/netns.js';
import { withUndo, type UndoStack } from '../common/undo.js';
import { withHostTables, type HostTables } from './tables.js';

/** Index of the container interface in the result: bridge, host veth, container veth. */
const containerInterfaceIndex = 2;

interface AddContext {
  readonly request: CniRequest;
  readonly config: BridgeConfig;
  readonly host: Rtnl;
  readonly container: Rtnl;
  readonly tables: HostTables;
  readonly rollback: UndoStack;
  readonly hostVeth: string;
  /** Marks the end of a step, for the timing breakdown (BERTH_TIMING); a no-op otherwise. */
  readonly phase: (name: string) => void;
}

/** The veth pair: host end on the bridge (up), container end created directly inside the container's netns. */
async function createVeth(context: AddContext): Promise<{ hostMac: string | undefined; containerMac: string | undefined }> {
  const { request, config, host, container, rollback, hostVeth } = context;
  if (await container.links.find(request.ifName) !== undefined) {
    throw new CniError(CniCode.Internal, `Cannot add interface ${request.ifName} to container ${request.containerId}: the container already has an interface of that name`);
  }
  const mtu = config.mtu === undefined ? {} : { mtu: config.mtu };
  let pair;
  try {
    pair = await host.links.createVeth({
      name: hostVeth, master: config.bridge, up: true, ...mtu,
      peer: { name: request.ifName, netnsPath: request.netns, ...mtu, ...(config.mac === undefined ? {} : { mac: config.mac }) },
    });
  } catch (error) {
    if (isExists(error)) {
      throw new CniError(CniCode.Internal, `Cannot create veth ${hostVeth} for container ${request.containerId} interface ${request.ifName}: it exists (an earlier ADD of this attachment was not deleted)`);
    }
    throw error;
  }
  rollback.push(`delete veth ${hostVeth}`, () => host.links.remove(hostVeth));
  failpoint(request.env, 'bridge-after-veth');
  await configureHostPort(host, config, hostVeth);
  if (!config.enableDad) disableDad(request.netns, request.ifName);
  return { hostMac: pair.link.mac, containerMac: pair.peer.mac };
}

async function allocate(context: AddContext): Promise<AddressPlan> {
  const { request, config, rollback } = context;
  if (!config.hasIpam) return planAddresses({}, config, containerInterfaceIndex);
  const ipam = await ipamAdd(request);
  rollback.push('release the IPAM reservation', () => ipamDel(request));
  failpoint(request.env, 'bridge-after-ipam');
  return planAddresses(ipam, config, containerInterfaceIndex);
}

async function configureGateway(context: AddContext, plan: AddressPlan): Promise<void> {
  const { config, host } = context;
  if (!config.isGateway) return;
  for (const gateway of plan.bridgeAddresses) await ensureGatewayAddress(host, config, gateway);
  for (const family of new Set(plan.bridgeAddresses.map((gateway) => gateway.address.family))) enableForwarding(family, context.request.hostNetns);
  await configureBridgeVlan(host, config);
  failpoint(context.request.env, 'bridge-after-gateway');
}

async function configureNftables(context: AddContext, plan: AddressPlan, containerMac: string | undefined): Promise<void> {
  const { request, config, tables, rollback, hostVeth } = context;
  const tag = attachmentTag(request);
  if (config.ipMasq && plan.ips.length > 0) {
    const nat = await tables.nat();
    await nat.sync(tag, masqueradeSets, masqueradeElements(tag, plan.ips.map((ip) => parseCidr(ip.address))));
    rollback.push('remove the masquerade elements', () => nat.sync(tag, masqueradeSets, []));
    failpoint(request.env, 'bridge-after-nat');
  }
  if (config.macspoofchk && containerMac !== undefined) {
    const macspoof = await tables.macspoof();
    await macspoof.sync(tag, macspoof.spec.sets, macspoofElements(tag, hostVeth, containerMac));
    rollback.push('remove the MAC check elements', () => macspoof.sync(tag, macspoof.spec.sets, []));
    failpoint(request.env, 'bridge-after-macspoof');
  }
}

async function addSteps(context: AddContext): Promise<Result> {
  const { request, config, host, container, hostVeth, phase } = context;
  await ensureBridge(host, config);
  failpoint(request.env, 'bridge-after-bridge');
  phase('bridge');
  const { hostMac, containerMac } = await createVeth(context);
  phase('veth');
  const plan = await allocate(context);
  phase('ipam');
  if (!config.disableContainerInterface) await configureInterface(container, { netnsPath: request.netns, ifName: request.ifName, addressing: plan, enableDad: config.enableDad });
  failpoint(request.env, 'bridge-after-container');
  phase('container');
  await configureGateway(context, plan);
  phase('gateway');
  await configureNftables(context, plan, containerMac);
  phase('nftables');
  // The bridge takes a port's MAC when it gets its first port: read it now, as the reference does.
  const bridge = await host.links.get(config.bridge);
  // As the reference: IPAM's DNS, else the network config's own `dns`.
  const dns = plan.dns ?? request.config.dns;
  const interfaces: ResultInterface[] = [
    { name: config.bridge, ...(bridge.mac === undefined ? {} : { mac: bridge.mac }) },
    { name: hostVeth, ...(hostMac === undefined ? {} : { mac: hostMac }) },
    {
      name: request.ifName, sandbox: request.netns,
      ...(containerMac === undefined ? {} : { mac: containerMac }),
      ...(config.mtu === undefined ? {} : { mtu: config.mtu }),
    },
  ];
  return {
    interfaces,
    ...(plan.ips.length === 0 ? {} : { ips: plan.ips }),
    ...(plan.routes.length === 0 ? {} : { routes: plan.routes }),
    ...(dns === undefined ? {} : { dns }),
  };
}

/**
 * ADD: bridge (shared, created once), veth pair, IPAM, container addressing, gateway, NAT and MAC check, in that
 * order. Any failure undoes this call's own steps (never the shared bridge) before the error is reported; a crash
 * leaves state that DEL of the same attachment removes.
 */
export async function bridgeAdd(request: CniRequest, report: (failures: string[]) => void,
  phase: (name: string) => void = () => undefined): Promise<Result> {
  const config = parseBridgeConfig(request);
  return withContainerRtnl(request.netns, (container) => withRtnl(request.hostNetns, (host) => withHostTables(request.hostNetns, (tables) =>
    withUndo((rollback) => {
      phase('netlink-open');
      return addSteps({
        request, config, host, container, tables, rollback, phase, hostVeth: hostVethName(request.containerId, request.ifName),
      });
    }, report))));
}
