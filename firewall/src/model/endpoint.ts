/** Endpoint records (what the CNI plugin registers): validation and canonical form. */
import { canonicalAddress } from './address.js';
import { arrayAt, fieldPath, integerAt, invalid, isAbsent, itemPath, objectAt, stringAt } from './fields.js';
import { isDnsLabel, isDnsSubdomain } from '@berth/cni';
import { parseLabels } from './labels.js';
import { parseProtocol, portNameProblem } from './ports.js';
import type { Endpoint, NamedPort } from './types.js';

const ipsMax = 16;
const namedPortsMax = 256;

function parseNamedPort(value: unknown, path: string): NamedPort {
  const object = objectAt(value, path, ['name', 'port', 'protocol']);
  const name = stringAt(object['name'], fieldPath(path, 'name'));
  const problem = portNameProblem(name);
  if (problem !== null) invalid(fieldPath(path, 'name'), problem);
  return {
    name,
    port: integerAt(object['port'], fieldPath(path, 'port'), { min: 1, max: 65535 }),
    protocol: parseProtocol(object['protocol'], fieldPath(path, 'protocol')),
  };
}

/** Validates an endpoint record; addresses are canonicalised (and may carry a `/prefix`, which is dropped). */
export function parseEndpoint(value: unknown, path = ''): Endpoint {
  const object = objectAt(value, path, ['namespace', 'name', 'labels', 'ips', 'interface', 'namedPorts']);
  const namespace = stringAt(object['namespace'], fieldPath(path, 'namespace'));
  if (!isDnsLabel(namespace)) invalid(fieldPath(path, 'namespace'), `${JSON.stringify(namespace)} must be a lowercase RFC 1123 label`);
  const name = stringAt(object['name'], fieldPath(path, 'name'));
  if (!isDnsSubdomain(name)) invalid(fieldPath(path, 'name'), `${JSON.stringify(name)} must be a lowercase RFC 1123 subdomain`);
  const ipsPath = fieldPath(path, 'ips');
  const ips = arrayAt(object['ips'], ipsPath, { min: 1, max: ipsMax }).map((item, index) => {
    const text = stringAt(item, itemPath(ipsPath, index)).split('/')[0] ?? '';
    const canonical = canonicalAddress(text);
    if (canonical === null) invalid(itemPath(ipsPath, index), `${JSON.stringify(text)} is not an IP address`);
    return canonical;
  });
  const portsPath = fieldPath(path, 'namedPorts');
  const namedPorts = isAbsent(object['namedPorts'])
    ? []
    : arrayAt(object['namedPorts'], portsPath, { max: namedPortsMax }).map((item, index) => parseNamedPort(item, itemPath(portsPath, index)));
  const seen = new Set<string>();
  namedPorts.forEach((port, index) => {
    const key = `${port.name}/${port.protocol}`;
    if (seen.has(key)) invalid(itemPath(portsPath, index), `duplicate named port ${key}`);
    seen.add(key);
  });
  return {
    namespace,
    name,
    labels: parseLabels(object['labels'], fieldPath(path, 'labels')),
    ips: [...new Set(ips)],
    interface: isAbsent(object['interface']) ? '' : stringAt(object['interface'], fieldPath(path, 'interface')),
    namedPorts,
  };
}

export function endpointKey(endpoint: Pick<Endpoint, 'namespace' | 'name'>): string {
  return `${endpoint.namespace}/${endpoint.name}`;
}
