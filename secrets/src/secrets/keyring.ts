import type { Logger } from '@berth/cni';
import type { WatchHandle } from '../store/kv-store.js';
import { absent } from '../store/revision.js';
import type { Store, Versioned } from '../store/typed-store.js';
import type { NodePaths } from '../cluster/node-state.js';
import { withAudit, type Actor } from './audit.js';
import { loadClusterKey, removeClusterKey, saveClusterKey } from './cluster-key-file.js';
import { formatUnlockKey, newClusterKey, newKey, open, parseUnlockKey, seal, zero, type ClusterKey } from './crypto.js';
import { SecretError, SecretErrorCode } from './errors.js';
import { kekChainCollection, keyringCollection, keyringId, type KeyringRecord } from './schema.js';

export type KeyringState = 'unlocked' | 'locked' | 'unavailable';

/** A manager that missed this many KEK rotations cannot follow them and must rejoin. */
export const kekChainStepsMax = 64;

export interface KeyringOptions {
  readonly store: Store;
  readonly paths: NodePaths;
  readonly nodeId: string;
  /** The KEK handed over by init or a manager join (in memory only when the cluster is autolocked). */
  readonly seed: ClusterKey | undefined;
  readonly logger: Logger;
  /** Told whenever the current KEK changes (or is lost), so the join endpoint hands out the current one. */
  readonly onCurrentKey?: (key: ClusterKey | undefined, autolock: boolean) => void;
}

const sealedKek = (unlockKey: Uint8Array, kek: ClusterKey): string => seal(unlockKey, 'locked-kek', [kek.kekId], kek.key);
const sealedUnlockKey = (kek: ClusterKey, unlockKey: Uint8Array): string => seal(kek.key, 'unlock-key', [kek.kekId], unlockKey);

/**
 * This manager's view of the cluster key (KEK): the keyring record in the store says which KEK is current and
 * whether autolock is on; the keys themselves are held here, in memory, and on disk only while autolock is off.
 * Changes made by other managers arrive by watch and are applied one at a time.
 */
export class Keyring {
  readonly #options: KeyringOptions;
  readonly #keys = new Map<string, Uint8Array>();
  #record: Versioned<KeyringRecord> | undefined;
  #unlockKey: Uint8Array | undefined;
  #watch: WatchHandle | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(options: KeyringOptions) {
    this.#options = options;
  }

  static async open(options: KeyringOptions): Promise<Keyring> {
    const keyring = new Keyring(options);
    const local = options.seed ?? await loadClusterKey(options.paths);
    if (local !== undefined) keyring.#keys.set(local.kekId, new Uint8Array(local.key));
    const { revision } = await keyring.refresh();
    keyring.#watch = options.store.watch(keyringCollection, {
      fromRevision: (revision + 1) as typeof revision,
      onChanges: () => void keyring.refresh().catch((error: unknown) => options.logger.warn({ err: String(error) }, 'keyring refresh failed')),
      onResync: () => void keyring.refresh().catch((error: unknown) => options.logger.warn({ err: String(error) }, 'keyring refresh failed')),
    });
    return keyring;
  }

  get state(): KeyringState {
    if (this.#record === undefined) return 'unavailable';
    if (this.#keys.has(this.#record.value.kekId)) return 'unlocked';
    return this.#record.value.lockedKek === undefined ? 'unavailable' : 'locked';
  }

  get record(): Versioned<KeyringRecord> | undefined { return this.#record; }
  get autolock(): boolean { return this.#record?.value.autolock ?? false; }

  /** The KEK new versions are sealed with, and the keyring revision a write must require (so a concurrent KEK rotation makes it retry). */
  current(): { kek: ClusterKey; keyringRevision: Versioned<KeyringRecord>['modRevision'] } {
    const record = this.#requireUnlocked();
    return { kek: this.keyFor(record.value.kekId), keyringRevision: record.modRevision };
  }

  keyFor(kekId: string): ClusterKey {
    this.#requireUnlocked();
    const key = this.#keys.get(kekId);
    if (key === undefined) throw new SecretError(SecretErrorCode.KeyUnavailable, `Cluster key ${kekId} is not held by this manager (a key rotation it cannot follow); rejoin it to the cluster`);
    return { kekId, key };
  }

  /** Re-reads the record (linearizable) and applies it: follow rotations, keep or drop the disk copy. */
  refresh(): Promise<{ revision: Versioned<KeyringRecord>['modRevision'] }> {
    const run = this.#queue.then(async () => {
      const { store } = this.#options;
      const result = await store.kv.get(keyringCollection.key(keyringId));
      const kv = result.kv;
      const record = kv === undefined ? undefined : { id: keyringId, value: keyringCollection.decode(kv.value, kv.key), modRevision: kv.modRevision, createRevision: kv.createRevision };
      await this.#apply(record);
      return { revision: result.revision };
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /**
   * Loads whatever keys the record needs first and only then makes it the current record, so a concurrent
   * `current()` never sees a record whose KEK is not held yet.
   */
  async #apply(record: Versioned<KeyringRecord> | undefined): Promise<void> {
    const { paths, logger } = this.#options;
    if (record === undefined) {
      this.#record = undefined;
      this.#notify();
      return;
    }
    const value = record.value;
    if (!this.#keys.has(value.kekId)) await this.#followChain(value.kekId);
    const current = this.#keys.get(value.kekId);
    if (current !== undefined && value.rotation !== undefined && !this.#keys.has(value.rotation.fromKekId)) await this.#loadPrevious(value.kekId, current);
    if (this.#record !== undefined && this.#record.modRevision > record.modRevision) return;
    this.#record = record;
    if (current !== undefined) {
      for (const [kekId, key] of this.#keys) {
        if (kekId !== value.kekId && kekId !== value.rotation?.fromKekId) {
          zero(key);
          this.#keys.delete(kekId);
        }
      }
      zero(this.#unlockKey);
      this.#unlockKey = value.unlockKey === undefined ? undefined : open(current, 'unlock-key', [value.kekId], value.unlockKey);
    }
    this.#notify();
    if (value.autolock) await removeClusterKey(paths);
    else if (current !== undefined) await saveClusterKey(paths, { kekId: value.kekId, key: current });
    logger.debug({ kekId: value.kekId, autolock: value.autolock, state: this.state }, 'keyring applied');
  }

  #notify(): void {
    const current = this.#record === undefined ? undefined : this.#keys.get(this.#record.value.kekId);
    this.#options.onCurrentKey?.(current === undefined || this.#record === undefined ? undefined : { kekId: this.#record.value.kekId, key: current }, this.autolock);
  }

  /** From a KEK held here, walk the chain forward (each link sealed by its predecessor) to `target`. */
  async #followChain(target: string): Promise<void> {
    if (this.#keys.size === 0) return;
    const links = (await this.#options.store.list(kekChainCollection)).entries.map((entry) => entry.value);
    for (let step = 0; step < kekChainStepsMax && !this.#keys.has(target); step += 1) {
      const link = links.find((candidate) => this.#keys.has(candidate.previousKekId) && !this.#keys.has(candidate.kekId));
      const previous = link === undefined ? undefined : this.#keys.get(link.previousKekId);
      if (link === undefined || previous === undefined) return;
      const next = open(previous, 'kek-forward', [link.previousKekId, link.kekId], link.forward);
      if (next === undefined) return;
      this.#keys.set(link.kekId, next);
    }
  }

  async #loadPrevious(kekId: string, current: Uint8Array): Promise<void> {
    const link = await this.#options.store.get(kekChainCollection, kekId);
    const previous = link === undefined ? undefined : open(current, 'kek-backward', [link.value.previousKekId, kekId], link.value.backward);
    if (link !== undefined && previous !== undefined) this.#keys.set(link.value.previousKekId, previous);
  }

  #requireUnlocked(): Versioned<KeyringRecord> {
    const record = this.#record;
    const state = this.state;
    if (record === undefined || state === 'unavailable') {
      throw new SecretError(SecretErrorCode.KeyUnavailable, 'This manager does not hold the cluster key; it joined before keys existed or missed too many key rotations: rejoin it');
    }
    if (state === 'locked') throw new SecretError(SecretErrorCode.Locked, 'This manager is locked (autolock): run `berth cluster unlock` with the unlock key');
    return record;
  }

  /** `berth cluster unlock`: opens the KEK sealed by the unlock key. A wrong key changes nothing but the audit log. */
  unlock(keyText: string, actor: Actor): Promise<void> {
    return this.#serial(async () => {
      const record = this.#record;
      if (record === undefined || this.state !== 'locked' || record.value.lockedKek === undefined) {
        throw new SecretError(SecretErrorCode.NotLocked, 'This manager is not locked');
      }
      const unlockKey = parseUnlockKey(keyText);
      const kek = open(unlockKey, 'locked-kek', [record.value.kekId], record.value.lockedKek);
      if (kek === undefined) {
        zero(unlockKey);
        await withAudit(this.#options.store.transaction(), actor, { action: 'unlock-refused' }).commit().catch(() => undefined);
        throw new SecretError(SecretErrorCode.UnlockKeyRejected, 'The unlock key was rejected: it does not open this cluster\'s key');
      }
      this.#keys.set(record.value.kekId, kek);
      zero(unlockKey);
      await withAudit(this.#options.store.transaction(), actor, { action: 'unlock', detail: record.value.kekId }).commit();
      await this.#apply(record);
      this.#options.logger.info({ kekId: record.value.kekId }, 'manager unlocked');
    });
  }

  /** Turns autolock on (a new unlock key, returned once) or off (managers keep the KEK on disk again). */
  setAutolock(enabled: boolean, actor: Actor): Promise<{ unlockKey: string | undefined }> {
    return this.#serial(async () => {
      const record = this.#requireUnlocked();
      const kek = this.keyFor(record.value.kekId);
      if (enabled === record.value.autolock) return { unlockKey: enabled && this.#unlockKey !== undefined ? formatUnlockKey(this.#unlockKey) : undefined };
      const unlockKey = enabled ? newKey() : undefined;
      const next: KeyringRecord = {
        ...record.value, autolock: enabled, updatedAt: new Date().toISOString(),
        ...(unlockKey === undefined ? {} : { lockedKek: sealedKek(unlockKey, kek), unlockKey: sealedUnlockKey(kek, unlockKey) }),
      };
      await this.#commitRecord(record, next, actor, { action: 'autolock', detail: enabled ? 'on' : 'off' });
      const text = unlockKey === undefined ? undefined : formatUnlockKey(unlockKey);
      zero(unlockKey);
      return { unlockKey: text };
    });
  }

  /** `berth cluster unlock-key [--rotate]`: the current unlock key, or a new one (the old stops working at once). */
  unlockKeyText(rotate: boolean, actor: Actor): Promise<string> {
    return this.#serial(async () => {
      const record = this.#requireUnlocked();
      if (!record.value.autolock) throw new SecretError(SecretErrorCode.AutolockOff, 'Autolock is off: turn it on with `berth cluster update --autolock=true`');
      if (!rotate) {
        if (this.#unlockKey === undefined) throw new SecretError(SecretErrorCode.KeyUnavailable, 'This manager cannot open the unlock key');
        return formatUnlockKey(this.#unlockKey);
      }
      const kek = this.keyFor(record.value.kekId);
      const unlockKey = newKey();
      await this.#commitRecord(record, { ...record.value, lockedKek: sealedKek(unlockKey, kek), unlockKey: sealedUnlockKey(kek, unlockKey), updatedAt: new Date().toISOString() }, actor, { action: 'unlock-key-rotate' });
      const text = formatUnlockKey(unlockKey);
      zero(unlockKey);
      return text;
    });
  }

  /**
   * Starts a KEK rotation: a new KEK becomes current (new versions use it at once), linked both ways to the old one,
   * re-sealed by the unlock key when autolocked; `rotation` stays set until every data key is re-wrapped.
   */
  beginRotation(actor: Actor): Promise<{ from: ClusterKey; to: ClusterKey }> {
    return this.#serial(async () => {
      const record = this.#requireUnlocked();
      if (record.value.rotation !== undefined) {
        return { from: this.keyFor(record.value.rotation.fromKekId), to: this.keyFor(record.value.rotation.toKekId) };
      }
      const from = this.keyFor(record.value.kekId);
      const to = newClusterKey();
      const now = new Date().toISOString();
      const next: KeyringRecord = {
        ...record.value, kekId: to.kekId, rotation: { fromKekId: from.kekId, toKekId: to.kekId, startedAt: now }, updatedAt: now,
        ...(this.#unlockKey === undefined ? {} : { lockedKek: sealedKek(this.#unlockKey, to), unlockKey: sealedUnlockKey(to, this.#unlockKey) }),
      };
      const transaction = this.#options.store.transaction()
        .require(kekChainCollection, to.kekId, absent)
        .put(kekChainCollection, to.kekId, {
          kekId: to.kekId, previousKekId: from.kekId, createdAt: now,
          forward: seal(from.key, 'kek-forward', [from.kekId, to.kekId], to.key),
          backward: seal(to.key, 'kek-backward', [from.kekId, to.kekId], from.key),
        });
      this.#keys.set(to.kekId, to.key);
      await this.#commitRecord(record, next, actor, { action: 'key-rotate', detail: `${from.kekId} -> ${to.kekId}` }, transaction);
      return { from, to };
    });
  }

  /** Ends a rotation once nothing is wrapped by the old KEK; the old KEK is then forgotten everywhere. */
  finishRotation(toKekId: string, actor: Actor): Promise<boolean> {
    return this.#serial(async () => {
      const record = this.#requireUnlocked();
      if (record.value.rotation?.toKekId !== toKekId) return false;
      await this.#commitRecord(record, { ...record.value, rotation: undefined, updatedAt: new Date().toISOString() }, actor, { action: 'key-rotate-done', detail: toKekId });
      return true;
    });
  }

  async #commitRecord(
    record: Versioned<KeyringRecord>, next: KeyringRecord, actor: Actor, facts: Parameters<typeof withAudit>[2],
    transaction = this.#options.store.transaction(),
  ): Promise<void> {
    const { succeeded } = await withAudit(transaction.require(keyringCollection, keyringId, record.modRevision).put(keyringCollection, keyringId, next), actor, facts).commit();
    if (!succeeded) {
      await this.#reload();
      throw new SecretError(SecretErrorCode.Conflict, 'The cluster key settings changed concurrently on another manager; run the command again');
    }
    await this.#reload();
  }

  async #reload(): Promise<void> {
    await this.#apply(await this.#options.store.get(keyringCollection, keyringId));
  }

  #serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(work);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    await this.#watch?.close();
    this.#watch = undefined;
    for (const key of this.#keys.values()) zero(key);
    this.#keys.clear();
    zero(this.#unlockKey);
    this.#unlockKey = undefined;
  }
}
