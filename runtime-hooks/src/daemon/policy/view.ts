/**
 * The store's policies/ and endpoints/ as the engine sees them: a pure fold of store entries and watch events into
 * engine events and snapshots (no I/O, no clock). Invalid entries are skipped and counted, never compiled.
 *
 * Endpoints are keyed by NAMESPACE/NAME in the engine but by store key here (hosts write under their own node id,
 * so two hosts may briefly hold a record for the same pod, e.g. a pod name reused on another host before the old
 * host's DEL). The latest record by store revision wins, as the engine's own upsert does for a reused address; when
 * the winner goes, the next latest takes its place.
 */
import { createHash } from 'node:crypto';
import { parseAddress, type EngineEvent, type EndpointRecord, type FirewallSnapshot } from '@berth/firewall';
import type { KeyValue, Revision, WatchEvent } from '@berth/secrets';
import {
  documentKeyOfStoreId, endpointOwnerOf, endpointsPrefix, parseEndpointRecord, policyDocumentsCollection, policySettingsCollection, settingsId, storedDocument, type StoredPolicyDocument,
} from './schema.js';

interface HeldEndpoint {
  readonly record: EndpointRecord;
  readonly revision: Revision;
}

const podKey = (endpoint: { namespace: string; name: string }): string => `${endpoint.namespace}/${endpoint.name}`;

export class PolicyView {
  readonly #documents = new Map<string, StoredPolicyDocument>();
  #monitor = false;
  readonly #endpoints = new Map<string, HeldEndpoint>();
  /** NAMESPACE/NAME → the store key whose record the engine holds. */
  readonly #holders = new Map<string, string>();
  /** Entries skipped because they did not parse (named in `problems`). */
  invalidEntries = 0;
  readonly problems: string[] = [];

  get documentCount(): number { return this.#documents.size; }
  get endpointCount(): number { return this.#holders.size; }
  get monitor(): boolean { return this.#monitor; }

  /** Replaces the policies/ part with a listing of the prefix. */
  loadPolicies(kvs: readonly KeyValue[]): void {
    this.#documents.clear();
    this.#monitor = false;
    for (const kv of kvs) this.#policyEvent({ kind: 'put', key: kv.key, value: kv.value, modRevision: kv.modRevision });
  }

  /**
   * Replaces the endpoints/ part with a listing of the prefix. Records whose revision did not change since the
   * last load or event are kept as parsed (checking an endpoint costs more than everything else a resync does).
   */
  loadEndpoints(kvs: readonly KeyValue[]): void {
    const previous = new Map(this.#endpoints);
    this.#endpoints.clear();
    this.#holders.clear();
    for (const kv of kvs) {
      const kept = previous.get(kv.key);
      if (kept !== undefined && kept.revision === kv.modRevision) this.#hold(kv.key, kept);
      else this.#endpointEvent({ kind: 'put', key: kv.key, value: kv.value, modRevision: kv.modRevision });
    }
  }

  snapshot(): FirewallSnapshot {
    const endpoints = [...this.#holders.values()].map((key) => this.#endpoints.get(key)).filter((held): held is HeldEndpoint => held !== undefined)
      .sort((a, b) => a.revision - b.revision);
    // A later record claiming an address replaces an earlier one (the engine's upsert rule), so the set is distinct.
    const claimed = new Map<string, number>();
    const kept: (HeldEndpoint | undefined)[] = [];
    for (const held of endpoints) {
      for (const ip of held.record.ips) {
        const earlier = claimed.get(ip);
        if (earlier !== undefined) kept[earlier] = undefined;
        claimed.set(ip, kept.length);
      }
      kept.push(held);
    }
    return {
      documents: [...this.#documents.values()].map((stored) => stored.document),
      endpoints: kept.filter((held): held is HeldEndpoint => held !== undefined).map((held) => held.record),
      monitor: this.#monitor,
    };
  }

  /**
   * A digest of the state the engine is fed (documents as applied, endpoints, monitor): two hosts with equal digests
   * enforce the same table. Revisions cannot tell that, since a host that listed the store knows only the store's
   * revision, not which change of a prefix came last.
   */
  digest(): string {
    const documents = [...this.#documents.values()].map((stored) => [stored.key, stored.raw] as const).sort(([a], [b]) => a.localeCompare(b));
    const endpoints = this.snapshot().endpoints.map((endpoint) => [`${endpoint.namespace}/${endpoint.name}`, endpoint] as const).sort(([a], [b]) => a.localeCompare(b));
    return createHash('sha256').update(JSON.stringify([this.#monitor, documents, endpoints])).digest('hex').slice(0, 32);
  }

  policyEvents(events: readonly WatchEvent[]): EngineEvent[] {
    return events.flatMap((event) => this.#policyEvent(event));
  }

  endpointEvents(events: readonly WatchEvent[]): EngineEvent[] {
    return events.flatMap((event) => this.#endpointEvent(event));
  }

  /** The records one host registered (its own prefix), by store id, as the watch delivered them. */
  endpointsOf(nodeId: string): Array<{ id: string; value: EndpointRecord }> {
    const prefix = `${endpointsPrefix}${nodeId}/`;
    return [...this.#endpoints].filter(([key]) => key.startsWith(prefix)).map(([key, held]) => ({ id: key.slice(prefix.length), value: held.record }));
  }

  #skip(key: string, error: unknown): [] {
    this.invalidEntries += 1;
    if (this.problems.length < 20) this.problems.push(`${key}: ${error instanceof Error ? error.message : String(error)}`);
    return [];
  }

  #policyEvent(event: WatchEvent): EngineEvent[] {
    if (event.key.startsWith(policySettingsCollection.prefix)) {
      if (policySettingsCollection.idOf(event.key) !== settingsId) return this.#skip(event.key, new Error('unknown setting'));
      const monitor = event.kind === 'put' ? this.#decode(event, () => policySettingsCollection.decode(event.value, event.key).monitor) : false;
      if (monitor === undefined || monitor === this.#monitor) return [];
      this.#monitor = monitor;
      return [{ kind: 'setMonitor', monitor }];
    }
    if (!event.key.startsWith(policyDocumentsCollection.prefix)) return this.#skip(event.key, new Error('not a policies/ collection'));
    const expectedKey = documentKeyOfStoreId(event.key.slice(policyDocumentsCollection.prefix.length));
    const old = this.#documents.get(event.key);
    if (event.kind === 'delete') {
      this.#documents.delete(event.key);
      return old === undefined ? [] : [{ kind: 'removeDocuments', keys: [old.key] }];
    }
    const stored = this.#decode(event, () => {
      const value = storedDocument(policyDocumentsCollection.decode(event.value, event.key));
      if (value.key !== expectedKey) throw new Error(`holds ${value.key}`);
      return value;
    });
    if (stored === undefined) return [];
    this.#documents.set(event.key, stored);
    return [{ kind: 'applyDocuments', documents: [stored.document] }];
  }

  #endpointEvent(event: WatchEvent): EngineEvent[] {
    const owner = endpointOwnerOf(event.key);
    if (owner === undefined) return this.#skip(event.key, new Error('not an endpoints/<node>/<id> key'));
    const events: EngineEvent[] = [];
    const old = this.#endpoints.get(event.key);
    if (old !== undefined) {
      this.#endpoints.delete(event.key);
      if (this.#holders.get(podKey(old.record)) === event.key) events.push(...this.#succeed(podKey(old.record)));
    }
    if (event.kind === 'delete') return events;
    const record = this.#decode(event, () => {
      const value = parseEndpointRecord(JSON.parse(event.value.toString('utf8')));
      if (value.ips.some((ip) => parseAddress(ip) === null)) throw new Error('invalid address');
      return value;
    });
    if (record === undefined) return events;
    if (this.#hold(event.key, { record, revision: event.modRevision })) events.push({ kind: 'upsertEndpoint', endpoint: record });
    return events;
  }

  /** Keeps a record; it becomes the pod's holder unless another record of the pod is newer. */
  #hold(key: string, held: HeldEndpoint): boolean {
    this.#endpoints.set(key, held);
    const pod = podKey(held.record);
    const holder = this.#holders.get(pod);
    if (holder !== undefined && holder !== key && (this.#endpoints.get(holder)?.revision ?? 0) > held.revision) return false;
    this.#holders.set(pod, key);
    return true;
  }

  /** The pod's holder went: the latest other record for the pod takes over, or the pod goes. */
  #succeed(pod: string): EngineEvent[] {
    let next: [string, HeldEndpoint] | undefined;
    for (const entry of this.#endpoints) {
      if (podKey(entry[1].record) === pod && (next === undefined || entry[1].revision > next[1].revision)) next = entry;
    }
    if (next === undefined) {
      this.#holders.delete(pod);
      return [{ kind: 'removeEndpoint', key: pod }];
    }
    this.#holders.set(pod, next[0]);
    return [{ kind: 'upsertEndpoint', endpoint: next[1].record }];
  }

  #decode<T>(event: WatchEvent, decode: () => T): T | undefined {
    try {
      return decode();
    } catch (error) {
      this.#skip(event.key, error);
      return undefined;
    }
  }
}
