import { readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { HookCode, HookError } from './errors.js';

/** What the hooks need from a bundle's config.json. */
export interface BundleFacts {
  /** The rootfs as an absolute path (config `root.path`, relative to the bundle when relative). */
  readonly rootfs: string;
  /** The network namespace: `new` (the runtime made one), a path it joined, or `host` (none listed: shared). */
  readonly network: { readonly kind: 'new' } | { readonly kind: 'path'; readonly path: string } | { readonly kind: 'host' };
}

const configBytesMax = 4 * 1024 * 1024;

/** Reads `<bundle>/config.json` (the runtime's, trusted as the runtime is) for the rootfs and the network namespace. */
export function readBundleFacts(bundle: string): BundleFacts {
  const file = join(bundle, 'config.json');
  let config: { root?: { path?: unknown }; linux?: { namespaces?: unknown } };
  try {
    const text = readFileSync(file, 'utf8');
    if (text.length > configBytesMax) throw new Error(`larger than ${configBytesMax} bytes`);
    config = JSON.parse(text) as typeof config;
  } catch (error) {
    throw new HookError(HookCode.InvalidInput, `Cannot read the bundle's ${file}: ${(error as Error).message}`);
  }
  const rootPath = config.root?.path;
  if (typeof rootPath !== 'string' || rootPath === '') throw new HookError(HookCode.InvalidInput, `${file} has no root.path`);
  const namespaces = Array.isArray(config.linux?.namespaces) ? config.linux.namespaces as { type?: unknown; path?: unknown }[] : [];
  const entry = namespaces.find((item) => item.type === 'network');
  const network: BundleFacts['network'] = entry === undefined
    ? { kind: 'host' }
    : typeof entry.path === 'string' && entry.path !== '' ? { kind: 'path', path: entry.path } : { kind: 'new' };
  return { rootfs: isAbsolute(rootPath) ? rootPath : resolve(bundle, rootPath), network };
}
