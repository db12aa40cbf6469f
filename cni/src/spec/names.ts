import { CniCode, CniError } from '../errors.js';

/** Container IDs and network names: an alphanumeric, then alphanumerics, `_`, `.` or `-` (spec §2). */
const namePattern = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** The spec sets no length limit; Berth bounds it so an ID can never be unreasonable (engines use 64 hex digits). */
export const containerIdLengthMax = 1024;
export const networkNameLengthMax = 255;
/** IFNAMSIZ - 1: the kernel's limit on an interface name in bytes. */
export const interfaceNameBytesMax = 15;

export function validateContainerId(containerId: string): void {
  if (containerId.length > containerIdLengthMax) {
    throw new CniError(CniCode.InvalidEnvironment, `Invalid CNI_CONTAINERID: longer than ${containerIdLengthMax} characters`);
  }
  if (!namePattern.test(containerId)) {
    throw new CniError(CniCode.InvalidEnvironment, `Invalid CNI_CONTAINERID "${containerId}": must start with a letter or digit followed by letters, digits, "_", "." or "-"`);
  }
}

/** The kernel's rules (net/core/dev.c dev_valid_name): 1-15 bytes, not "." or "..", no "/", ":" or whitespace. */
export function interfaceNameProblem(name: string): string | undefined {
  if (name === '') return 'it is empty';
  if (Buffer.byteLength(name, 'utf8') > interfaceNameBytesMax) return `it is longer than ${interfaceNameBytesMax} bytes`;
  if (name === '.' || name === '..') return 'it is "." or ".."';
  if (/[/:\s]/u.test(name)) return 'it contains "/", ":" or whitespace';
  return undefined;
}

export function validateInterfaceName(name: string): void {
  const problem = interfaceNameProblem(name);
  if (problem !== undefined) {
    throw new CniError(CniCode.InvalidEnvironment, `Invalid CNI_IFNAME "${name}": ${problem}`);
  }
}

export function validateNetworkName(name: string): void {
  if (name.length > networkNameLengthMax || !namePattern.test(name)) {
    throw new CniError(CniCode.InvalidNetworkConfig, `Invalid network config: "name" "${name}" must be 1-${networkNameLengthMax} letters, digits, "_", "." or "-", starting with a letter or digit`);
  }
}

const dnsSubdomainPattern = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const dnsLabelPattern = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** An RFC 1123 subdomain as Kubernetes names objects (pod names, K8S_POD_NAME): dot-separated labels, ≤ 253. */
export function isDnsSubdomain(text: string): boolean {
  return text.length <= 253 && dnsSubdomainPattern.test(text);
}

/** An RFC 1123 label as Kubernetes names namespaces (K8S_POD_NAMESPACE): ≤ 63, no dots. */
export function isDnsLabel(text: string): boolean {
  return text.length <= 63 && dnsLabelPattern.test(text);
}

/** A plugin `type` names an executable in CNI_PATH: no path separators, nothing that walks the tree. */
export function pluginTypeProblem(type: string): string | undefined {
  if (type === '' || type === '.' || type === '..') return 'it is empty, "." or ".."';
  if (/[/\\\0]/.test(type)) return 'it contains a path separator or NUL';
  return undefined;
}
