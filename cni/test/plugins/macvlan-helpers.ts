/**
 * Test-only fixtures for the macvlan and vxlan plugin tests: namespaces `bt-<tag>-<random>` made with `ip netns add`
 * and removed in teardown, commands run inside them with nsenter (inspection, ping), and a way to run a plugin
 * through the real skeleton with a given environment and configuration.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import type { CniPlugin } from '../../src/skel/plugin.js';
import { runPlugin } from '../../src/skel/run.js';
import { makeNetns, sh, type Netns, type Teardown } from '../nat/topology.js';

export type Ns = Netns;
export type { Teardown };
// Namespaces and shell commands inside them: the same fixtures the NAT and bridge tests use.
export { makeNetns, sh };

/** The exit status of a shell command inside the netns. */
export function shStatus(ns: Ns, command: string): number | null {
  return spawnSync('nsenter', [`--net=${ns.path}`, 'sh', '-c', command], { stdio: 'ignore', timeout: 30_000 }).status;
}

/** One ping with one second to answer; only ever aimed at addresses inside test namespaces. */
export function pings(from: Ns, address: string): boolean {
  return shStatus(from, `ping -c1 -W1 ${address}`) === 0;
}

/** `ip -j -d ARGS` inside the netns, parsed. */
export function ipJson<T>(ns: Ns, args: string): T {
  const out = sh(ns, `ip -j -d ${args}`);
  return JSON.parse(out === '' ? '[]' : out) as T;
}

export function hasLink(ns: Ns, name: string): boolean {
  return shStatus(ns, `ip link show dev ${name}`) === 0;
}

/** A temporary IPAM data directory, removed in teardown. */
export function tempDir(t: Teardown, tag: string): string {
  const dir = mkdtempSync(`/tmp/bt-${tag}-`);
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface Call {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout parsed (the result or the error object), or undefined when empty. */
  readonly output: Record<string, unknown> | undefined;
}

/** Runs one CNI command through the skeleton (`runPlugin`), as an exec would, with the environment and config. */
export async function callPlugin(plugin: CniPlugin, env: Record<string, string>, config: object): Promise<Call> {
  let stdout = '';
  let stderr = '';
  const code = await runPlugin(plugin, {
    env: { CNI_PATH: '/nonexistent', ...env },
    readStdin: async () => JSON.stringify(config),
    writeStdout: (text) => { stdout += text; },
    writeStderr: (text) => { stderr += text; },
  });
  const output = stdout.trim() === '' ? undefined : JSON.parse(stdout) as Record<string, unknown>;
  return { code, stdout, stderr, output };
}

/** The CNI_* variables of one attachment. */
export function attachment(command: string, containerId: string, netns: string, ifName = 'eth0'): Record<string, string> {
  return { CNI_COMMAND: command, CNI_CONTAINERID: containerId, CNI_NETNS: netns, CNI_IFNAME: ifName };
}
