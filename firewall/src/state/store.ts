/**
 * The firewall's state under `$BERTH_ROOT/firewall/`:
 *   policies.json    NetworkPolicy / AdminNetworkPolicy / BaselineAdminNetworkPolicy documents as applied,
 *                    plus the global monitor flag
 *   namespaces.json  Namespace documents
 *   endpoints.json   endpoint records (with the CNI container ID and interface that own them)
 *   applied/<netns>.json  what the enforcer last put into each network namespace (see enforce/)
 *   lock             flock held for every read-modify-write (and the enforcement that follows it)
 * Files are replaced by write-then-rename, so a reader never sees half a file.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { lockFile } from '@berth/netns-napi';
import { FirewallCode, FirewallError } from '../errors.js';
import { parseDocumentObject } from '../model/documents.js';
import { parseEndpoint } from '../model/endpoint.js';
import { buildPolicySet, documentKey } from '../model/policy-set.js';
import type { Endpoint, Namespace, PolicyDocument, PolicySet } from '../model/types.js';
import { readJson, writeJsonAtomic } from './atomic-file.js';

/**
 * An endpoint plus who registered it (CNI network, container ID and interface), so DEL and GC remove only their
 * own; all three are null for endpoints registered by hand.
 */
export interface EndpointRecord extends Endpoint {
  readonly network: string | null;
  readonly containerId: string | null;
  readonly ifName: string | null;
}

export interface StoredDocument {
  readonly key: string;
  readonly document: PolicyDocument;
  /** As written by the user, with metadata.namespace filled in for NetworkPolicies. */
  readonly raw: Readonly<Record<string, unknown>>;
}

export interface FirewallState {
  readonly documents: readonly StoredDocument[];
  readonly endpoints: readonly EndpointRecord[];
  readonly monitor: boolean;
}

export const lockWaitMsMax = 30_000;

export function defaultRoot(env: Readonly<Record<string, string | undefined>> = process.env): string {
  const root = env['BERTH_ROOT'];
  return root === undefined || root === '' ? '/var/lib/berth' : root;
}

/**
 * Digest of a state as the compiler sees it (plus the table layout version): equal digests, equal tables. The
 * applied record holds the digest of the state it enforced, so a delta only ever starts from that state.
 */
export const tableLayoutVersion = 2;

export function stateDigest(state: FirewallState): string {
  const text = JSON.stringify([tableLayoutVersion, state.monitor, state.documents.map((stored) => stored.raw), state.endpoints]);
  return createHash('sha256').update(text).digest('hex');
}

export function policySetOf(state: FirewallState): { policies: PolicySet; namespaces: Namespace[] } {
  return buildPolicySet(state.documents.map((stored) => stored.document), { monitor: state.monitor });
}

function stateError(path: string, message: string): FirewallError {
  return new FirewallError(FirewallCode.State, `Cannot load ${path}: ${message}`);
}

function documentsIn(value: unknown, path: string): StoredDocument[] {
  const list = (value as { documents?: unknown } | null)?.documents;
  if (!Array.isArray(list)) throw stateError(path, 'expected {"documents": [...]}');
  return list.map((raw: unknown) => {
    const document = parseDocumentObject(raw);
    return { key: documentKey(document), document, raw: raw as Record<string, unknown> };
  });
}

function endpointsIn(value: unknown, path: string): EndpointRecord[] {
  const list = (value as { endpoints?: unknown } | null)?.endpoints;
  if (!Array.isArray(list)) throw stateError(path, 'expected {"endpoints": [...]}');
  return list.map((raw: unknown, index) => {
    const { network, containerId, ifName, ...rest } = raw as Record<string, unknown>;
    return {
      ...parseEndpoint(rest, `endpoints[${index}]`),
      network: typeof network === 'string' ? network : null,
      containerId: typeof containerId === 'string' ? containerId : null,
      ifName: typeof ifName === 'string' ? ifName : null,
    };
  });
}

export class FirewallStore {
  readonly directory: string;

  constructor(root: string = defaultRoot()) {
    this.directory = join(root, 'firewall');
  }

  get #paths(): { policies: string; namespaces: string; endpoints: string; lock: string } {
    return {
      policies: join(this.directory, 'policies.json'),
      namespaces: join(this.directory, 'namespaces.json'),
      endpoints: join(this.directory, 'endpoints.json'),
      lock: join(this.directory, 'lock'),
    };
  }

  appliedPath(netnsKey: string): string {
    return join(this.directory, 'applied', `${netnsKey}.json`);
  }

  /** A consistent-enough snapshot without the lock (each file is replaced atomically). */
  read(): FirewallState {
    const paths = this.#paths;
    const policies = readJson(paths.policies, { documents: [], monitor: false });
    const namespaces = readJson(paths.namespaces, { documents: [] });
    return {
      documents: [...documentsIn(policies, paths.policies), ...documentsIn(namespaces, paths.namespaces)],
      endpoints: endpointsIn(readJson(paths.endpoints, { endpoints: [] }), paths.endpoints),
      monitor: (policies as { monitor?: unknown }).monitor === true,
    };
  }

  write(state: FirewallState, previous: FirewallState | null): void {
    const paths = this.#paths;
    const policyDocuments = state.documents.filter((stored) => stored.document.kind !== 'Namespace');
    const namespaceDocuments = state.documents.filter((stored) => stored.document.kind === 'Namespace');
    const changed = (select: (value: FirewallState) => unknown): boolean =>
      previous === null || JSON.stringify(select(previous)) !== JSON.stringify(select(state));
    if (changed((value) => [value.monitor, value.documents.filter((stored) => stored.document.kind !== 'Namespace').map((stored) => stored.raw)])) {
      writeJsonAtomic(paths.policies, { version: 1, monitor: state.monitor, documents: policyDocuments.map((stored) => stored.raw) });
    }
    if (changed((value) => value.documents.filter((stored) => stored.document.kind === 'Namespace').map((stored) => stored.raw))) {
      writeJsonAtomic(paths.namespaces, { version: 1, documents: namespaceDocuments.map((stored) => stored.raw) });
    }
    if (changed((value) => value.endpoints)) writeJsonAtomic(paths.endpoints, { version: 1, endpoints: state.endpoints });
  }

  /** Runs `fn` holding the state lock; the lock is released however `fn` ends. */
  async locked<T>(fn: () => Promise<T> | T): Promise<T> {
    try {
      mkdirSync(this.directory, { recursive: true, mode: 0o700 });
    } catch (error) {
      throw new FirewallError(FirewallCode.State, `Cannot create ${this.directory}: ${error instanceof Error ? error.message : String(error)}`);
    }
    let release: () => void;
    try {
      release = await lockFile(this.#paths.lock, { waitMsMax: lockWaitMsMax });
    } catch (error) {
      throw new FirewallError(FirewallCode.State, `Cannot lock ${this.#paths.lock}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    try {
      return await fn();
    } finally {
      release();
    }
  }
}
