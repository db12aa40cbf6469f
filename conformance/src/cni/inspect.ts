import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestNetns } from '../harness/index.js';

/** Link names in the netns. */
export async function linkNames(netns: TestNetns): Promise<string[]> {
  const out = await netns.execChecked(['ip', '-j', 'link', 'show']);
  return (JSON.parse(out || '[]') as { ifname: string }[]).map((link) => link.ifname);
}

/** Global-scope addresses of a link, `ADDRESS/PREFIX`; empty when the link is missing. */
export async function globalAddresses(netns: TestNetns, ifName: string): Promise<string[]> {
  const result = await netns.exec(['ip', '-j', 'addr', 'show', 'dev', ifName]);
  if (result.code !== 0) return [];
  const links = JSON.parse(result.stdout || '[]') as { addr_info?: { local: string; prefixlen: number; scope: string }[] }[];
  return (links[0]?.addr_info ?? []).filter((entry) => entry.scope === 'global').map((entry) => `${entry.local}/${entry.prefixlen}`);
}

/** host-local / berth-ipam reservations: files named after addresses in DATADIR/NETWORK. */
export async function reservedAddresses(dataDir: string, network: string): Promise<string[]> {
  const names = await readdir(join(dataDir, network)).catch(() => [] as string[]);
  return names.filter((name) => /^[0-9a-f:.]+$/i.test(name) && /[.:]/.test(name));
}

/** Every packet-filter rule of the netns as text: nft (Berth's tables, and iptables-nft's) and legacy iptables. */
export async function rulesetText(netns: TestNetns): Promise<string> {
  const parts = await Promise.all([
    netns.exec(['nft', 'list', 'ruleset']),
    netns.exec(['iptables-legacy-save']),
    netns.exec(['ip6tables-legacy-save']),
  ]);
  return parts.map((part) => part.stdout).join('\n');
}
