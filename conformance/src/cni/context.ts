import type { AttachmentParameters, JsonObject } from '@berth/cni';
import type { TeardownRegistry, TestHost, TestNetns } from '../harness/index.js';
import type { CniEngine } from './engine.js';
import { ipamType, pluginType, type CniImplementation } from './implementation.js';

/** A scenario's expectation did not hold; the message says what was seen. */
export class ScenarioFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScenarioFailure';
  }
}

export function expect(condition: boolean, message: string): asserts condition {
  if (!condition) throw new ScenarioFailure(message);
}

export interface NetworkOptions {
  readonly name?: string;
  readonly cniVersion?: string;
  readonly subnet?: string;
  readonly rangeStart?: string;
  readonly rangeEnd?: string;
  readonly ipMasq?: boolean;
  /** Chain the port-mapping plugin after the bridge. */
  readonly portmap?: boolean;
}

/** The bridge every scenario network uses, in the scenario's own host netns. */
export const scenarioBridge = 'btcni0';
export const scenarioSubnet = '10.88.0.0/24';
export const scenarioGateway = '10.88.0.1';
/** The host's and the outside client's addresses on the link between them. */
export const outsideHostAddress = '192.0.2.1';
export const outsideClientAddress = '192.0.2.2';

/** What a scenario works with: one implementation, a fresh host netns, and helpers that build like-for-like input. */
export interface ScenarioContext {
  readonly implementation: CniImplementation;
  readonly engine: CniEngine;
  readonly host: TestHost;
  readonly dataDir: string;
  readonly registry: TeardownRegistry;
  /** A fresh namespace for a container. */
  container(): Promise<TestNetns>;
  /** A namespace outside the host, linked and routed to it: the host is 192.0.2.1, the client 192.0.2.2. */
  outside(): Promise<TestNetns>;
}

/** The same bridge (+ portmap) network for any implementation: only the plugin types differ. */
export function scenarioNetwork(context: ScenarioContext, options: NetworkOptions = {}): JsonObject {
  const range: Record<string, string> = { subnet: options.subnet ?? scenarioSubnet };
  if (options.rangeStart !== undefined) range['rangeStart'] = options.rangeStart;
  if (options.rangeEnd !== undefined) range['rangeEnd'] = options.rangeEnd;
  const bridge = {
    type: pluginType(context.implementation, 'bridge'), bridge: scenarioBridge, isGateway: true, isDefaultGateway: true,
    ipMasq: options.ipMasq ?? true, hairpinMode: true,
    ipam: { type: ipamType(context.implementation), dataDir: context.dataDir, ranges: [[range]] },
  };
  const portmap = { type: pluginType(context.implementation, 'portmap'), capabilities: { portMappings: true }, snat: true };
  return {
    cniVersion: options.cniVersion ?? '1.0.0',
    name: options.name ?? 'bt-conformance',
    plugins: options.portmap === true ? [bridge, portmap] : [bridge],
  };
}

export function attachment(containerId: string, netns: TestNetns, extra: Partial<AttachmentParameters> = {}): AttachmentParameters {
  return { containerId, netns: netns.path, ifName: 'eth0', ...extra };
}

/** The container addresses of an ADD result (`ADDRESS/PREFIX`). */
export function resultAddresses(result: JsonObject | undefined): string[] {
  const ips = result?.['ips'];
  return Array.isArray(ips) ? ips.map((ip: { address?: unknown }) => String(ip.address)) : [];
}
