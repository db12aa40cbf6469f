/** Test-only helpers: namespaces made with `ip netns add bt-net-…`, inspection through `ip`/`bridge`/`nsenter`. */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export interface TestNetns { name: string; path: string }
interface Teardown { teardown(fn: () => unknown): void }

export const randomSuffix = (): string => randomBytes(3).toString('hex');

/** A fresh netns `bt-net-<tag>-<random>`, deleted in teardown (its virtual links go with it). */
export function testNetns(t: Teardown, tag: string): TestNetns {
  const name = `bt-net-${tag}-${randomSuffix()}`;
  execFileSync('ip', ['netns', 'add', name]);
  t.teardown(() => { spawnSync('ip', ['netns', 'del', name]); });
  return { name, path: `/run/netns/${name}` };
}

/** `ip -j -d -n NS ARGS…` parsed; `ns` undefined reads the root netns (read-only commands only). */
export function ipJson<T = Record<string, unknown>[]>(ns: TestNetns | undefined, ...args: string[]): T {
  const prefix = ns === undefined ? ['-j', '-d'] : ['-j', '-d', '-n', ns.name];
  const out = execFileSync('ip', [...prefix, ...args], { encoding: 'utf8' });
  return JSON.parse(out === '' ? '[]' : out) as T;
}

export function bridgeJson<T = Record<string, unknown>[]>(ns: TestNetns, ...args: string[]): T {
  const out = execFileSync('bridge', ['-j', '-d', '-n', ns.name, ...args], { encoding: 'utf8' });
  return JSON.parse(out === '' ? '[]' : out) as T;
}

/** Whether `ip -n NS link show NAME` finds the link. */
export function hasLink(ns: TestNetns | undefined, name: string): boolean {
  const args = ns === undefined ? ['link', 'show', 'dev', name] : ['-n', ns.name, 'link', 'show', 'dev', name];
  return spawnSync('ip', args, { stdio: 'ignore' }).status === 0;
}

/** Runs a command inside the netns (nsenter, so /sys and cgroups stay as they are). */
export function runIn(ns: TestNetns, command: string, args: string[]): { status: number | null; stdout: string } {
  const result = spawnSync('nsenter', [`--net=${ns.path}`, command, ...args], { encoding: 'utf8', timeout: 10_000 });
  return { status: result.status, stdout: result.stdout };
}

/** One ping, one second to answer. Only ever aimed at addresses inside test namespaces. */
export function pings(from: TestNetns, address: string): boolean {
  return runIn(from, 'ping', ['-c1', '-W1', address]).status === 0;
}

/** A link name unique on this host (so "absent from the root netns" means something). */
export const uniqueIfName = (tag: string): string => `bt${tag}${randomSuffix()}`.slice(0, 15);

/**
 * Whether this kernel has bridge VLAN filtering (CONFIG_BRIDGE_VLAN_FILTERING), probed once in a throwaway netns:
 * tests that need it are skipped (and counted as skipped) without it.
 */
export function kernelHasVlanFiltering(): boolean {
  const name = `bt-net-vprobe-${randomSuffix()}`;
  execFileSync('ip', ['netns', 'add', name]);
  try {
    return spawnSync('ip', ['-n', name, 'link', 'add', 'br0', 'type', 'bridge', 'vlan_filtering', '1'], { stdio: 'ignore' }).status === 0;
  } finally {
    spawnSync('ip', ['netns', 'del', name]);
  }
}

export const noVlanFiltering = 'this kernel is built without bridge VLAN filtering (CONFIG_BRIDGE_VLAN_FILTERING)';
