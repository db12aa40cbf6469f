export { NetnsError } from './errors.js';
export {
  NETNS_RUN_DIR, THREAD_NETNS_PATH, type NetnsId,
  createNamedNetns, deleteNamedNetns, namedNetnsPath, withNetns, netnsId, currentNetnsId, sameNetns,
  pinNamespace, unpinNamespace,
} from './netns.js';
export { bindIntoMountNamespace, type BindIntoMountNamespaceOptions } from './mount-namespace.js';
export {
  mount, umount2,
  MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT, MS_BIND, MS_MOVE, MS_REC, MS_PRIVATE, MS_SLAVE, MS_SHARED,
  MS_UNBINDABLE, MNT_FORCE, MNT_DETACH, MNT_EXPIRE, UMOUNT_NOFOLLOW,
} from './mount.js';
export { tryLockFile, lockFile, type ReleaseLock, type LockWait } from './lock.js';
export { peerCredentials, setDumpable, type PeerCredentials } from './process.js';
export { openSocketPeer, type SocketPeer } from './peer.js';
