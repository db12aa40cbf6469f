/**
 * Calls a plugin executable from cni/bin exactly as an engine does, one process per call, with the "host" being a
 * test namespace entered with nsenter, so every link, address and nft rule it makes stays in test namespaces.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Netns, Teardown } from '../nat/topology.js';

export const binDir = fileURLToPath(new URL('../../bin', import.meta.url));

export interface PluginCall {
  readonly plugin: string;
  readonly command: 'ADD' | 'DEL' | 'CHECK' | 'VERSION' | 'STATUS' | 'GC';
  readonly host: Netns;
  readonly containerId?: string;
  readonly netns?: string;
  readonly ifName?: string;
  readonly config: Record<string, unknown> | string;
  readonly env?: Readonly<Record<string, string>>;
}

export interface PluginOutcome {
  /** Exit code, or null when killed by a signal. */
  readonly code: number | null;
  readonly signal: string | null;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout parsed, when it is JSON. */
  readonly json: Record<string, unknown> | undefined;
}

export function callPlugin(call: PluginCall): Promise<PluginOutcome> {
  const env: Record<string, string> = {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    CNI_COMMAND: call.command,
    CNI_PATH: binDir,
    ...(call.containerId === undefined ? {} : { CNI_CONTAINERID: call.containerId }),
    ...(call.netns === undefined ? {} : { CNI_NETNS: call.netns }),
    ...(call.ifName === undefined ? {} : { CNI_IFNAME: call.ifName }),
    ...call.env,
  };
  const stdin = typeof call.config === 'string' ? call.config : JSON.stringify(call.config);
  return new Promise((resolve, reject) => {
    const child = spawn('nsenter', [`--net=${call.host.path}`, '--', join(binDir, call.plugin)], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString('utf8'); });
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString('utf8'); });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      let json: Record<string, unknown> | undefined;
      try { json = JSON.parse(stdout) as Record<string, unknown>; } catch { json = undefined; }
      resolve({ code, signal, stdout, stderr, json });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(stdin);
  });
}

/** Like callPlugin, but a failure is thrown with the plugin's error JSON. */
export async function callChecked(call: PluginCall): Promise<Record<string, unknown> | undefined> {
  const outcome = await callPlugin(call);
  if (outcome.code !== 0) throw new Error(`${call.plugin} ${call.command} failed (${outcome.code ?? outcome.signal}): ${outcome.stdout} ${outcome.stderr}`);
  return outcome.json;
}

/** A fresh IPAM data directory, removed in teardown. */
export function ipamDir(t: Teardown): string {
  const dir = mkdtempSync(join(tmpdir(), 'bt-ipam-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Reserved addresses in a berth-ipam / host-local data directory (the files named after addresses). */
export function reservations(dataDir: string, network: string): string[] {
  try {
    return readdirSync(join(dataDir, network)).filter((name) => /^[0-9a-f.:]+$/i.test(name) && (name.includes('.') || name.includes(':')));
  } catch {
    return [];
  }
}

/** `ip -j addr show dev IFNAME` inside a netns (empty when the link is missing). */
export function addressesOf(ns: Netns, ifName: string): string[] {
  const result = spawnSync('ip', ['-j', '-n', ns.name, 'addr', 'show', 'dev', ifName], { encoding: 'utf8' });
  if (result.status !== 0) return [];
  const links = JSON.parse(result.stdout) as { addr_info?: { local: string; prefixlen: number; scope: string }[] }[];
  return (links[0]?.addr_info ?? []).filter((entry) => entry.scope !== 'link').map((entry) => `${entry.local}/${entry.prefixlen}`);
}

/** Link names in a netns, as `ip -j link` shows them. */
export function linkNames(ns: Netns): string[] {
  const result = spawnSync('ip', ['-j', '-n', ns.name, 'link', 'show'], { encoding: 'utf8' });
  return (JSON.parse(result.stdout || '[]') as { ifname: string }[]).map((link) => link.ifname);
}

export function pingFrom(ns: Netns, address: string): boolean {
  const family = address.includes(':') ? '-6' : '-4';
  return spawnSync('nsenter', [`--net=${ns.path}`, 'ping', family, '-c1', '-W2', address], { stdio: 'ignore' }).status === 0;
}

export function bridgeConfig(name: string, dataDir: string, extra: Record<string, unknown> = {}, ranges: unknown = [[{ subnet: '10.66.0.0/24' }]]): Record<string, unknown> {
  return {
    cniVersion: '1.1.0', name, type: 'berth-bridge', bridge: 'btbr0', isGateway: true, isDefaultGateway: true, ipMasq: true,
    ipam: { type: 'berth-ipam', dataDir, ranges },
    ...extra,
  };
}
