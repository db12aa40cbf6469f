/**
 * The CNI config directory (`$BERTH_CNI_CONF_DIR`, default /etc/cni/net.d) where networks live as conflists, and the
 * berth-ipam stores that say which containers are attached. Writes are atomic (write, then rename).
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join } from 'node:path';
import { ipamDefaultDataDir } from '@berth/cni';
import { plugins } from './conflist.js';

export const cniConfDirDefault = '/etc/cni/net.d';
/** Conflists scanned per directory, and attachments shown per network: bounds on what a command reads. */
const conflistsMax = 4096;
const attachmentsMax = 65_536;

export interface NetworkFile { readonly name: string; readonly file: string; readonly conflist: Record<string, unknown> }
export interface Attachment { readonly address: string; readonly containerId: string; readonly ifName: string }

export function confDirFrom(env: NodeJS.ProcessEnv): string {
  return env['BERTH_CNI_CONF_DIR'] || cniConfDirDefault;
}

/** Every conflist of the directory that parses, by file name order. */
export function readNetworks(dir = confDirFrom(process.env)): NetworkFile[] {
  const names = existsSync(dir) ? readdirSync(dir).filter((name) => name.endsWith('.conflist')).sort().slice(0, conflistsMax) : [];
  const out: NetworkFile[] = [];
  for (const name of names) {
    try {
      const conflist = JSON.parse(readFileSync(join(dir, name), 'utf8')) as Record<string, unknown>;
      if (typeof conflist['name'] === 'string') out.push({ name: conflist['name'], file: join(dir, name), conflist });
    } catch {
      // Not JSON or unreadable: not a network this command can describe.
    }
  }
  return out;
}

/** Writes `<dir>/<name>.conflist` (0644) by write-then-rename: an engine reading the directory sees the old or the new. */
export function writeConflistFile(dir: string, name: string, conflist: Record<string, unknown>): string {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const file = join(dir, `${name}.conflist`);
  writeFileSync(`${file}.tmp`, `${JSON.stringify(conflist, null, 2)}\n`, { mode: 0o644 });
  renameSync(`${file}.tmp`, file);
  return file;
}

export function removeConflistFile(file: string): void {
  rmSync(file, { force: true });
}

/** Addresses reserved in the network's berth-ipam store: the containers attached to it. */
export function attachmentsOf(network: NetworkFile, env: NodeJS.ProcessEnv = process.env): Attachment[] {
  const ipam = plugins(network.conflist)[0]?.['ipam'] as { type?: unknown; dataDir?: unknown } | undefined;
  if (ipam?.type !== 'berth-ipam' && ipam?.type !== 'host-local') return [];
  const dataDir = typeof ipam.dataDir === 'string' && isAbsolute(ipam.dataDir) ? ipam.dataDir : ipamDefaultDataDir(env);
  const dir = join(dataDir, network.name);
  const names = existsSync(dir) ? readdirSync(dir).filter((entry) => /^[0-9a-f.:]+$/i.test(entry) && /[.:]/.test(entry)).slice(0, attachmentsMax) : [];
  return names.map((address) => {
    const [containerId = '', ifName = ''] = readFileSync(join(dir, address), 'utf8').split(/\r?\n/).map((line) => line.trim());
    return { address, containerId, ifName };
  });
}

export function berthPluginDir(): string {
  return join(dirname(createRequire(import.meta.url).resolve('@berth/cni')), '..', '..', 'bin');
}
