/**
 * decide(): the reference verdict for one flow, combining the source's egress and the destination's ingress.
 * This is what `berth policy explain` prints, and what the compiler's output is tested against.
 */
import { FirewallCode, FirewallError } from '../errors.js';
import { formatAddress, parseAddress, type Address, type Family } from '../model/address.js';
import type { Endpoint, Namespace, PolicySet } from '../model/types.js';
import { addressKey, applicableRules, buildContext, type ApplicableRules, type Direction, type EvaluationContext } from './context.js';
import { decideDirection, type DirectionDecision, type Tier, type Verdict } from './direction.js';

export interface FlowQuery {
  /** `NAMESPACE/POD` of a registered endpoint, or an IP address. */
  readonly from: string;
  readonly to: string;
  /** IANA protocol number or name (`tcp`, `udp`, `sctp`, `icmp`, `icmpv6`); default TCP. */
  readonly protocol?: number | string;
  /** Destination port; ignored for protocols without ports. */
  readonly port?: number | null;
}

export interface Decision {
  readonly verdict: Verdict;
  readonly tier: Tier;
  readonly policy: string | null;
  readonly rule: string | null;
  readonly reason: string;
  readonly source: string;
  readonly destination: string;
  readonly protocol: number;
  readonly port: number | null;
  /** The source endpoint's egress decision (null when the source is not a registered endpoint). */
  readonly egress: DirectionDecision | null;
  readonly ingress: DirectionDecision | null;
}

export interface Packet {
  readonly source: Address;
  readonly destination: Address;
  readonly protocol: number;
  readonly port: number | null;
}

const protocolNames: Readonly<Record<string, number>> = { tcp: 6, udp: 17, sctp: 132, icmp: 1, icmpv6: 58 };
const portProtocols = new Set([6, 17, 132]);

export function parseProtocolText(value: number | string): number {
  const number = typeof value === 'number' ? value : protocolNames[value.toLowerCase()] ?? (/^[0-9]+$/.test(value) ? Number(value) : NaN);
  if (!Number.isInteger(number) || number < 0 || number > 255) {
    throw new FirewallError(FirewallCode.InvalidArgument, `Cannot use protocol ${JSON.stringify(value)}: expected tcp, udp, sctp, icmp, icmpv6 or 0-255`);
  }
  return number;
}

/** Evaluates many flows against one state; indexes are built once. */
export class Evaluator {
  readonly context: EvaluationContext;
  readonly #rules = new Map<string, ApplicableRules>();

  constructor(policies: PolicySet, namespaces: readonly Namespace[], endpoints: readonly Endpoint[]) {
    this.context = buildContext(policies, namespaces, endpoints);
  }

  #applicable(direction: Direction, endpoint: Endpoint): ApplicableRules {
    const key = `${direction}|${endpoint.namespace}/${endpoint.name}`;
    let rules = this.#rules.get(key);
    if (rules === undefined) {
      rules = applicableRules(this.context, direction, endpoint);
      this.#rules.set(key, rules);
    }
    return rules;
  }

  endpointAt(address: Address): Endpoint | null {
    return this.context.endpointByAddress.get(addressKey(address)) ?? null;
  }

  decidePacket(packet: Packet): Decision {
    const port = portProtocols.has(packet.protocol) ? packet.port : null;
    const sourceEndpoint = this.endpointAt(packet.source);
    const destinationEndpoint = this.endpointAt(packet.destination);
    const egress = sourceEndpoint === null ? null : decideDirection(this.context, this.#applicable('egress', sourceEndpoint),
      { address: packet.destination, endpoint: destinationEndpoint }, packet.protocol, port);
    const ingress = destinationEndpoint === null ? null : decideDirection(this.context, this.#applicable('ingress', destinationEndpoint),
      { address: packet.source, endpoint: sourceEndpoint }, packet.protocol, port);
    const deciding = [egress, ingress].find((decision) => decision?.verdict === 'deny')
      ?? [egress, ingress].find((decision) => decision?.verdict === 'monitor')
      ?? ingress ?? egress;
    const describe = (address: Address, endpoint: Endpoint | null): string =>
      endpoint === null ? formatAddress(address) : `${endpoint.namespace}/${endpoint.name} (${formatAddress(address)})`;
    const flow = {
      source: describe(packet.source, sourceEndpoint), destination: describe(packet.destination, destinationEndpoint),
      protocol: packet.protocol, port, egress, ingress,
    };
    if (deciding === null || deciding === undefined) {
      return { ...flow, verdict: 'allow', tier: 'default', policy: null, rule: null, reason: 'neither side is a registered endpoint: not Berth\'s to filter' };
    }
    return { ...flow, verdict: deciding.verdict, tier: deciding.tier, policy: deciding.policy, rule: deciding.rule, reason: `${deciding.direction}: ${deciding.reason}` };
  }

  #resolve(text: string, role: string): { endpoint: Endpoint | null; addresses: Address[] } {
    const address = parseAddress(text);
    if (address !== null) return { endpoint: this.endpointAt(address), addresses: [address] };
    const endpoint = this.context.endpointByKey.get(text);
    if (endpoint === undefined) {
      throw new FirewallError(FirewallCode.NotFound, `Cannot explain: ${role} ${JSON.stringify(text)} is neither an IP address nor a registered endpoint NAMESPACE/POD`);
    }
    return { endpoint, addresses: endpoint.ips.map((ip) => parseAddress(ip)).filter((item): item is Address => item !== null) };
  }

  decide(query: FlowQuery): Decision {
    const from = this.#resolve(query.from, '--from');
    const to = this.#resolve(query.to, '--to');
    const pick = (family: Family): [Address, Address] | null => {
      const source = from.addresses.find((address) => address.family === family);
      const destination = to.addresses.find((address) => address.family === family);
      return source !== undefined && destination !== undefined ? [source, destination] : null;
    };
    const pair = pick(4) ?? pick(6);
    if (pair === null) throw new FirewallError(FirewallCode.InvalidArgument, `Cannot explain: ${query.from} and ${query.to} share no address family`);
    return this.decidePacket({ source: pair[0], destination: pair[1], protocol: parseProtocolText(query.protocol ?? 6), port: query.port ?? null });
  }
}

export function decide(policies: PolicySet, namespaces: readonly Namespace[], endpoints: readonly Endpoint[], query: FlowQuery): Decision {
  return new Evaluator(policies, namespaces, endpoints).decide(query);
}
