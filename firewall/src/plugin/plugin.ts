/**
 * berth-firewall: a chained CNI plugin. ADD registers the container's addresses (from prevResult), its
 * namespace, labels and named ports as a firewall endpoint and enforces the result in the namespace the plugin
 * runs in (the host's, where the bridge is); it passes prevResult through unchanged. DEL removes what ADD
 * registered (absent is fine); CHECK verifies the registration and that the table is in place; GC drops this
 * network's endpoints whose attachments are gone; STATUS fails (50) when the table applied here is missing or stale.
 *
 * Where the endpoint's identity comes from:
 *   namespace: CNI_ARGS K8S_POD_NAMESPACE, else args.cni.namespace, else "default"
 *   name:      CNI_ARGS K8S_POD_NAME, else args.cni.name, else the container ID (lowercased, ≤ 63 characters)
 *   labels:    args.cni.labels as [{key, value}]
 *   ports:     args.cni.ports as [{name, containerPort, protocol}] (entries without a name are ignored)
 *
 * In a cluster the endpoint goes to the host's berthd instead (registry.ts): the store holds it, every host enforces it.
 */
import { CniCode, CniError, fieldValue, SUPPORTED_VERSIONS, type CniPlugin, type CniRequest, type Result } from '@berth/cni';
import { FirewallCode, FirewallError, type FirewallCodeValue } from '../errors.js';
import { Firewall, type FirewallOptions } from '../firewall.js';
import { defaultRoot } from '../state/store.js';
import { parseEndpoint } from '../model/endpoint.js';
import type { EndpointRecord } from '../state/store.js';
import type { EndpointRegistry, RegistryFor } from './registry.js';

export const firewallPluginType = 'berth-firewall';

type JsonRecord = Readonly<Record<string, unknown>>;

function asRecord(value: unknown): JsonRecord | null {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as JsonRecord) : null;
}

function cniArgs(request: CniRequest): JsonRecord {
  const args = asRecord(fieldValue(request.config.raw, 'args'));
  return asRecord(args === null ? undefined : fieldValue(args, 'cni')) ?? {};
}

/** Maps the firewall's error codes to CNI's: bad input is 7, state I/O is 5, try again is 11, enforcement is plugin-specific 100. */
export function toCniError(error: unknown, action: string): CniError {
  if (error instanceof CniError) return error;
  if (error instanceof FirewallError) {
    const codes: Partial<Record<FirewallCodeValue, number>> = {
      [FirewallCode.InvalidDocument]: CniCode.InvalidNetworkConfig, [FirewallCode.InvalidArgument]: CniCode.InvalidNetworkConfig,
      [FirewallCode.State]: CniCode.IoFailure, [FirewallCode.Unavailable]: CniCode.TryAgainLater,
    };
    const code = codes[error.code] ?? enforcementFailed;
    return new CniError(code, `berth-firewall ${action}: ${error.message}`);
  }
  return new CniError(CniCode.Internal, `berth-firewall ${action}: ${error instanceof Error ? error.message : String(error)}`);
}

/** Plugin-specific code: the firewall could not be enforced (nftables refused the transaction). */
export const enforcementFailed = 100;

function containerAddresses(result: Result): string[] {
  const interfaces = result.interfaces ?? [];
  const ips = result.ips ?? [];
  // Addresses of container-side interfaces (those with a sandbox); an IPAM-style result without indexes gives all.
  const own = ips.filter((ip) => ip.interface === undefined || interfaces[ip.interface]?.sandbox !== undefined);
  return (own.length > 0 ? own : ips).map((ip) => ip.address.split('/')[0] ?? ip.address);
}

function hostInterface(result: Result, ifName: string): string {
  return result.interfaces?.find((item) => item.sandbox === undefined || item.sandbox === '')?.name ?? ifName;
}

/** The endpoint ADD registers, from prevResult, CNI_ARGS and args.cni; invalid input is code 7. */
export function endpointFromRequest(request: CniRequest): EndpointRecord {
  const result = request.config.prevResult;
  if (result === undefined) {
    throw new CniError(CniCode.InvalidNetworkConfig, 'berth-firewall must be chained after a plugin that assigns addresses: the config has no prevResult');
  }
  const ips = containerAddresses(result);
  if (ips.length === 0) throw new CniError(CniCode.InvalidNetworkConfig, 'berth-firewall: prevResult has no IP addresses to register');
  const args = cniArgs(request);
  const labels = fieldValue(args, 'labels') ?? [];
  if (!Array.isArray(labels)) throw new CniError(CniCode.InvalidNetworkConfig, 'Invalid network config: args.cni.labels must be a list of {key, value}');
  const ports = fieldValue(args, 'ports') ?? [];
  if (!Array.isArray(ports)) throw new CniError(CniCode.InvalidNetworkConfig, 'Invalid network config: args.cni.ports must be a list of {name, containerPort, protocol}');
  const fallbackName = request.containerId.toLowerCase().replace(/[^a-z0-9.-]/g, '-').slice(0, 63).replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '');
  const raw = {
    namespace: request.args.get('K8S_POD_NAMESPACE') ?? fieldValue(args, 'namespace') ?? 'default',
    name: request.args.get('K8S_POD_NAME') ?? fieldValue(args, 'name') ?? fallbackName,
    labels: Object.fromEntries(labels.map((item: unknown) => {
      const entry = asRecord(item);
      return [String(entry === null ? undefined : fieldValue(entry, 'key')), entry === null ? undefined : fieldValue(entry, 'value')];
    })),
    ips,
    interface: hostInterface(result, request.ifName),
    namedPorts: ports.map((item: unknown) => asRecord(item)).filter((entry): entry is JsonRecord => entry !== null && typeof fieldValue(entry, 'name') === 'string' && fieldValue(entry, 'name') !== '')
      .map((entry) => ({ name: fieldValue(entry, 'name'), port: fieldValue(entry, 'containerPort'), protocol: fieldValue(entry, 'protocol') ?? 'TCP' })),
  };
  try {
    return { ...parseEndpoint(raw, 'args.cni'), network: request.config.name, containerId: request.containerId, ifName: request.ifName };
  } catch (error) {
    throw toCniError(error, 'ADD');
  }
}

export interface FirewallPluginOptions extends FirewallOptions {
  /** Where endpoints are registered: berthd's registry in a cluster; none (default) means the state files. */
  readonly registry?: RegistryFor;
}

async function registryOf(options: FirewallPluginOptions, request: CniRequest, action: string): Promise<EndpointRegistry | undefined> {
  try {
    return await options.registry?.(request);
  } catch (error) {
    throw toCniError(error, action);
  }
}

function sameEndpoint(record: EndpointRecord, expected: EndpointRecord): boolean {
  return JSON.stringify([...record.ips].sort()) === JSON.stringify([...expected.ips].sort())
    && record.namespace === expected.namespace && record.name === expected.name;
}

export function createFirewallPlugin(options: FirewallPluginOptions = {}): CniPlugin {
  // The host side is the caller's netns when berthd serves the call (request.hostNetns), else the option's or ours.
  // The state root is the invocation's BERTH_ROOT (berthd passes its --root), never the serving process's.
  const firewall = (request: CniRequest): Firewall => {
    const netns = request.hostNetns ?? options.netns;
    return new Firewall({ root: defaultRoot(request.env), ...options, ...(netns === undefined ? {} : { netns }) });
  };
  return {
    name: firewallPluginType,
    supportedVersions: SUPPORTED_VERSIONS,
    async add(request) {
      const endpoint = endpointFromRequest(request);
      const registry = await registryOf(options, request, 'ADD');
      try {
        if (registry === undefined) await firewall(request).registerEndpoint(endpoint);
        else await registry.register(endpoint);
      } catch (error) {
        throw toCniError(error, 'ADD');
      }
      return request.config.prevResult as Result;
    },
    async del(request) {
      const registry = await registryOf(options, request, 'DEL');
      try {
        if (registry === undefined) await firewall(request).unregisterEndpoint(request.containerId, request.ifName);
        else await registry.unregister({ containerId: request.containerId, ifName: request.ifName });
      } catch (error) {
        throw toCniError(error, 'DEL');
      }
    },
    async check(request) {
      const expected = endpointFromRequest(request);
      const registry = await registryOf(options, request, 'CHECK');
      const attachment = { containerId: request.containerId, ifName: request.ifName };
      let record: EndpointRecord | undefined;
      let applied: boolean;
      try {
        if (registry === undefined) {
          const instance = firewall(request);
          record = instance.read().endpoints.find((item) => item.containerId === attachment.containerId && item.ifName === attachment.ifName);
          applied = record === undefined || instance.enforcer.isInPlace();
        } else {
          record = await registry.find(attachment);
          applied = record === undefined || await registry.enforcing();
        }
      } catch (error) {
        throw toCniError(error, 'CHECK');
      }
      if (record === undefined) {
        throw new CniError(CniCode.UnknownContainer, `berth-firewall CHECK: container ${request.containerId} (${request.ifName}) has no registered endpoint`);
      }
      if (!sameEndpoint(record, expected)) {
        throw new CniError(CniCode.InvalidNetworkConfig,
          `berth-firewall CHECK: endpoint ${record.namespace}/${record.name} (${record.ips.join(', ')}) differs from the request (${expected.namespace}/${expected.name}, ${expected.ips.join(', ')})`);
      }
      if (!applied) throw new CniError(enforcementFailed, 'berth-firewall CHECK: the firewall table is missing or stale in this network namespace');
    },
    async gc(request) {
      const valid = (request.config.validAttachments ?? []).map((attachment) => `${attachment.containerID}/${attachment.ifname}`);
      const registry = await registryOf(options, request, 'GC');
      try {
        if (registry === undefined) await firewall(request).collectGarbage(request.config.name, new Set(valid));
        else await registry.collect(request.config.name, valid);
      } catch (error) {
        throw toCniError(error, 'GC');
      }
    },
    async status(request) {
      // Ready when nothing was applied in this netns yet, or what was applied is still in the kernel (in a cluster:
      // berthd's engine enforces and follows the store). A table that went missing would leave registered endpoints
      // unprotected: not ready (50), and the message says how to fix it.
      const registry = await registryOf(options, request, 'STATUS');
      let inPlace: boolean;
      try {
        if (registry === undefined) {
          const { enforcer } = firewall(request);
          inPlace = !enforcer.hasApplied() || enforcer.isInPlace();
        } else {
          inPlace = await registry.enforcing();
        }
      } catch (error) {
        throw toCniError(error, 'STATUS');
      }
      if (!inPlace) {
        throw new CniError(CniCode.PluginNotAvailable, registry === undefined
          ? 'berth-firewall STATUS: the firewall table applied in this network namespace is missing or stale; `berth policy resync` (or the next ADD) puts it back'
          : 'berth-firewall STATUS: berthd does not enforce the cluster\'s policies on this host yet (see `berth policy status`)');
      }
    },
  };
}
