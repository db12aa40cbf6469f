import { closeSync, openSync, fstatSync } from 'node:fs';
import { openSocketPeer, sameNetns, type NetnsId } from '@berth/netns-napi';

/** Where a served call's host side goes, and what to release when the call is over. */
export interface CallerNamespaces {
  /** undefined when the caller shares this process's netns; else a path naming the caller's netns. */
  readonly hostNetns: string | undefined;
  readonly pid: number;
  release(): void;
}

/** Why a caller is not served (the shim then execs the plugin itself, in its own namespaces). */
export interface CallerDeclined {
  readonly declined: string;
}

export interface OwnNamespaces {
  readonly netns: NetnsId;
  readonly mntns: NetnsId;
}

function idOfPath(path: string): NetnsId {
  const fd = openSync(path, 'r');
  try {
    const st = fstatSync(fd, { bigint: true });
    return { dev: st.dev, ino: st.ino };
  } finally {
    closeSync(fd);
  }
}

/** This process's network and mount namespaces (of the main thread, where every served call runs). */
export function ownNamespaces(): OwnNamespaces {
  return { netns: idOfPath('/proc/thread-self/ns/net'), mntns: idOfPath('/proc/thread-self/ns/mnt') };
}

/**
 * Identifies the process at the other end of a connected unix socket (SO_PEERCRED) and holds its network namespace
 * open. Served only when it is root (uid 0) and shares this process's mount namespace (CNI_NETNS and state paths
 * must mean the same files here); its netns may differ: the host side of the call then goes there.
 */
export function identifyCaller(socketFd: number, own: OwnNamespaces): CallerNamespaces | CallerDeclined {
  let peer;
  try {
    peer = openSocketPeer(socketFd);
  } catch (error) {
    return { declined: `cannot identify the caller: ${error instanceof Error ? error.message : String(error)}` };
  }
  if (peer.uid !== 0) {
    peer.close();
    return { declined: `caller pid ${peer.pid} runs as uid ${peer.uid}, not root` };
  }
  if (!sameNetns(peer.mntns, own.mntns)) {
    peer.close();
    return { declined: `caller pid ${peer.pid} is in another mount namespace` };
  }
  const sameHost = sameNetns(peer.netns, own.netns);
  return {
    pid: peer.pid,
    hostNetns: sameHost ? undefined : `/proc/self/fd/${peer.netnsFd}`,
    release: () => peer.close(),
  };
}
