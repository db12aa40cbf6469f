import type { NftExpression, NftMapElement, NftCommand, NftSetElement } from '@berth/nftables-napi';
import { CniError } from '../errors.js';
import { cidrNetwork, formatIp, tryParseIp, type IpAddress, type IpCidr, type IpFamily } from '../net/ip.js';
import type { PortMapping } from '../spec/runtime-config.js';
import { NatCode } from './errors.js';
import { NatSet } from './ruleset.js';
import type { OwnedTableSpec } from './table-spec.js';

/** One element of an owned set or map, with the owner tag its comment carries. `value` only for maps. */
export interface OwnedElement {
  readonly set: string;
  readonly key: NftExpression;
  readonly value?: NftExpression;
  readonly owner: string;
}
/** An element of the NAT table. */
export type NatElement = OwnedElement;

/** Transport protocols a port mapping may name (they all carry ports where `th dport` reads them). */
export const portMappingProtocols = ['tcp', 'udp', 'sctp'] as const;

/** Masquerade for a container's addresses: out of the host, except to its own subnet and to multicast. */
export function masqueradeElements(owner: string, addresses: readonly IpCidr[]): NatElement[] {
  const elements: NatElement[] = [];
  for (const cidr of addresses) {
    const v4 = cidr.address.family === 4;
    const address = formatIp(cidr.address);
    elements.push({ set: v4 ? NatSet.masqueradeV4 : NatSet.masqueradeV6, key: address, owner });
    elements.push({
      set: v4 ? NatSet.masqueradeExemptV4 : NatSet.masqueradeExemptV6,
      key: { concat: [address, { prefix: { addr: formatIp(cidrNetwork(cidr)), len: cidr.prefixLength } }] },
      owner,
    });
  }
  return elements;
}

export interface PortMappingSpec {
  readonly owner: string;
  /** The container's addresses on this network; each mapping applies to those of its host address's family. */
  readonly containerAddresses: readonly IpAddress[];
  readonly mappings: readonly PortMapping[];
  /** Hairpin and localhost access need the host to masquerade (the reference portmap's `snat`, default true). */
  readonly snat: boolean;
}

/** Where a mapping listens on the host: every address (of one family, or of both), or one address. */
interface HostBinding {
  readonly family?: IpFamily;
  readonly address?: IpAddress;
}

function hostBindingOf(mapping: PortMapping): HostBinding {
  if (mapping.hostIP === undefined || mapping.hostIP === '') return {};
  const address = tryParseIp(mapping.hostIP);
  if (address === undefined) {
    throw new CniError(NatCode.InvalidPortMapping, `Cannot map host port ${mapping.hostPort}: hostIP "${mapping.hostIP}" is not an IP address`);
  }
  // 0.0.0.0 and :: mean "every address of that family", as for a listening socket.
  return address.value === 0n ? { family: address.family } : { family: address.family, address };
}

function checkMapping(mapping: PortMapping): void {
  const where = `${mapping.protocol}/${mapping.hostPort} -> ${mapping.containerPort}`;
  if (!(portMappingProtocols as readonly string[]).includes(mapping.protocol)) {
    throw new CniError(NatCode.InvalidPortMapping, `Cannot map ${where}: protocol "${mapping.protocol}" is not one of ${portMappingProtocols.join(', ')}`);
  }
  if (mapping.hostPort < 1 || mapping.containerPort < 1 || mapping.hostPort > 65535 || mapping.containerPort > 65535) {
    throw new CniError(NatCode.InvalidPortMapping, `Cannot map ${where}: ports must be 1-65535`);
  }
}

function mappingElement(owner: string, container: IpAddress, mapping: PortMapping, host: IpAddress | undefined): NatElement {
  const v4 = container.family === 4;
  const value = { concat: [formatIp(container), mapping.containerPort] };
  if (host === undefined) {
    return { set: v4 ? NatSet.portsV4 : NatSet.portsV6, key: { concat: [mapping.protocol, mapping.hostPort] }, value, owner };
  }
  return {
    set: v4 ? NatSet.portsHostIpV4 : NatSet.portsHostIpV6,
    key: { concat: [formatIp(host), mapping.protocol, mapping.hostPort] },
    value,
    owner,
  };
}

/**
 * DNAT map entries for a container's port mappings, plus its hairpin and localhost entries when `snat` is on. A
 * mapping without hostIP (or with 0.0.0.0 / ::) applies to every container address; one with a host address only to
 * container addresses of that family. Repeated mappings collapse; two mappings of one host port to different
 * container ports are a conflict.
 */
export function portMappingElements(spec: PortMappingSpec): NatElement[] {
  const elements = new Map<string, NatElement>();
  const families = new Set<number>();
  for (const mapping of spec.mappings) {
    checkMapping(mapping);
    const host = hostBindingOf(mapping);
    for (const container of spec.containerAddresses) {
      if (host.family !== undefined && host.family !== container.family) continue;
      const element = mappingElement(spec.owner, container, mapping, host.address);
      const identity = elementIdentity(element);
      const previous = elements.get(identity);
      if (previous !== undefined && valueIdentity(previous) !== valueIdentity(element)) {
        throw new CniError(NatCode.PortInUse, `Cannot map host port ${mapping.protocol}/${mapping.hostPort}${host.address === undefined ? '' : ` on ${formatIp(host.address)}`}: it is mapped twice in the same request, to different container ports`);
      }
      elements.set(identity, element);
      families.add(container.family);
    }
  }
  if (spec.snat) {
    for (const container of spec.containerAddresses) {
      if (!families.has(container.family)) continue;
      const address = formatIp(container);
      const hairpin = container.family === 4 ? NatSet.hairpinV4 : NatSet.hairpinV6;
      for (const element of [
        { set: hairpin, key: { concat: [address, address] }, owner: spec.owner },
        ...(container.family === 4 ? [{ set: NatSet.localnetV4, key: address, owner: spec.owner }] : []),
      ]) elements.set(elementIdentity(element), element);
    }
  }
  return [...elements.values()];
}

/** Addresses in their canonical text, so a key built here equals the same key as libnftables lists it. */
function canonical(expression: NftExpression | undefined): unknown {
  if (typeof expression === 'string') {
    const address = tryParseIp(expression);
    return address === undefined ? expression : formatIp(address);
  }
  if (Array.isArray(expression)) return expression.map((item: NftExpression) => canonical(item));
  if (typeof expression === 'object' && expression !== null) {
    return Object.fromEntries(Object.entries(expression).map(([key, item]) => [key, canonical(item as NftExpression)]));
  }
  return expression;
}

/** The element's set and key: what the kernel considers the same element. */
export function elementIdentity(element: Pick<OwnedElement, 'set' | 'key'>): string {
  return `${element.set} ${JSON.stringify(canonical(element.key))}`;
}

export function valueIdentity(element: OwnedElement): string {
  return JSON.stringify(canonical(element.value) ?? null);
}

/** Set (or map) and key and value and owner: equal when nothing about the element differs. */
export function fullIdentity(element: OwnedElement): string {
  return `${elementIdentity(element)} ${valueIdentity(element)} ${element.owner}`;
}

function groupBySet(elements: readonly OwnedElement[]): Map<string, OwnedElement[]> {
  const groups = new Map<string, OwnedElement[]>();
  for (const element of elements) {
    const group = groups.get(element.set) ?? [];
    group.push(element);
    groups.set(element.set, group);
  }
  return groups;
}

/** `add element` commands (one per set), each element carrying its owner tag as comment. */
export function addElementCommands(spec: OwnedTableSpec, elements: readonly OwnedElement[]): NftCommand[] {
  return [...groupBySet(elements)].map(([name, group]) => ({
    add: {
      element: {
        family: spec.family, table: spec.name, name,
        elem: group.map((element): NftSetElement | NftMapElement => {
          const keyed: NftSetElement = { elem: { val: element.key, comment: element.owner } };
          return element.value === undefined ? keyed : [keyed, element.value];
        }),
      },
    },
  }));
}

/** `delete element` commands (one per set): keys only, which is how the kernel finds set and map elements. */
export function deleteElementCommands(spec: OwnedTableSpec, elements: readonly OwnedElement[]): NftCommand[] {
  return [...groupBySet(elements)].map(([name, group]) => ({
    delete: { element: { family: spec.family, table: spec.name, name, elem: group.map((element) => element.key) } },
  }));
}
