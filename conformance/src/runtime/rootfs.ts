import { execFileSync } from 'node:child_process';
import { copyFile, mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { defaultSpec } from '@berth/runtime';

const busyboxPathDefault = '/bin/busybox'; // Debian's busybox-static (scripts/setup.sh installs it)

/** The directories an OCI bundle's default mounts land on, made up front so a read-only rootfs needs no mkdir. */
const directories = ['bin', 'dev', 'etc', 'proc', 'sys', 'tmp', 'root', 'run', 'mnt', 'var/tmp', 'home/user'];

let applets: readonly string[] | undefined;

function busyboxApplets(busybox: string): readonly string[] {
  applets ??= execFileSync(busybox, ['--list'], { encoding: 'utf8' }).split('\n').filter((name) => name !== '' && name !== 'busybox');
  return applets;
}

/**
 * A minimal container root in `dir`: a static busybox in /bin with one symlink per applet (sh, ls, cat, …), the
 * mount points of runc's default spec, and an /etc/passwd and /etc/group with root, a user (1000) and nobody.
 * Shared by the runtime conformance suite, `berth run`'s tests and the demo. Returns `dir`.
 */
export async function buildBusyboxRootfs(dir: string, busybox = busyboxPathDefault): Promise<string> {
  for (const directory of directories) await mkdir(join(dir, directory), { recursive: true });
  await copyFile(busybox, join(dir, 'bin/busybox'));
  for (const applet of busyboxApplets(busybox)) await symlink('busybox', join(dir, 'bin', applet));
  await writeFile(join(dir, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n');
  await writeFile(join(dir, 'etc/group'), 'root:x:0:\ntty:x:5:\nuser:x:1000:\nnogroup:x:65534:\n');
  return dir;
}

export type BundleConfig = ReturnType<typeof defaultSpec> & {
  process: Record<string, unknown>;
  linux: Record<string, unknown>;
  mounts: Record<string, unknown>[];
  root: { path: string; readonly: boolean };
};

/**
 * runc's default config.json (`spec`) for a bundle built in code: the given rootfs (absolute, so many bundles can
 * share one read-only rootfs), args, no terminal, and a writable tmpfs at /tmp.
 */
export function baseConfig(rootfs: string, args: readonly string[]): BundleConfig {
  const config = structuredClone(defaultSpec()) as BundleConfig;
  config.process = { ...config.process, terminal: false, args: [...args] };
  config.root = { path: rootfs, readonly: true };
  config.mounts.push({ destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=1777', 'size=16m'] });
  return config;
}

/** Writes `config` as `dir`/config.json (making dir), ready for `create --bundle dir`. */
export async function writeBundle(dir: string, config: unknown): Promise<string> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'config.json'), JSON.stringify(config, null, 2));
  return dir;
}
