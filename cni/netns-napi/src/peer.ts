import { closeSync, constants as fsConstants, fstatSync, openSync } from 'node:fs';
import { NetnsError, toNetnsError } from './errors.js';
import { native } from './native.js';
import { peerCredentials, type PeerCredentials } from './process.js';
import type { NetnsId } from './netns.js';

/**
 * The process at the other end of a connected unix socket and its network and mount namespaces, held open as file
 * descriptors so they stay valid (and stay the peer's) however long the caller works with them.
 */
export interface SocketPeer extends PeerCredentials {
  readonly netnsFd: number;
  readonly mntnsFd: number;
  readonly netns: NetnsId;
  readonly mntns: NetnsId;
  /** Closes both descriptors; calling it twice is harmless. */
  close(): void;
}

const OPEN_NS_FLAGS = fsConstants.O_RDONLY | fsConstants.O_NONBLOCK | fsConstants.O_NOCTTY;

function idOf(fd: number): NetnsId {
  const st = fstatSync(fd, { bigint: true });
  return { dev: st.dev, ino: st.ino };
}

/**
 * SO_PEERCRED of socket `fd`, then the peer's /proc/PID/ns/net and ns/mnt opened. The pid is the peer's as of
 * connect(2); it names the peer only while the peer lives, so the socket is checked for a hang-up *after* the opens:
 * a peer still connected then was alive during the opens (a process that exited cannot come back), so the files are
 * its namespaces and not those of a process that reused its pid. A peer that hung up is NetnsError ECONNRESET.
 * The peer must be single-threaded (or connect from its main thread): /proc/PID names the thread-group leader.
 */
export function openSocketPeer(fd: number): SocketPeer {
  const credentials: PeerCredentials = peerCredentials(fd);
  const opened: number[] = [];
  const release = (): void => { for (const each of opened.splice(0)) closeSync(each); };
  try {
    for (const kind of ['net', 'mnt']) {
      const path = `/proc/${credentials.pid}/ns/${kind}`;
      try {
        opened.push(openSync(path, OPEN_NS_FLAGS));
      } catch (error) {
        throw toNetnsError(error, `open the ${kind} namespace of socket peer ${credentials.pid}`, path);
      }
    }
    if (native.peerHungUp(fd)) {
      throw new NetnsError('ECONNRESET', 'poll', `fd ${fd}`, `Cannot identify socket peer ${credentials.pid}: it hung up`);
    }
    const [netnsFd = -1, mntnsFd = -1] = opened;
    return {
      ...credentials, netnsFd, mntnsFd, netns: idOf(netnsFd), mntns: idOf(mntnsFd),
      close: release,
    };
  } catch (error) {
    release();
    throw error;
  }
}
