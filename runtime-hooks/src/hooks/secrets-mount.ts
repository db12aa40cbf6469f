/**
 * createContainer: berthd's per-container secrets tmpfs, bound read-only at /run/secrets in the container's mount
 * namespace. The runtime runs this hook inside the container's namespaces before pivot_root (runtime-spec), so the
 * target is `<rootfs>/run/secrets` there; the tmpfs was mounted (by berthd, during createRuntime) in the runtime's
 * namespace after the container's was made, so it is cloned from there (found among this hook's ancestors).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bindIntoMountNamespace } from '@berth/netns-napi';
import { HookCode, HookError } from './errors.js';
import { ancestorMountNamespace, namespaceKey } from './process.js';

export const secretsTarget = 'run/secrets';
const ownMountNamespace = '/proc/thread-self/ns/mnt';

export interface SecretsMountRequest {
  readonly secretsDir: string;
  readonly rootfs: string;
  /** The mount namespace the createRuntime stage ran in (`dev:ino`). */
  readonly runtimeMountNamespace: string;
  /** The container's first process as createRuntime saw it (a pid in the runtime's pid namespace). */
  readonly pid: number;
}

function mountedAt(mountinfo: string, path: string): boolean {
  return readFileSync(mountinfo, 'utf8').split('\n').some((line) => line.split(' ')[4] === path);
}

/** Binds the secrets; returns the mount point (as seen in the container's namespace before pivot_root). Idempotent. */
export function bindSecrets(request: SecretsMountRequest): string {
  const target = join(request.rootfs, secretsTarget);
  const own = namespaceKey(ownMountNamespace);
  // Compliant runtimes run us in the container's namespace; one that runs us in its own gets the container's by pid.
  const inContainer = own !== request.runtimeMountNamespace;
  const targetNamespace = inContainer ? ownMountNamespace : `/proc/${request.pid}/ns/mnt`;
  const sourceNamespace = inContainer ? ancestorMountNamespace(request.runtimeMountNamespace) : undefined;
  if (inContainer && sourceNamespace === undefined) {
    throw new HookError(HookCode.MountFailed, `Cannot bind secrets at /run/secrets: no ancestor of this hook runs in the runtime's mount namespace ${request.runtimeMountNamespace}`);
  }
  if (mountedAt(inContainer ? '/proc/thread-self/mountinfo' : `/proc/${request.pid}/mountinfo`, target)) return target;
  try {
    bindIntoMountNamespace({ source: request.secretsDir, targetNamespace, root: request.rootfs, target: secretsTarget, ...(sourceNamespace === undefined ? {} : { sourceNamespace }) });
  } catch (error) {
    throw new HookError(HookCode.MountFailed, `Cannot bind ${request.secretsDir} at /run/secrets: ${(error as Error).message}`, { cause: error });
  }
  return target;
}
