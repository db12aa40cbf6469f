/** `berth run`'s repeatable flags, parsed and checked before anything is created. Pure. */
import { parseContainerSpec, type PortMapping } from '../hooks/annotations.js';

export interface SecretRequest {
  readonly name: string;
  /** File name under /run/secrets (default: the secret's name). */
  readonly target: string;
  /** Octal file mode, default 0400. */
  readonly mode: number;
}

const secretName = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/;
const containerName = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/;
const envName = /^[A-Za-z_][A-Za-z0-9_]*$/;

function recheck(what: string, check: () => unknown): void {
  try {
    check();
  } catch (error) {
    throw new Error(`Cannot use ${what}: ${(error as Error).message.replace(/^Invalid annotation [\w.]+: /, '')}`);
  }
}

/** `[HOST_IP:]HOST_PORT:CONTAINER_PORT[/tcp|udp|sctp]` (IPv6 host IPs in brackets), as docker's -p. */
export function parsePublish(text: string): PortMapping {
  const match = /^(?:(\[[0-9a-fA-F:.]+\]|[0-9.]+):)?(\d{1,5}):(\d{1,5})(?:\/(tcp|udp|sctp))?$/.exec(text);
  if (match === null) throw new Error(`Cannot use -p ${JSON.stringify(text)}: expected [HOST_IP:]HOST_PORT:CONTAINER_PORT[/tcp|udp|sctp], e.g. 8080:80`);
  const hostIP = match[1]?.replace(/^\[|\]$/g, '');
  const mapping = { hostPort: Number(match[2]), containerPort: Number(match[3]), protocol: (match[4] ?? 'tcp') as PortMapping['protocol'], ...(hostIP === undefined ? {} : { hostIP }) };
  // The hooks read the same values back from berth.ports: check them the same way now.
  recheck(`-p ${JSON.stringify(text)}`, () => parseContainerSpec({ 'berth.network': 'n', 'berth.ports': JSON.stringify([mapping]) }));
  return mapping;
}

export function parseLabel(text: string): [string, string] {
  const equals = text.indexOf('=');
  if (equals <= 0) throw new Error(`Cannot use --label ${JSON.stringify(text)}: expected KEY=VALUE`);
  const entry: [string, string] = [text.slice(0, equals), text.slice(equals + 1)];
  recheck(`--label ${JSON.stringify(text)}`, () => parseContainerSpec({ 'berth.labels': JSON.stringify(Object.fromEntries([entry])) }));
  return entry;
}

export function parseEnv(text: string): string {
  const equals = text.indexOf('=');
  const name = equals < 0 ? text : text.slice(0, equals);
  if (!envName.test(name)) throw new Error(`Cannot use -e ${JSON.stringify(text)}: expected NAME=VALUE with NAME of letters, digits and "_"`);
  if (text.includes('\0')) throw new Error('Cannot use -e: a NUL byte in the value');
  return equals < 0 ? `${text}=` : text;
}

/** `NAME[,target=FILE][,mode=0400]` as docker's --secret (short form and the two options Berth takes). */
export function parseSecret(text: string): SecretRequest {
  const [name = '', ...options] = text.split(',');
  if (!secretName.test(name)) throw new Error(`Cannot use --secret ${JSON.stringify(text)}: ${JSON.stringify(name)} is not a secret name ([a-zA-Z0-9][a-zA-Z0-9_.-]{0,63})`);
  let target = name;
  let mode = 0o400;
  for (const option of options) {
    const [key, value = ''] = option.split('=', 2);
    if (key === 'target' && secretName.test(value)) target = value;
    else if (key === 'mode' && /^0?[0-7]{3}$/.test(value)) mode = parseInt(value, 8);
    else throw new Error(`Cannot use --secret ${JSON.stringify(text)}: ${JSON.stringify(option)} is not target=FILE (a plain file name) or mode=0NNN`);
  }
  return { name, target, mode };
}

export function validateContainerName(name: string): string {
  if (!containerName.test(name)) throw new Error(`Cannot use --name ${JSON.stringify(name)}: expected 1-63 of letters, digits, "_", "." and "-", starting with a letter or digit`);
  return name;
}
