import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A set of CNI plugins under test: a directory of executables and how their types are named. */
export interface CniImplementation {
  /** Column title in the side-by-side table. */
  readonly label: string;
  readonly pluginDir: string;
  /** Prefix of every plugin type: "berth-" for Berth, "" for the reference plugins. */
  readonly typePrefix: string;
  /** The host-local compatible IPAM's type; default `${typePrefix}ipam`, or "host-local" without a prefix. */
  readonly ipamType?: string;
  /** Environment every plugin call gets, as an engine's own would carry it (Berth: BERTH_SOCKET, see modes.ts). */
  readonly env?: Readonly<Record<string, string>>;
}

/** The plugin roles the scenarios use, by the reference plugins' names. */
export type PluginRole = 'bridge' | 'portmap' | 'host-device';

export function pluginType(implementation: CniImplementation, role: PluginRole): string {
  return `${implementation.typePrefix}${role}`;
}

export function ipamType(implementation: CniImplementation): string {
  return implementation.ipamType ?? (implementation.typePrefix === '' ? 'host-local' : `${implementation.typePrefix}ipam`);
}

/** cni/bin of this checkout, found upwards from this file (it runs from src/ in tests and from dist/src/ compiled). */
function berthBinDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 8; depth += 1) {
    const candidate = join(dir, 'cni', 'bin');
    if (existsSync(join(candidate, 'berth-bridge'))) return candidate;
    dir = dirname(dir);
  }
  throw new Error(`Cannot find cni/bin above ${fileURLToPath(import.meta.url)}`);
}

export const berthImplementation: CniImplementation = {
  label: 'berth',
  pluginDir: berthBinDir(),
  typePrefix: 'berth-',
};

/** Debian's containernetworking-plugins. */
export const referenceImplementation: CniImplementation = {
  label: 'reference',
  pluginDir: '/usr/lib/cni',
  typePrefix: '',
};
