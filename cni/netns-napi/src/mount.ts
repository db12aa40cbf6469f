import { native } from './native.js';
import { toNetnsError } from './errors.js';

const c = native.constants;
export const MS_RDONLY: number = c.MS_RDONLY;
export const MS_NOSUID: number = c.MS_NOSUID;
export const MS_NODEV: number = c.MS_NODEV;
export const MS_NOEXEC: number = c.MS_NOEXEC;
export const MS_REMOUNT: number = c.MS_REMOUNT;
export const MS_BIND: number = c.MS_BIND;
export const MS_MOVE: number = c.MS_MOVE;
export const MS_REC: number = c.MS_REC;
export const MS_PRIVATE: number = c.MS_PRIVATE;
export const MS_SLAVE: number = c.MS_SLAVE;
export const MS_SHARED: number = c.MS_SHARED;
export const MS_UNBINDABLE: number = c.MS_UNBINDABLE;
export const MNT_FORCE: number = c.MNT_FORCE;
export const MNT_DETACH: number = c.MNT_DETACH;
export const MNT_EXPIRE: number = c.MNT_EXPIRE;
export const UMOUNT_NOFOLLOW: number = c.UMOUNT_NOFOLLOW;

/**
 * mount(2). `source` and `fstype` may be empty strings where the kernel ignores them (bind, propagation changes);
 * those are passed as NULL. Throws NetnsError (code = errno name).
 */
export function mount(source: string, target: string, fstype: string, flags: number, data?: string): void {
  if (!Number.isInteger(flags) || flags < 0) throw new TypeError(`mount flags must be a non-negative integer, got ${flags}`);
  try {
    native.mount(source === '' ? null : source, target, fstype === '' ? null : fstype, flags, data ?? null);
  } catch (error) {
    throw toNetnsError(error, `mount ${fstype === '' ? source : fstype} on ${target}`, target);
  }
}

/** umount2(2). Throws NetnsError (EINVAL when `target` is not a mount point, ENOENT when it does not exist). */
export function umount2(target: string, flags: number): void {
  if (!Number.isInteger(flags) || flags < 0) throw new TypeError(`umount2 flags must be a non-negative integer, got ${flags}`);
  try {
    native.umount2(target, flags);
  } catch (error) {
    throw toNetnsError(error, `unmount ${target}`, target);
  }
}
