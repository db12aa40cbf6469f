import { SecretError, SecretErrorCode } from './errors.js';

/** Docker's limits: 500 KiB per secret, names `[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}`. */
export const secretBytesMax = 500 * 1024;
export const namePattern = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/;
export const labelsMax = 32;
const labelKeyPattern = /^[a-zA-Z0-9][a-zA-Z0-9_./-]{0,127}$/;
export const labelValueLengthMax = 256;
/** Versions kept per secret: the oldest non-current one is pruned past this (keeps `rm` within one transaction). */
export const versionsMax = 32;
/** Services one secret can be granted to (keeps `rm --force` within one transaction). */
export const grantsMax = 32;
export const grantNodesMax = 16;
const nodeNamePattern = /^[a-zA-Z0-9][a-zA-Z0-9.-]{0,62}$/;
export const uidMax = 2 ** 31 - 1;

function invalid(message: string): SecretError {
  return new SecretError(SecretErrorCode.Invalid, message);
}

function shown(value: unknown, length = 70): string {
  return JSON.stringify(String(value).slice(0, length));
}

export function assertSecretName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || !namePattern.test(name)) {
    throw invalid(`Invalid secret name ${shown(name)}: expected 1-64 of [a-zA-Z0-9_.-], starting with a letter or digit`);
  }
}

export function assertServiceName(service: unknown): asserts service is string {
  if (typeof service !== 'string' || !namePattern.test(service)) {
    throw invalid(`Invalid service name ${shown(service)}: expected 1-64 of [a-zA-Z0-9_.-], starting with a letter or digit`);
  }
}

/** A value's size is checked before anything else is done with it; the message never shows content. */
export function assertSecretValue(value: Uint8Array): void {
  if (value.length === 0) throw invalid('Invalid secret value: it is empty');
  if (value.length > secretBytesMax) {
    throw new SecretError(SecretErrorCode.TooLarge, `Secret value of ${value.length} bytes is larger than the limit of ${secretBytesMax} bytes (500 KiB)`);
  }
}

export function parseLabels(value: unknown): Record<string, string> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid('Invalid labels: expected an object of strings');
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > labelsMax) throw invalid(`Invalid labels: at most ${labelsMax}`);
  const labels: Record<string, string> = {};
  for (const [key, text] of entries) {
    if (!labelKeyPattern.test(key)) throw invalid(`Invalid label key ${shown(key)}: expected [a-zA-Z0-9][a-zA-Z0-9_./-]{0,127}`);
    if (typeof text !== 'string' || text.length > labelValueLengthMax) throw invalid(`Invalid label ${shown(key)}: the value must be a string of at most ${labelValueLengthMax} characters`);
    labels[key] = text;
  }
  return labels;
}

/** `k=v` from the CLI. */
export function parseLabelArgument(text: string): [string, string] {
  const at = text.indexOf('=');
  if (at <= 0) throw invalid(`Invalid label ${shown(text)}: expected KEY=VALUE`);
  return [text.slice(0, at), text.slice(at + 1)];
}

export interface GrantOptions {
  /** File name in the container's secrets directory (default: the secret's name). */
  readonly target: string;
  readonly uid: number;
  readonly gid: number;
  readonly mode: number;
  /** Node ids or hostnames the grant is limited to; empty = every host. */
  readonly nodes: readonly string[];
}

function id(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > uidMax) throw invalid(`Invalid ${what} ${shown(value)}: expected an integer in 0..${uidMax}`);
  return value;
}

/**
 * Grant options with Docker's defaults (target = name, uid/gid 0, mode 0400). Targets are plain file names: the
 * atomic writer keeps one flat directory, and `..`-prefixed names are its own.
 */
export function parseGrantOptions(secret: string, value: unknown): GrantOptions {
  const v = (value ?? {}) as Record<string, unknown>;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw invalid('Invalid grant options: expected an object');
  const target = v['target'] ?? secret;
  if (typeof target !== 'string' || !namePattern.test(target)) throw invalid(`Invalid target ${shown(target)}: expected a file name of 1-64 of [a-zA-Z0-9_.-], starting with a letter or digit`);
  const mode = v['mode'] ?? 0o400;
  if (typeof mode !== 'number' || !Number.isInteger(mode) || mode < 0 || mode > 0o777) throw invalid(`Invalid mode ${shown(mode)}: expected permission bits 0..0777`);
  if ((mode & 0o022) !== 0) throw invalid(`Invalid mode 0${mode.toString(8)}: a secret file must not be group- or world-writable`);
  const nodes = v['nodes'] ?? [];
  if (!Array.isArray(nodes) || nodes.length > grantNodesMax) throw invalid(`Invalid nodes: expected a list of at most ${grantNodesMax}`);
  for (const node of nodes) if (typeof node !== 'string' || !nodeNamePattern.test(node)) throw invalid(`Invalid node ${shown(node)}: expected a node id or hostname`);
  return { target, uid: id(v['uid'] ?? 0, 'uid'), gid: id(v['gid'] ?? 0, 'gid'), mode, nodes: [...new Set(nodes as string[])] };
}

/** `0400`, `400` or `0o400` → 0o400. */
export function parseModeArgument(text: string): number {
  const digits = /^(?:0o?)?([0-7]{1,4})$/.exec(text)?.[1];
  if (digits === undefined) throw invalid(`Invalid mode ${shown(text)}: expected octal permission bits such as 0400`);
  return Number.parseInt(digits, 8);
}
