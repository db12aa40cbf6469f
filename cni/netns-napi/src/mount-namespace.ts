import { closeSync, constants as fsConstants, openSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { native } from './native.js';
import { NetnsError, toNetnsError } from './errors.js';

export interface BindIntoMountNamespaceOptions {
  /** The mount namespace `source` is resolved in (e.g. /proc/PID/ns/mnt); default: the caller's. */
  readonly sourceNamespace?: string;
  /** Absolute path of the directory to bind. */
  readonly source: string;
  /** The mount namespace to attach it in (e.g. /proc/PID/ns/mnt of a container's first process). */
  readonly targetNamespace: string;
  /** Absolute directory in the target namespace under which `target` is resolved (a container's rootfs). */
  readonly root: string;
  /** Relative path under `root` (e.g. run/secrets): created when missing; a symlink on the way is refused (ENOTDIR). */
  readonly target: string;
}

const OPEN_NS_FLAGS = fsConstants.O_RDONLY | fsConstants.O_NONBLOCK | fsConstants.O_NOCTTY;

function openNamespace(path: string): number {
  try {
    return openSync(path, OPEN_NS_FLAGS);
  } catch (error) {
    throw toNetnsError(error, `open mount namespace ${path}`, path);
  }
}

/**
 * Binds `source` read-only (also nosuid, nodev, noexec) at `root/target` inside another mount namespace, without
 * the calling thread ever leaving its own: a short-lived native thread with its own fs context does the setns,
 * open_tree, mount_setattr and move_mount. Because the source is cloned as a detached mount in its own namespace,
 * it need not be visible (propagated) in the target namespace.
 */
export function bindIntoMountNamespace(options: BindIntoMountNamespaceOptions): void {
  const { source, root, target } = options;
  if (!isAbsolute(source) || !isAbsolute(root)) throw new NetnsError('EINVAL', 'validate', source, `Cannot bind ${source} under ${root}: both must be absolute paths`);
  if (target === '' || isAbsolute(target) || target.split('/').some((part) => part === '..' || part === '.')) {
    throw new NetnsError('EINVAL', 'validate', target, `Cannot bind at ${JSON.stringify(target)}: expected a relative path without "." or ".."`);
  }
  const sourceFd = options.sourceNamespace === undefined ? -1 : openNamespace(options.sourceNamespace);
  try {
    const targetFd = openNamespace(options.targetNamespace);
    try {
      native.bindIntoMountNamespace(sourceFd, source, targetFd, root, target);
    } catch (error) {
      throw toNetnsError(error, `bind ${source} at ${root}/${target} in mount namespace ${options.targetNamespace}`, `${root}/${target}`);
    } finally {
      closeSync(targetFd);
    }
  } finally {
    if (sourceFd >= 0) closeSync(sourceFd);
  }
}
