import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { NftError } from '../src/index.js';

export interface TestNetns {
  readonly name: string;
  readonly path: string;
}

interface Teardown {
  teardown(fn: () => unknown): void;
}

export const uniqueName = (tag: string): string => `${tag}-${randomBytes(4).toString('hex')}`;

/** A fresh netns `bt-nft-<random>`; teardown deletes it even when the test fails half-way. */
export function createTestNetns(t: Teardown): TestNetns {
  const name = uniqueName('bt-nft');
  execFileSync('ip', ['netns', 'add', name]);
  t.teardown(() => execFileSync('ip', ['netns', 'del', name]));
  return { name, path: `/run/netns/${name}` };
}

/** Runs the nft CLI inside a test netns: an observer independent of the binding. */
export function nftCliIn(netns: TestNetns, args: readonly string[]): string {
  return execFileSync('nsenter', [`--net=${netns.path}`, 'nft', ...args], { encoding: 'utf8' });
}

/** Read-only look at the root netns' tables. */
export function rootTables(): string {
  return execFileSync('nft', ['list', 'tables'], { encoding: 'utf8' });
}

/** Calls fn and returns the NftError it throws; fails the test (by throwing) when it throws nothing or else. */
export function nftErrorOf(fn: () => unknown): NftError {
  try {
    fn();
  } catch (error) {
    if (error instanceof NftError) return error;
    throw error;
  }
  throw new Error('expected an NftError, but nothing was thrown');
}
