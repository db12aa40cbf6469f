/** Names of the table's objects: derived from content by hashing, never from counters, so compiles are pure. */
import { createHash } from 'node:crypto';
import type { Family } from '../model/address.js';
import type { Direction } from '../evaluate/context.js';
import type { ActionChain } from './ir.js';

const chainNameLengthMax = 200;
const logPrefixLengthMax = 120;

export function hash(text: string, length: number): string {
  return createHash('sha256').update(text).digest('hex').slice(0, length);
}

export function groupName(direction: Direction, family: Family, identity: string): string {
  return `${direction === 'ingress' ? 'in' : 'eg'}${family}-${hash(identity, 16)}`;
}

/** The shared set of the addresses (of one family) a selector picks; `selectionKey` identifies the selector. */
export function selectionSetName(family: Family, selectionKey: string): string {
  return `sel${family}-${hash(selectionKey, 16)}`;
}

/** Chain names are at most 255 bytes in the kernel; long policy names are shortened with a hash. */
export function actionChainName(action: string): string {
  return action.length <= chainNameLengthMax ? action : `${action.slice(0, chainNameLengthMax - 17)}~${hash(action, 16)}`;
}

/**
 * The key part that says which monitor chain recorded a hit in the shared monitor-hit sets: 32 bits of the chain
 * name's hash. nft types a set key of at most five parts, the other four being the packet's, so this cannot be
 * wider: two of a thousand monitor chains share a tag once in ~10 000 tables, and the reader then names both.
 */
export function monitorTag(chain: string): number {
  return Number.parseInt(hash(chain, 8), 16);
}

/** `action`: the evaluator's `drop/…` or `monitor/…` id (see actionOf in group.ts). */
export function actionChain(action: string): ActionChain {
  const verb = action.startsWith('monitor/') ? 'monitor' : 'drop';
  const prefix = `berth-fw ${action}: `;
  return {
    name: actionChainName(action),
    verb,
    logPrefix: prefix.length <= logPrefixLengthMax ? prefix : `${prefix.slice(0, logPrefixLengthMax - 3)}~: `,
  };
}
