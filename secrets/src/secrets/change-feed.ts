import { grantCollection, secretMetaCollection, tasksPrefix } from './schema.js';

/** What a store change can matter to: a secret's metadata, a grant, a host's tasks, or (a resync) everything. */
export type StoreChange =
  | { readonly kind: 'meta'; readonly secret: string }
  | { readonly kind: 'grant'; readonly secret: string; readonly service: string }
  | { readonly kind: 'task'; readonly nodeId: string }
  | { readonly kind: 'all' };

/** What one waiting host's assignments depend on, from its last plan. */
export interface Interest {
  readonly nodeId: string;
  readonly secrets: ReadonlySet<string>;
  readonly services: ReadonlySet<string>;
}

export function classifyKey(key: string): StoreChange {
  if (key.startsWith(secretMetaCollection.prefix)) return { kind: 'meta', secret: key.slice(secretMetaCollection.prefix.length) };
  if (key.startsWith(grantCollection.prefix)) {
    const [secret = '', service = ''] = key.slice(grantCollection.prefix.length).split(':');
    return { kind: 'grant', secret, service };
  }
  if (key.startsWith(tasksPrefix)) return { kind: 'task', nodeId: key.slice(tasksPrefix.length).split('/')[0] ?? '' };
  return { kind: 'all' };
}

export function concerns(change: StoreChange, interest: Interest): boolean {
  switch (change.kind) {
    case 'meta': return interest.secrets.has(change.secret);
    case 'grant': return interest.services.has(change.service);
    case 'task': return change.nodeId === interest.nodeId;
    case 'all': return true;
  }
}

/** Changes remembered for waiters that planned before them and register after (a bounded window). */
export const recentChangesMax = 4_096;

/**
 * Wakes a waiting long poll only for changes that concern it: a rotation of secret A wakes the hosts whose
 * containers get A, not every host. Changes between a waiter's plan and its registration are not lost: the feed
 * keeps the recent ones by generation (past the window, the waiter is simply woken).
 */
export class ChangeFeed {
  #generation = 0;
  readonly #recent: Array<{ readonly generation: number; readonly change: StoreChange }> = [];
  readonly #waiters = new Set<{ readonly interest: Interest; readonly wake: () => void }>();

  get generation(): number { return this.#generation; }

  publish(changes: readonly StoreChange[]): void {
    for (const change of changes) {
      this.#generation += 1;
      this.#recent.push({ generation: this.#generation, change });
      if (this.#recent.length > recentChangesMax) this.#recent.shift();
      for (const waiter of [...this.#waiters]) if (concerns(change, waiter.interest)) waiter.wake();
    }
  }

  /** Resolves on a change after generation `since` that concerns `interest`, or after `waitMs`. */
  changeAfter(interest: Interest, since: number, waitMs: number): Promise<void> {
    const oldest = this.#recent[0]?.generation ?? this.#generation + 1;
    const missed = since + 1 < oldest || this.#recent.some((entry) => entry.generation > since && concerns(entry.change, interest));
    if (missed) return Promise.resolve();
    return new Promise((resolve) => {
      const waiter = {
        interest,
        wake: (): void => {
          clearTimeout(timer);
          this.#waiters.delete(waiter);
          resolve();
        },
      };
      const timer = setTimeout(waiter.wake, Math.max(0, waitMs));
      this.#waiters.add(waiter);
    });
  }

  wakeAll(): void {
    for (const waiter of [...this.#waiters]) waiter.wake();
  }
}
