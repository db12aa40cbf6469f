import { setTimeout as sleep } from 'node:timers/promises';
import type { Store, Versioned } from '../store/typed-store.js';
import { absent } from '../store/revision.js';
import { hostsCollection } from '../cluster/keys.js';
import { readAudit, withAudit, type Actor } from './audit.js';
import { openSecretValue, sealSecretValue } from './crypto.js';
import { SecretError, SecretErrorCode } from './errors.js';
import type { Keyring } from './keyring.js';
import { assertSecretName, assertSecretValue, assertServiceName, grantsMax, parseGrantOptions, parseLabels, versionsMax } from './names.js';
import {
  grantCollection, grantId, keyringCollection, keyringId, secretMetaCollection, versionId, versionKeyCollection, versionValueCollection,
  type AuditEntry, type GrantRecord, type SecretMeta,
} from './schema.js';
import { grantReaches, listAllTasks, listGrants } from './tasks.js';

/** Attempts of one change against concurrent ones (each re-reads and re-seals); past it, SECRET_CONFLICT. */
export const commitAttemptsMax = 200;

export interface SecretSummary {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly current: number;
  readonly latest: number;
  readonly versions: number;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface SecretDetails extends SecretMeta {
  readonly grants: readonly GrantRecord[];
}

function notFound(name: string): SecretError {
  return new SecretError(SecretErrorCode.NotFound, `Secret ${name} not found`);
}

/**
 * The manager side of `berth secret …`: every change is one store transaction with revision preconditions (on the
 * secret's metadata, and for writes of new values on the keyring record, so a concurrent KEK rotation is never
 * raced) plus its audit entry. Concurrent changes retry on fresh state, so none is lost.
 */
export class SecretService {
  readonly store: Store;
  readonly keyring: Keyring;

  constructor(options: { store: Store; keyring: Keyring }) {
    this.store = options.store;
    this.keyring = options.keyring;
  }

  async create(input: { name: unknown; value: Uint8Array; labels?: unknown; actor: Actor }): Promise<{ name: string; version: number }> {
    const { name, value, actor } = input;
    assertSecretName(name);
    assertSecretValue(value);
    const labels = parseLabels(input.labels);
    await this.#retry(async () => {
      const { kek, keyringRevision } = this.keyring.current();
      const now = new Date().toISOString();
      const sealed = sealSecretValue({ kek, name, version: 1, plaintext: value });
      const meta: SecretMeta = { name, labels, createdAt: now, updatedAt: now, current: 1, latest: 1, versions: [{ version: 1, createdAt: now, bytes: value.length }] };
      const transaction = this.store.transaction()
        .require(secretMetaCollection, name, absent)
        .require(keyringCollection, keyringId, keyringRevision)
        .put(secretMetaCollection, name, meta)
        .put(versionKeyCollection, versionId(name, 1), { kekId: sealed.kekId, wrappedKey: sealed.wrappedKey })
        .put(versionValueCollection, versionId(name, 1), { value: sealed.value });
      if ((await withAudit(transaction, actor, { action: 'create', secret: name, version: 1 }).commit()).succeeded) return true;
      if (await this.store.get(secretMetaCollection, name) !== undefined) throw new SecretError(SecretErrorCode.Exists, `Secret ${name} already exists; use \`berth secret rotate\` for a new value`);
      return false;
    });
    return { name, version: 1 };
  }

  async rotate(input: { name: unknown; value: Uint8Array; actor: Actor }): Promise<{ name: string; version: number }> {
    const { name, value, actor } = input;
    assertSecretName(name);
    assertSecretValue(value);
    let version = 0;
    await this.#retry(async () => {
      const meta = await this.#meta(name);
      const { kek, keyringRevision } = this.keyring.current();
      version = meta.value.latest + 1;
      const now = new Date().toISOString();
      const sealed = sealSecretValue({ kek, name, version, plaintext: value });
      const kept = [...meta.value.versions, { version, createdAt: now, bytes: value.length }];
      const pruned: number[] = [];
      while (kept.length > versionsMax) {
        const oldest = kept.findIndex((entry) => entry.version !== meta.value.current);
        pruned.push(...kept.splice(oldest, 1).map((entry) => entry.version));
      }
      const transaction = this.store.transaction()
        .require(secretMetaCollection, name, meta.modRevision)
        .require(keyringCollection, keyringId, keyringRevision)
        .put(secretMetaCollection, name, { ...meta.value, current: version, latest: version, updatedAt: now, versions: kept })
        .put(versionKeyCollection, versionId(name, version), { kekId: sealed.kekId, wrappedKey: sealed.wrappedKey })
        .put(versionValueCollection, versionId(name, version), { value: sealed.value });
      for (const old of pruned) transaction.delete(versionKeyCollection, versionId(name, old)).delete(versionValueCollection, versionId(name, old));
      return (await withAudit(transaction, actor, { action: 'rotate', secret: name, version }).commit()).succeeded;
    });
    return { name, version };
  }

  /** Points the secret back at a kept version: `to`, or the newest one older than the current. */
  async rollback(input: { name: unknown; to?: unknown; actor: Actor }): Promise<{ name: string; version: number; from: number }> {
    const { name, to, actor } = input;
    assertSecretName(name);
    if (to !== undefined && (typeof to !== 'number' || !Number.isInteger(to) || to < 1)) throw new SecretError(SecretErrorCode.Invalid, `Invalid version ${JSON.stringify(String(to).slice(0, 20))}: expected a positive integer`);
    let result = { name, version: 0, from: 0 };
    await this.#retry(async () => {
      const meta = await this.#meta(name);
      const { current, versions } = meta.value;
      const target = to ?? Math.max(0, ...versions.map((entry) => entry.version).filter((version) => version < current));
      if (target === 0) throw new SecretError(SecretErrorCode.VersionNotFound, `Secret ${name} has no version older than ${current} to roll back to`);
      if (!versions.some((entry) => entry.version === target)) {
        throw new SecretError(SecretErrorCode.VersionNotFound, `Secret ${name} has no version ${target} (kept: ${versions.map((entry) => entry.version).join(', ')})`);
      }
      if (target === current) throw new SecretError(SecretErrorCode.Invalid, `Secret ${name} is already at version ${target}`);
      result = { name, version: target, from: current };
      const transaction = this.store.transaction()
        .require(secretMetaCollection, name, meta.modRevision)
        .put(secretMetaCollection, name, { ...meta.value, current: target, updatedAt: new Date().toISOString() });
      return (await withAudit(transaction, actor, { action: 'rollback', secret: name, version: target, detail: `from ${current}` }).commit()).succeeded;
    });
    return result;
  }

  async grant(input: { name: unknown; service: unknown; options?: unknown; actor: Actor }): Promise<GrantRecord> {
    const { name, service, actor } = input;
    assertSecretName(name);
    assertServiceName(service);
    const options = parseGrantOptions(name, input.options);
    const grant: GrantRecord = { secret: name, service, ...options, createdAt: new Date().toISOString() };
    await this.#retry(async () => {
      const meta = await this.#meta(name);
      const grants = await listGrants(this.store.kv, name);
      const existing = grants.find((entry) => entry.grant.service === service);
      if (existing === undefined && grants.length >= grantsMax) throw new SecretError(SecretErrorCode.Invalid, `Secret ${name} is already granted to ${grantsMax} services, the limit`);
      const transaction = this.store.transaction()
        .require(secretMetaCollection, name, meta.modRevision)
        .require(grantCollection, grantId(name, service), existing?.modRevision ?? absent)
        .put(grantCollection, grantId(name, service), grant);
      return (await withAudit(transaction, actor, { action: 'grant', secret: name, service, detail: `target ${grant.target} mode 0${grant.mode.toString(8)} uid ${grant.uid} gid ${grant.gid}${grant.nodes.length > 0 ? ` nodes ${grant.nodes.join(',')}` : ''}` }).commit()).succeeded;
    });
    return grant;
  }

  async revoke(input: { name: unknown; service: unknown; actor: Actor }): Promise<void> {
    const { name, service, actor } = input;
    assertSecretName(name);
    assertServiceName(service);
    await this.#retry(async () => {
      await this.#meta(name);
      const grant = await this.store.get(grantCollection, grantId(name, service));
      if (grant === undefined) throw new SecretError(SecretErrorCode.GrantNotFound, `Secret ${name} is not granted to service ${service}`);
      const transaction = this.store.transaction().require(grantCollection, grantId(name, service), grant.modRevision).delete(grantCollection, grantId(name, service));
      return (await withAudit(transaction, actor, { action: 'revoke', secret: name, service }).commit()).succeeded;
    });
  }

  /** Removes every version and grant; refused while a running container of a granted service receives it, unless `force`. */
  async remove(input: { name: unknown; force: boolean; actor: Actor }): Promise<void> {
    const { name, force, actor } = input;
    assertSecretName(name);
    await this.#retry(async () => {
      const meta = await this.#meta(name);
      const grants = await listGrants(this.store.kv, name);
      if (!force) await this.#refuseInUse(name, grants.map((entry) => entry.grant));
      const transaction = this.store.transaction().require(secretMetaCollection, name, meta.modRevision).delete(secretMetaCollection, name);
      for (const { grant, modRevision } of grants) transaction.require(grantCollection, grantId(name, grant.service), modRevision).delete(grantCollection, grantId(name, grant.service));
      for (const { version } of meta.value.versions) transaction.delete(versionKeyCollection, versionId(name, version)).delete(versionValueCollection, versionId(name, version));
      return (await withAudit(transaction, actor, { action: 'rm', secret: name, version: meta.value.current, ...(force ? { detail: 'forced' } : {}) }).commit()).succeeded;
    });
  }

  async #refuseInUse(name: string, grants: readonly GrantRecord[]): Promise<void> {
    if (grants.length === 0) return;
    const [tasks, hosts] = await Promise.all([listAllTasks(this.store.kv), this.store.list(hostsCollection)]);
    const hostnames = new Map(hosts.entries.map((entry) => [entry.id, entry.value.hostname]));
    // Tasks left behind by a host that has since left the cluster run nowhere: they do not hold the secret.
    const users = tasks.filter((task) => hostnames.has(task.nodeId)
      && grants.some((grant) => grantReaches(grant, task, { nodeId: task.nodeId, hostname: hostnames.get(task.nodeId) })));
    if (users.length > 0) {
      const services = [...new Set(users.map((task) => task.service))].join(', ');
      throw new SecretError(SecretErrorCode.InUse, `Secret ${name} is in use by ${users.length} running container(s) of service ${services}; revoke it first or use --force`);
    }
  }

  async list(): Promise<SecretSummary[]> {
    const { entries } = await this.store.list(secretMetaCollection);
    return entries.map(({ value }) => ({
      name: value.name, labels: value.labels, current: value.current, latest: value.latest, versions: value.versions.length,
      createdAt: value.createdAt, updatedAt: value.updatedAt,
    }));
  }

  async inspect(name: unknown): Promise<SecretDetails> {
    assertSecretName(name);
    const meta = await this.#meta(name);
    return { ...meta.value, grants: (await listGrants(this.store.kv, name)).map((entry) => entry.grant) };
  }

  async history(name: unknown): Promise<AuditEntry[]> {
    assertSecretName(name);
    const entries = await readAudit(this.store, name);
    if (entries.length === 0 && await this.store.get(secretMetaCollection, name) === undefined) throw notFound(name);
    return entries;
  }

  /** The plaintext of a version, for the dispatcher only; the caller zeroes it after use. */
  async reveal(name: string, version: number): Promise<Uint8Array> {
    const [key, value] = await Promise.all([this.store.get(versionKeyCollection, versionId(name, version)), this.store.get(versionValueCollection, versionId(name, version))]);
    if (key === undefined || value === undefined) throw new SecretError(SecretErrorCode.VersionNotFound, `Secret ${name} has no version ${version}`);
    const kek = this.keyring.keyFor(key.value.kekId);
    return openSecretValue({ kek, name, version, sealed: { kekId: key.value.kekId, wrappedKey: key.value.wrappedKey, value: value.value.value } });
  }

  async #meta(name: string): Promise<Versioned<SecretMeta>> {
    const meta = await this.store.get(secretMetaCollection, name);
    if (meta === undefined) throw notFound(name);
    return meta;
  }

  /** Runs `attempt` until it commits (true); a false means a precondition failed: re-read (and the keyring) and try again. */
  async #retry(attempt: () => Promise<boolean>): Promise<void> {
    for (let tries = 1; tries <= commitAttemptsMax; tries += 1) {
      if (await attempt()) return;
      await this.keyring.refresh();
      await sleep(Math.floor(Math.random() * Math.min(50, tries * 2)));
    }
    throw new SecretError(SecretErrorCode.Conflict, `Gave up after ${commitAttemptsMax} attempts against concurrent changes; run the command again`);
  }
}
