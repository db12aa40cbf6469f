import { existsSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { SpecError } from './errors.js';
import { isBindMount, parseMountOptions } from './mount-options.js';
import type { ResolvedMount } from './plan-mounts.js';
import { withHome } from './plan-process.js';
import { resolveInRootfs, resolveRootfs } from './rootfs-paths.js';
import type { Spec } from './spec.js';
import { parseSpec } from './validate.js';

/** A bundle read, validated and resolved on the host — everything decided before anything is created. */
export interface PreparedBundle {
  readonly bundle: string;
  readonly configText: string;
  readonly spec: Spec;
  readonly rootfs: string;
  readonly mounts: readonly ResolvedMount[];
  readonly env: readonly string[];
}

const passwdBytesMax = 1 << 20;

export function readBundleConfig(bundle: string): string {
  try {
    return readFileSync(join(bundle, 'config.json'), 'utf8');
  } catch (error) {
    throw new SpecError('config.json', `cannot read ${join(bundle, 'config.json')}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

export function prepareBundle(bundleArgument: string): PreparedBundle {
  const bundle = resolve(bundleArgument);
  const configText = readBundleConfig(bundle);
  const spec = parseSpec(configText);
  refuseUnenforceableLabels(spec);
  const rootfs = resolveRootfs(bundle, spec.root.path);
  const mounts = spec.mounts.map((mount, index): ResolvedMount => {
    const field = `mounts[${index}]`;
    const options = parseMountOptions(mount.options);
    const target = resolveInRootfs(rootfs, mount.destination, `${field}.destination`);
    if (!isBindMount(mount.type, options)) return { mount, target, source: mount.source, sourceIsFile: false, options };
    const source = isAbsolute(mount.source) ? mount.source : join(bundle, mount.source);
    let sourceIsFile: boolean;
    try {
      sourceIsFile = !statSync(source).isDirectory();
    } catch {
      throw new SpecError(`${field}.source`, `bind source ${source} does not exist`);
    }
    return { mount, target, source, sourceIsFile, options };
  });
  return { bundle, configText, spec, rootfs, mounts, env: withHome(spec.process.env, spec.process.user.uid, readPasswd(rootfs)) };
}

/**
 * As runc, an AppArmor profile or SELinux label is ignored on a host that does not enforce that policy; where it
 * does, berth-runtime cannot apply it, so it refuses rather than run the container less confined than asked.
 */
function refuseUnenforceableLabels(spec: Spec): void {
  if (spec.process.apparmorProfile !== undefined && readFlag('/sys/module/apparmor/parameters/enabled') === 'Y') {
    throw new SpecError('process.apparmorProfile', 'AppArmor is enabled on this host and berth-runtime cannot apply profiles');
  }
  if (spec.process.selinuxLabel !== undefined && existsSync('/sys/fs/selinux/enforce')) {
    throw new SpecError('process.selinuxLabel', 'SELinux is enabled on this host and berth-runtime cannot apply labels');
  }
}

function readFlag(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** The container's /etc/passwd, when it is a regular, small file (a hostile rootfs could put a fifo or a huge file there). */
export function readPasswd(rootfs: string): string | undefined {
  let path: string;
  try {
    path = resolveInRootfs(rootfs, '/etc/passwd', 'process.env');
  } catch {
    return undefined;
  }
  const stat = existsSync(path) ? statSync(path) : undefined;
  return stat?.isFile() === true && stat.size <= passwdBytesMax ? readFileSync(path, 'utf8') : undefined;
}
