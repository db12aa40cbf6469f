import { randomBytes } from 'node:crypto';
import type { Store, Transaction } from '../store/typed-store.js';
import { auditCollection, type AuditAction, type AuditEntry } from './schema.js';

/** Who asks: the host's node id and the local API caller's uid (undefined when berthd acts by itself). */
export interface Actor {
  readonly node: string;
  readonly uid: number | undefined;
}

/**
 * Audit ids sort by time within a prefix: `s:<secret>:<ms>-<rand>` for a secret's entries (so `secret history` is one
 * prefix read), `c:<ms>-<rand>` for cluster-key entries.
 */
export function auditId(secret: string | undefined, now: Date): string {
  const stamp = `${String(now.getTime()).padStart(15, '0')}-${randomBytes(3).toString('hex')}`;
  return secret === undefined ? `c:${stamp}` : `s:${secret}:${stamp}`;
}

export interface AuditFacts {
  readonly action: AuditAction;
  readonly secret?: string;
  readonly version?: number;
  readonly service?: string;
  readonly detail?: string;
}

export function auditEntry(actor: Actor, facts: AuditFacts, now: Date): AuditEntry {
  return {
    at: now.toISOString(), node: actor.node, uid: actor.uid, action: facts.action, secret: facts.secret, version: facts.version,
    service: facts.service, detail: facts.detail,
  };
}

/** Adds the entry to a transaction, so the change and its record commit together or not at all. */
export function withAudit(transaction: Transaction, actor: Actor, facts: AuditFacts, now = new Date()): Transaction {
  return transaction.put(auditCollection, auditId(facts.secret, now), auditEntry(actor, facts, now));
}

export const auditEntriesMax = 10_000;

/** A secret's entries (`secret` given) or all of them, in commit order, at most `auditEntriesMax` (the newest). */
export async function readAudit(store: Store, secret?: string): Promise<AuditEntry[]> {
  const prefix = secret === undefined ? auditCollection.prefix : `${auditCollection.prefix}s:${secret}:`;
  const { kvs } = await store.kv.list(prefix);
  // Entries are written once, so their revision is their commit order (clocks of managers may differ).
  const ordered = [...kvs].sort((a, b) => a.modRevision - b.modRevision).slice(-auditEntriesMax);
  return ordered.map((kv) => auditCollection.decode(kv.value, kv.key));
}
