import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

import type { PeerCredentials } from './process.js';

/** The addon's surface (native/netns.cc). Every function throws an Error with `errno` and `syscall` on failure. */
export interface NativeNetns {
  setns(fd: number, nstype: number): void;
  unshareNetnsBoundTo(target: string): void;
  mount(source: string | null, target: string, fstype: string | null, flags: number, data: string | null): void;
  umount2(target: string, flags: number): void;
  bindIntoMountNamespace(sourceNsFd: number, source: string, targetNsFd: number, root: string, relativeTarget: string): void;
  tryFlockExclusive(fd: number): boolean;
  peerCredentials(fd: number): PeerCredentials;
  setDumpable(flag: boolean): void;
  peerHungUp(fd: number): boolean;
  constants: Readonly<Record<NativeConstantName, number>>;
}

export type NativeConstantName =
  | 'CLONE_NEWNET' | 'CLONE_NEWNS' | 'MS_RDONLY' | 'MS_NOSUID' | 'MS_NODEV' | 'MS_NOEXEC' | 'MS_REMOUNT' | 'MS_BIND' | 'MS_MOVE'
  | 'MS_REC' | 'MS_PRIVATE' | 'MS_SLAVE' | 'MS_SHARED' | 'MS_UNBINDABLE' | 'MNT_FORCE' | 'MNT_DETACH' | 'MNT_EXPIRE'
  | 'UMOUNT_NOFOLLOW';

// Compiled code runs from dist/src/, tests run src/ directly: the addon is in build/Release of the package root.
const candidates = ['../build/Release/netns.node', '../../build/Release/netns.node']
  .map((relative) => fileURLToPath(new URL(relative, import.meta.url)));
const addonPath = candidates.find((candidate) => existsSync(candidate));
if (addonPath === undefined) {
  throw new Error(`@berth/netns-napi: native addon not built (looked for ${candidates.join(', ')}); run npm run build`);
}
export const native = createRequire(import.meta.url)(addonPath) as NativeNetns;
