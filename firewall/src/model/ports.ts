/** Port lists of NetworkPolicy (NetworkPolicyPort) and AdminNetworkPolicy (portNumber/namedPort/portRange). */
import { fieldPath, integerAt, invalid, isAbsent, objectAt, oneOf, stringAt } from './fields.js';
import type { PortMatch, Protocol } from './types.js';

const protocols: readonly Protocol[] = ['TCP', 'UDP', 'SCTP'];
const portRange = { min: 1, max: 65535 };

/** Why a container port name is not an IANA_SVC_NAME, or null. */
export function portNameProblem(name: string): string | null {
  if (name.length === 0 || name.length > 15) return 'a port name must be 1-15 characters';
  if (!/^[a-z0-9-]+$/.test(name)) return 'a port name may contain only lowercase letters, digits and "-"';
  if (!/[a-z]/.test(name)) return 'a port name must contain at least one letter';
  if (name.startsWith('-') || name.endsWith('-') || name.includes('--')) {
    return 'a port name may not start or end with "-" or contain "--"';
  }
  return null;
}

export function parseProtocol(value: unknown, path: string): Protocol {
  if (isAbsent(value)) return 'TCP';
  const text = stringAt(value, path);
  if (!protocols.includes(text as Protocol)) invalid(path, `must be one of TCP, UDP, SCTP, got ${JSON.stringify(text)}`);
  return text as Protocol;
}

function portName(value: string, path: string): string {
  const problem = portNameProblem(value);
  if (problem !== null) invalid(path, `invalid named port ${JSON.stringify(value)}: ${problem}`);
  return value;
}

/** networking.k8s.io/v1 NetworkPolicyPort. */
export function parseNetworkPolicyPort(value: unknown, path: string): PortMatch {
  const object = objectAt(value, path, ['protocol', 'port', 'endPort']);
  const protocol = parseProtocol(object['protocol'], fieldPath(path, 'protocol'));
  const port = object['port'];
  const endPort = object['endPort'];
  if (isAbsent(port)) {
    if (!isAbsent(endPort)) invalid(fieldPath(path, 'endPort'), 'may not be set unless port is a number');
    return { kind: 'all', protocol };
  }
  if (typeof port === 'string') {
    if (!isAbsent(endPort)) invalid(fieldPath(path, 'endPort'), 'may not be set when port is a named port');
    return { kind: 'named', protocol, name: portName(port, fieldPath(path, 'port')) };
  }
  const start = integerAt(port, fieldPath(path, 'port'), portRange);
  if (isAbsent(endPort)) return { kind: 'range', protocol, start, end: start };
  const end = integerAt(endPort, fieldPath(path, 'endPort'), portRange);
  if (end < start) invalid(fieldPath(path, 'endPort'), `must be greater than or equal to port (${start}), got ${end}`);
  return { kind: 'range', protocol, start, end };
}

/** policy.networking.k8s.io/v1alpha1 AdminNetworkPolicyPort: exactly one of portNumber, namedPort, portRange. */
export function parseAdminPort(value: unknown, path: string): PortMatch {
  const object = objectAt(value, path, ['portNumber', 'namedPort', 'portRange']);
  const which = oneOf(object, path, ['portNumber', 'namedPort', 'portRange']);
  const itemPath = fieldPath(path, which);
  if (which === 'namedPort') return { kind: 'named', protocol: null, name: portName(stringAt(object['namedPort'], itemPath), itemPath) };
  if (which === 'portNumber') {
    const number = objectAt(object['portNumber'], itemPath, ['protocol', 'port']);
    const port = integerAt(number['port'], fieldPath(itemPath, 'port'), portRange);
    return { kind: 'range', protocol: parseProtocol(number['protocol'], fieldPath(itemPath, 'protocol')), start: port, end: port };
  }
  const range = objectAt(object['portRange'], itemPath, ['protocol', 'start', 'end']);
  const start = integerAt(range['start'], fieldPath(itemPath, 'start'), portRange);
  const end = integerAt(range['end'], fieldPath(itemPath, 'end'), portRange);
  if (end <= start) invalid(fieldPath(itemPath, 'end'), `must be greater than start (${start}), got ${end}`);
  return { kind: 'range', protocol: parseProtocol(range['protocol'], fieldPath(itemPath, 'protocol')), start, end };
}

export function formatPortMatch(port: PortMatch): string {
  switch (port.kind) {
    case 'all':
      return `${port.protocol}/*`;
    case 'range':
      return port.start === port.end ? `${port.protocol}/${port.start}` : `${port.protocol}/${port.start}-${port.end}`;
    case 'named':
      return `${port.protocol ?? 'any'}/${port.name}`;
  }
}
