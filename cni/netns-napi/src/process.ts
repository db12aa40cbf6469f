import { native } from './native.js';
import { toNetnsError } from './errors.js';

/** Who is on the other end of a connected unix socket, as the kernel recorded it at connect() (SO_PEERCRED). */
export interface PeerCredentials {
  readonly pid: number;
  readonly uid: number;
  readonly gid: number;
}

export function peerCredentials(fd: number): PeerCredentials {
  if (!Number.isInteger(fd) || fd < 0) throw new TypeError(`peerCredentials needs a file descriptor, got ${fd}`);
  try {
    return native.peerCredentials(fd);
  } catch (error) {
    throw toNetnsError(error, 'read the peer credentials', `fd ${fd}`);
  }
}

/** prctl(PR_SET_DUMPABLE): `false` keeps this process out of core dumps and /proc/PID/mem of other users. */
export function setDumpable(dumpable: boolean): void {
  try {
    native.setDumpable(dumpable);
  } catch (error) {
    throw toNetnsError(error, `set the process ${dumpable ? '' : 'non-'}dumpable`, 'PR_SET_DUMPABLE');
  }
}
