/**
 * The `berth.*` OCI annotations a container carries (CONTRACTS.md), parsed into what the hook stages act on. Pure:
 * every malformed value is INVALID_ANNOTATION naming the annotation and what was expected.
 */
import { isDnsLabel, isDnsSubdomain, tryParseCidr, validateNetworkName } from '@berth/cni';
import { HookCode, HookError } from './errors.js';

export const Annotation = {
  network: 'berth.network',
  ports: 'berth.ports',
  labels: 'berth.labels',
  service: 'berth.service',
  ips: 'berth.ips',
  namespace: 'berth.namespace',
  /** The firewall endpoint's name (CNI_ARGS K8S_POD_NAME); default the container id. */
  name: 'berth.name',
  /** Names of the secrets the container needs (JSON list); proposed addition to the contract, see hooks/README.md. */
  secrets: 'berth.secrets',
} as const;

/** `absent`: no berth.network, the hook leaves networking to the runtime or engine. */
export type NetworkChoice =
  | { readonly kind: 'absent' }
  | { readonly kind: 'host' }
  | { readonly kind: 'none' }
  | { readonly kind: 'cni'; readonly name: string };

export interface PortMapping {
  readonly hostPort: number;
  readonly containerPort: number;
  readonly protocol: 'tcp' | 'udp' | 'sctp';
  readonly hostIP?: string;
}

export interface ContainerSpec {
  readonly network: NetworkChoice;
  readonly portMappings: readonly PortMapping[];
  readonly ips: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
  readonly service: string | undefined;
  readonly namespace: string;
  readonly name: string | undefined;
  readonly secrets: readonly string[];
}

const portMappingsMax = 256;
const labelsMax = 64;
const ipsMax = 16;
const secretsMax = 64;
/** Kubernetes label keys (optional DNS-subdomain prefix) and values. */
const labelKey = /^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const labelValue = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;
const serviceName = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/;
const secretName = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/;

function invalid(annotation: string, message: string): HookError {
  return new HookError(HookCode.InvalidAnnotation, `Invalid annotation ${annotation}: ${message}`);
}

function json(annotations: Readonly<Record<string, string>>, name: string): unknown {
  const text = annotations[name];
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw invalid(name, `not JSON: ${JSON.stringify(text.slice(0, 80))}`);
  }
}

function parseNetwork(text: string | undefined): NetworkChoice {
  if (text === undefined) return { kind: 'absent' };
  if (text === 'host' || text === 'none') return { kind: text };
  try {
    validateNetworkName(text);
  } catch {
    throw invalid(Annotation.network, `${JSON.stringify(text.slice(0, 80))} is not a network name (letters, digits, "_", ".", "-"), "host" or "none"`);
  }
  return { kind: 'cni', name: text };
}

function port(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 65535) throw invalid(Annotation.ports, `${what} must be an integer 1-65535`);
  return value;
}

/** CNI portMappings; keys matched case-insensitively as Go's decoder (and so every CNI plugin) does. */
function parsePorts(value: unknown): PortMapping[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.length > portMappingsMax) throw invalid(Annotation.ports, `expected a JSON list of at most ${portMappingsMax} {hostPort, containerPort, protocol}`);
  return value.map((item: unknown, index) => {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) throw invalid(Annotation.ports, `entry ${index} is not an object`);
    const entry = Object.fromEntries(Object.entries(item).map(([key, field]) => [key.toLowerCase(), field as unknown]));
    const protocol = String(entry['protocol'] ?? 'tcp').toLowerCase();
    if (protocol !== 'tcp' && protocol !== 'udp' && protocol !== 'sctp') throw invalid(Annotation.ports, `entry ${index}: protocol ${JSON.stringify(protocol)} is not tcp, udp or sctp`);
    const hostIP = entry['hostip'];
    if (hostIP !== undefined && hostIP !== '' && (typeof hostIP !== 'string' || tryParseCidr(`${hostIP}/${hostIP.includes(':') ? 128 : 32}`) === undefined)) {
      throw invalid(Annotation.ports, `entry ${index}: hostIP ${JSON.stringify(hostIP)} is not an IP address`);
    }
    return {
      hostPort: port(entry['hostport'], `entry ${index}: hostPort`), containerPort: port(entry['containerport'], `entry ${index}: containerPort`), protocol,
      ...(typeof hostIP === 'string' && hostIP !== '' ? { hostIP } : {}),
    };
  });
}

function parseLabels(value: unknown): Record<string, string> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid(Annotation.labels, 'expected a JSON object of string values');
  const entries = Object.entries(value);
  if (entries.length > labelsMax) throw invalid(Annotation.labels, `more than ${labelsMax} labels`);
  for (const [key, item] of entries) {
    if (!labelKey.test(key)) throw invalid(Annotation.labels, `key ${JSON.stringify(key.slice(0, 80))} is not a valid label key`);
    if (typeof item !== 'string' || !labelValue.test(item)) throw invalid(Annotation.labels, `value of ${key} must be a label value (≤ 63 of letters, digits, "-", "_", ".")`);
  }
  return Object.fromEntries(entries) as Record<string, string>;
}

function parseIps(value: unknown): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.length > ipsMax) throw invalid(Annotation.ips, `expected a JSON list of at most ${ipsMax} addresses`);
  return value.map((item: unknown) => {
    if (typeof item !== 'string') throw invalid(Annotation.ips, 'every entry must be a string');
    const cidr = item.includes('/') ? item : `${item}/${item.includes(':') ? 128 : 32}`;
    if (tryParseCidr(cidr) === undefined) throw invalid(Annotation.ips, `${JSON.stringify(item.slice(0, 80))} is not an IP address or CIDR`);
    return item;
  });
}

function parseSecrets(value: unknown): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.length > secretsMax) throw invalid(Annotation.secrets, `expected a JSON list of at most ${secretsMax} secret names`);
  return value.map((item: unknown) => {
    if (typeof item !== 'string' || !secretName.test(item)) throw invalid(Annotation.secrets, `${JSON.stringify(item)} is not a secret name ([a-zA-Z0-9][a-zA-Z0-9_.-]{0,63})`);
    return item;
  });
}

export function parseContainerSpec(annotations: Readonly<Record<string, string>>): ContainerSpec {
  const network = parseNetwork(annotations[Annotation.network]);
  const service = annotations[Annotation.service];
  if (service !== undefined && !serviceName.test(service)) throw invalid(Annotation.service, `${JSON.stringify(service.slice(0, 80))} is not a service name ([a-zA-Z0-9][a-zA-Z0-9_.-]{0,63})`);
  const namespace = annotations[Annotation.namespace] ?? 'default';
  if (!isDnsLabel(namespace)) throw invalid(Annotation.namespace, `${JSON.stringify(namespace.slice(0, 80))} is not a namespace name (DNS label)`);
  const name = annotations[Annotation.name];
  if (name !== undefined && !isDnsSubdomain(name)) throw invalid(Annotation.name, `${JSON.stringify(name.slice(0, 80))} is not an endpoint name (lowercase DNS subdomain)`);
  const spec: ContainerSpec = {
    network, service, namespace, name,
    portMappings: parsePorts(json(annotations, Annotation.ports)),
    ips: parseIps(json(annotations, Annotation.ips)),
    labels: parseLabels(json(annotations, Annotation.labels)),
    secrets: parseSecrets(json(annotations, Annotation.secrets)),
  };
  if (network.kind !== 'cni' && (spec.portMappings.length > 0 || spec.ips.length > 0)) {
    throw invalid(spec.portMappings.length > 0 ? Annotation.ports : Annotation.ips, `needs a CNI network in ${Annotation.network} (it is ${network.kind === 'absent' ? 'not set' : JSON.stringify(network.kind)})`);
  }
  if (spec.secrets.length > 0 && service === undefined) throw invalid(Annotation.secrets, `secrets reach containers of a service: set ${Annotation.service} too`);
  return spec;
}
