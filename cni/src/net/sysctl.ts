import { readFileSync, writeFileSync } from 'node:fs';
import { constants } from 'node:os';
import { withNetns } from '@berth/netns-napi';
import { NetlinkError } from './errors.js';
import { invalid } from './validate.js';

const SEGMENT = /^[A-Za-z0-9_@:.+-]{1,64}$/;

/**
 * "net.ipv4.ip_forward" or "net/ipv4/conf/eth0.100/forwarding" → /proc/sys/... As sysctl(8): a key with "/" is a path,
 * so interface names with dots stay whole; otherwise dots separate. No empty, "." or ".." segments.
 */
export function sysctlPath(key: string): string {
  const segments = typeof key === 'string' ? (key.includes('/') ? key.split('/') : key.split('.')) : [];
  if (segments.length < 2 || segments.some((s) => !SEGMENT.test(s) || s === '.' || s === '..')) {
    throw invalid(`use sysctl key ${JSON.stringify(String(key).slice(0, 80))}: expected e.g. net.ipv4.ip_forward`);
  }
  return `/proc/sys/${segments.join('/')}`;
}

function inNetns<T>(netnsPath: string | undefined, fn: () => T): T {
  return netnsPath === undefined ? fn() : withNetns(netnsPath, fn);
}

// node:fs errors carry a numeric errno; NetnsError (from entering the netns) only an errno name.
function fsError(error: unknown, operation: string): NetlinkError {
  const { errno, code } = error as { errno?: unknown; code?: unknown };
  const byName = typeof code === 'string' ? (constants.errno as Record<string, number | undefined>)[code] : undefined;
  const number = typeof errno === 'number' ? Math.abs(errno) : byName ?? 5;
  return new NetlinkError(number, operation, { cause: error });
}

/**
 * Reads a sysctl of the netns at `netnsPath` (or the current one), trimmed. /proc/sys/net files reflect the netns of
 * the thread that opens them, so the open happens inside withNetns.
 */
export function readSysctl(netnsPath: string | undefined, key: string): string {
  const path = sysctlPath(key);
  try {
    return inNetns(netnsPath, () => readFileSync(path, 'utf8')).trim();
  } catch (error) {
    throw fsError(error, `read sysctl ${key} in ${netnsPath ?? 'the current netns'}`);
  }
}

/** Writes a sysctl of the netns at `netnsPath` (or the current one). */
export function writeSysctl(netnsPath: string | undefined, key: string, value: string): void {
  const path = sysctlPath(key);
  if (/[\n\0]/.test(value)) throw invalid(`write sysctl ${key}: the value contains a newline or NUL`);
  try {
    inNetns(netnsPath, () => writeFileSync(path, value));
  } catch (error) {
    throw fsError(error, `write sysctl ${key}=${value} in ${netnsPath ?? 'the current netns'}`);
  }
}
