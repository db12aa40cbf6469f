/**
 * FirewallCompiler: the incremental compiler. It holds the documents, the endpoints and the compiled table in
 * memory and takes events — documents applied or removed, monitor mode, endpoints upserted or removed, a whole
 * snapshot loaded — keeping the table equal to what a compile from scratch of the same state gives, at a cost
 * in proportion to what the event touches:
 *   - an endpoint: its own dispatch entries (and its group, created if it is the first of its kind), and one
 *     peers element in each group whose selectors pick it; selections are kept per distinct selector;
 *   - NetworkPolicies: the endpoints of their namespaces are regrouped; groups whose rules include a changed
 *     policy are rebuilt; nothing else is looked at;
 *   - anything else (admin tiers, namespace labels, monitor mode): everything is rebuilt, and the change log
 *     still yields only what differs.
 * Pure: no I/O, no clock. Every change is recorded in a change log (change-log.ts); `takeChanges()` hands it
 * over for rendering as one transaction (delta.ts).
 */
import { parseAddress, type Address, type Family } from '../model/address.js';
import { buildPolicySet, documentKey } from '../model/policy-set.js';
import { selectorMatches } from '../model/labels.js';
import type { Endpoint, NetworkPolicy, PolicyDocument } from '../model/types.js';
import { addressKey, applicableRules, buildContext, isUnconstrained, type ApplicableRules, type Direction, type EvaluationContext } from '../evaluate/context.js';
import { assert, FirewallCode, FirewallError } from '../errors.js';
import { buildHead, groupIdentity, type GroupHead } from './build.js';
import { emptyChangeLog, recordFirst, type ChangeLog } from './change-log.js';
import { egressPortNames, isSelectorSlot, slotContains, type Slot } from './group.js';
import { dispatchName, dispatchNames, type ActionChain, type CompiledFirewall, type DispatchName, type Profile } from './ir.js';
import { MapView, Referenced } from './registries.js';
import { Selections, type Selection, type SelectionMember } from './selections.js';
import { groupName } from './names.js';
import { DecisionMemo, type BuiltProfile, type RuleDecisions } from './decisions.js';
import { selectorRules, selectorVariables } from './selectors.js';

export interface FirewallSnapshot {
  /** In the order they were applied (a later document with the same key replaces an earlier one). */
  readonly documents: readonly PolicyDocument[];
  readonly endpoints: readonly Endpoint[];
  readonly monitor: boolean;
}

interface EndpointState extends SelectionMember {
  readonly key: string;
  readonly endpoint: Endpoint;
  readonly addresses: readonly Address[];
  /** The groups it is a subject of, and the dispatch entries pointing there. */
  subjects: { readonly group: string; readonly dispatch: DispatchName; readonly addresses: readonly string[] }[];
}

interface GroupState {
  head: GroupHead;
  readonly rules: ApplicableRules;
  readonly slots: readonly Slot[];
  readonly decisions: RuleDecisions;
  /** Egress only: the named ports the rules use (they resolve on the peer). */
  readonly portNames: readonly string[];
  /** Per slot: its selection, or null for ipBlock / networks slots. */
  readonly selections: readonly (Selection<EndpointState> | null)[];
  /** Selectors mode: the distinct selection keys the rules use (exact mode: null). */
  readonly variables: readonly string[] | null;
  /** Selectors mode: the profiles its rules go to. */
  readonly selectorProfiles: readonly BuiltProfile[];
  readonly peers: Map<string, string>;
  /** Profile name → how many peers use it. */
  readonly profileUse: Map<string, number>;
  /** Peer signature → its profile under this group's rules. */
  readonly profileBySignature: Map<string, BuiltProfile>;
  readonly members: Set<string>;
}

/** Parsed documents hold bigints (CIDR bounds). */
const documentText = (document: PolicyDocument): string => JSON.stringify(document, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString(16) : value));
/** Bound on the identity → group name cache (it starts over past this). */
const groupNamesMax = 100_000;

const endpointKey = (endpoint: Endpoint): string => `${endpoint.namespace}/${endpoint.name}`;
const directions: readonly Direction[] = ['egress', 'ingress'];
const families: readonly Family[] = [4, 6];

export class FirewallCompiler {
  readonly #documents = new Map<string, PolicyDocument>();
  #monitor = false;
  #context: EvaluationContext = buildContext({ networkPolicies: [], adminPolicies: [], baseline: null, monitor: false }, [], []);
  readonly #endpoints = new Map<string, EndpointState>();
  /** addressKey → endpoint key. */
  readonly #byAddress = new Map<string, string>();
  readonly #byPortName = new Map<string, Set<EndpointState>>();
  readonly #selections = new Selections<EndpointState>(() => this.#log);
  readonly #groupNames = new Map<string, string>();
  readonly #groups = new Map<string, GroupState>();
  readonly #groupsByPortName = new Map<string, Set<string>>();
  readonly #profiles = new Referenced<Profile>(() => this.#log.profiles);
  readonly #actions = new Referenced<ActionChain>(() => this.#log.actions);
  readonly #dispatch = new Map<DispatchName, Map<string, string>>(dispatchNames.map((name) => [name, new Map()]));
  #log: ChangeLog = emptyChangeLog();
  /** Decisions shared by groups whose rules decide alike (its keys hold all a decision reads). */
  readonly #decisions = new DecisionMemo();

  /** A live view of the compiled table: valid until the next change. */
  compiled(): CompiledFirewall {
    return {
      actions: new MapView(this.#actions.entries, (counted) => counted.value),
      profiles: new MapView(this.#profiles.entries, (counted) => counted.value),
      selections: this.#selections.sets(),
      groups: new MapView(this.#groups, (state) => ({ ...state.head, peers: state.peers, peerProfiles: [...state.profileUse.keys()].sort() })),
      dispatch: this.#dispatch,
    };
  }

  /** groupName() hashes the identity; the same identities come back for every pod of a kind. */
  #groupName(direction: Direction, family: Family, identity: string): string {
    let name = this.#groupNames.get(identity);
    if (name === undefined) {
      if (this.#groupNames.size >= groupNamesMax) this.#groupNames.clear();
      name = groupName(direction, family, identity);
      this.#groupNames.set(identity, name);
    }
    return name;
  }

  /** The changes since the last call (or since construction), for rendering; starts a new log. */
  takeChanges(): ChangeLog {
    const log = this.#log;
    this.#log = emptyChangeLog();
    return log;
  }

  get documents(): readonly PolicyDocument[] {
    return [...this.#documents.values()];
  }

  hasDocument(key: string): boolean {
    return this.#documents.has(key);
  }

  get endpoints(): Endpoint[] {
    return [...this.#endpoints.values()].map((state) => state.endpoint);
  }

  get monitor(): boolean {
    return this.#monitor;
  }

  /** Replaces the whole state (a full resync's input). */
  load(snapshot: FirewallSnapshot): void {
    const endpoints = snapshot.endpoints.map((endpoint) => this.#checkedState(endpoint));
    this.#checkDistinct(endpoints);
    for (const state of [...this.#endpoints.values()]) this.#unsubscribe(state);
    for (const state of [...this.#endpoints.values()]) this.#forget(state);
    this.#selections.dropUnused();
    assert(this.#groups.size === 0 && this.#selections.size === 0, 'no group outlives its members');
    this.#documents.clear();
    for (const document of snapshot.documents) this.#documents.set(documentKey(document), document);
    this.#monitor = snapshot.monitor;
    this.#rebuildContext();
    // All endpoints first, then the groups: each new group computes its peers over the complete set.
    for (const state of endpoints) this.#remember(state);
    for (const state of [...endpoints].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))) this.#subscribe(state);
    this.#selections.dropUnused();
  }

  /** Upserts documents by key; returns the keys whose content changed (or that are new). */
  applyDocuments(documents: readonly PolicyDocument[]): string[] {
    const changed: string[] = [];
    const previous: PolicyDocument[] = [];
    for (const document of documents) {
      const key = documentKey(document);
      const old = this.#documents.get(key);
      if (old !== undefined && documentText(old) === documentText(document)) continue;
      if (old !== undefined) previous.push(old);
      this.#documents.set(key, document);
      changed.push(key);
    }
    this.#policiesChanged(changed, previous);
    this.#selections.dropUnused();
    return changed;
  }

  /** Removes documents by key; unknown keys are an error and nothing changes. */
  removeDocuments(keys: readonly string[]): void {
    const missing = keys.find((key) => !this.#documents.has(key));
    if (missing !== undefined) throw new FirewallError(FirewallCode.NotFound, `Cannot remove ${missing}: no such document`);
    const removed = [...new Set(keys)].map((key) => this.#documents.get(key) as PolicyDocument);
    for (const key of keys) this.#documents.delete(key);
    this.#policiesChanged([...new Set(keys)], removed);
    this.#selections.dropUnused();
  }

  setMonitor(monitor: boolean): void {
    if (monitor === this.#monitor) return;
    this.#monitor = monitor;
    this.#rebuildContext();
    this.#regroup([...this.#endpoints.values()], new Set(this.#groups.keys()));
    this.#selections.dropUnused();
  }

  /**
   * Registers an endpoint. One with the same NAMESPACE/NAME, or claiming one of its addresses, is stale (a
   * restarted pod, a reused address after a missed DEL) and is replaced; the replaced ones are returned.
   */
  upsertEndpoint(endpoint: Endpoint): Endpoint[] {
    const state = this.#checkedState(endpoint);
    const stale = new Set<EndpointState>();
    const same = this.#endpoints.get(state.key);
    if (same !== undefined) stale.add(same);
    for (const address of state.addresses) {
      const owner = this.#byAddress.get(addressKey(address));
      if (owner !== undefined) stale.add(this.#endpoints.get(owner) as EndpointState);
    }
    for (const old of stale) this.#removeState(old);
    this.#remember(state);
    for (const group of this.#groupsPicking(state)) this.#updatePeer(group, state);
    this.#subscribe(state);
    this.#selections.dropUnused();
    return [...stale].map((old) => old.endpoint);
  }

  /** Removes the endpoint NAMESPACE/NAME; returns it, or null when it was not registered. */
  removeEndpoint(key: string): Endpoint | null {
    const state = this.#endpoints.get(key);
    if (state === undefined) return null;
    this.#removeState(state);
    this.#selections.dropUnused();
    return state.endpoint;
  }

  #removeState(state: EndpointState): void {
    this.#unsubscribe(state);
    const groups = this.#groupsPicking(state);
    this.#forget(state);
    for (const group of groups) {
      for (const [index, address] of state.addresses.entries()) {
        if (address.family === group.head.family && group.peers.has(state.endpoint.ips[index] as string)) this.#setPeer(group, state.endpoint.ips[index] as string, null);
      }
    }
  }

  #checkedState(endpoint: Endpoint): EndpointState {
    const addresses = endpoint.ips.map((ip) => {
      const address = parseAddress(ip);
      if (address === null) throw new FirewallError(FirewallCode.InvalidDocument, `endpoint ${endpointKey(endpoint)}: invalid address ${ip}`);
      return address;
    });
    return { key: endpointKey(endpoint), endpoint, addresses, subjects: [] };
  }

  #checkDistinct(states: readonly EndpointState[]): void {
    const owners = new Map<string, string>();
    const keys = new Set<string>();
    for (const state of states) {
      if (keys.has(state.key)) throw new FirewallError(FirewallCode.InvalidDocument, `endpoint ${state.key} is listed twice`);
      keys.add(state.key);
      for (const [index, address] of state.addresses.entries()) {
        const owner = owners.get(addressKey(address));
        if (owner !== undefined && owner !== state.key) {
          throw new FirewallError(FirewallCode.InvalidDocument, `endpoints ${owner} and ${state.key} both claim address ${state.endpoint.ips[index]}`);
        }
        owners.set(addressKey(address), state.key);
      }
    }
  }

  /** Enters the endpoint into the indexes and the selections (not into any group). */
  #remember(state: EndpointState): void {
    assert(!this.#endpoints.has(state.key), `endpoint ${state.key} is registered once`);
    this.#endpoints.set(state.key, state);
    for (const address of state.addresses) this.#byAddress.set(addressKey(address), state.key);
    for (const port of state.endpoint.namedPorts) {
      let set = this.#byPortName.get(port.name);
      if (set === undefined) this.#byPortName.set(port.name, set = new Set());
      set.add(state);
    }
    this.#selections.enter(state, this.#context.namespaceLabels);
  }

  #forget(state: EndpointState): void {
    this.#endpoints.delete(state.key);
    for (const address of state.addresses) this.#byAddress.delete(addressKey(address));
    for (const port of state.endpoint.namedPorts) {
      const set = this.#byPortName.get(port.name);
      set?.delete(state);
      if (set?.size === 0) this.#byPortName.delete(port.name);
    }
    this.#selections.leave(state);
  }

  /** The groups whose peers include the endpoint: a selector of theirs picks it, or it names an egress port of theirs. */
  #groupsPicking(state: EndpointState): Set<GroupState> {
    const names = new Set<string>();
    for (const selection of this.#selections.picking(state)) for (const name of selection.groups) names.add(name);
    for (const port of state.endpoint.namedPorts) for (const name of this.#groupsByPortName.get(port.name) ?? []) names.add(name);
    // Selectors-mode groups see the endpoint through the selection sets, already updated.
    return new Set([...names].map((name) => this.#groups.get(name) as GroupState).filter((group) => group.variables === null));
  }

  /** Sets the endpoint's peer elements in one group (of the group's family). */
  #updatePeer(group: GroupState, state: EndpointState): void {
    for (const [index, address] of state.addresses.entries()) {
      if (address.family !== group.head.family) continue;
      this.#setPeer(group, state.endpoint.ips[index] as string, this.#profileFor(group, state, address));
    }
  }

  #profileFor(group: GroupState, state: EndpointState, address: Address): BuiltProfile {
    const bits = group.slots.map((slot, index) => {
      const selection = group.selections[index];
      return selection === null || selection === undefined ? slotContains(slot, address) : selection.selected.has(state);
    });
    const named = group.portNames.length === 0 ? '' : JSON.stringify(state.endpoint.namedPorts.filter((port) => group.portNames.includes(port.name)));
    const signature = `${bits.map((bit) => (bit ? '1' : '0')).join('')}|${named}`;
    let built = group.profileBySignature.get(signature);
    if (built === undefined) {
      built = group.decisions.profile(bits, group.portNames.length === 0 ? null : state.endpoint);
      group.profileBySignature.set(signature, built);
    }
    return built;
  }

  #setPeer(group: GroupState, address: string, profile: BuiltProfile | null): void {
    const old = group.peers.get(address) ?? null;
    const name = profile?.profile.name ?? null;
    if (old === name) return;
    const logged = this.#log.groups.get(group.head.name) !== null;
    if (logged) {
      let peers = this.#log.peers.get(group.head.name);
      if (peers === undefined) this.#log.peers.set(group.head.name, peers = new Map());
      recordFirst(peers, address, old);
    }
    const profilesChange = (name !== null && !group.profileUse.has(name)) || (old !== null && group.profileUse.get(old) === 1);
    if (logged && profilesChange) recordFirst(this.#log.peerProfiles, group.head.name, [...group.profileUse.keys()].sort());
    if (profile === null) group.peers.delete(address);
    else {
      this.#acquireProfile(profile);
      group.peers.set(address, profile.profile.name);
      group.profileUse.set(profile.profile.name, (group.profileUse.get(profile.profile.name) ?? 0) + 1);
    }
    if (old !== null) {
      const uses = (group.profileUse.get(old) ?? 0) - 1;
      if (uses > 0) group.profileUse.set(old, uses);
      else group.profileUse.delete(old);
      this.#releaseProfile(old);
    }
  }

  #acquireProfile(built: BuiltProfile): void {
    if (this.#profiles.acquire(built.profile.name, built.profile)) for (const chain of built.chains) this.#actions.acquire(chain.name, chain);
  }

  #releaseProfile(name: string): void {
    const gone = this.#profiles.release(name);
    for (const action of gone?.actions ?? []) this.#actions.release(action);
  }

  #setDispatch(name: DispatchName, address: string, group: string | null): void {
    const map = this.#dispatch.get(name) as Map<string, string>;
    const old = map.get(address) ?? null;
    if (old === group) return;
    let log = this.#log.dispatch.get(name);
    if (log === undefined) this.#log.dispatch.set(name, log = new Map());
    recordFirst(log, address, old);
    if (group === null) map.delete(address);
    else map.set(address, group);
  }

  /** Makes the endpoint a subject: its groups (created when new) and its dispatch entries. */
  #subscribe(state: EndpointState): void {
    assert(state.subjects.length === 0, `endpoint ${state.key} is not subscribed twice`);
    for (const direction of directions) {
      const rules = applicableRules(this.#context, direction, state.endpoint);
      if (isUnconstrained(rules)) continue;
      for (const family of families) {
        const addresses = state.endpoint.ips.filter((_ip, index) => state.addresses[index]?.family === family);
        if (addresses.length === 0) continue;
        const identity = groupIdentity(rules, family);
        const name = this.#groupName(direction, family, identity);
        const group = this.#groups.get(name) ?? this.#createGroup(rules, family, identity);
        group.members.add(state.key);
        const dispatch = dispatchName(direction, family);
        for (const address of addresses) this.#setDispatch(dispatch, address, name);
        state.subjects.push({ group: name, dispatch, addresses });
      }
    }
  }

  #unsubscribe(state: EndpointState): void {
    for (const subject of state.subjects) {
      for (const address of subject.addresses) this.#setDispatch(subject.dispatch, address, null);
      const group = this.#groups.get(subject.group);
      assert(group !== undefined, `group ${subject.group} of ${state.key} exists`);
      group.members.delete(state.key);
      if (group.members.size === 0) this.#destroyGroup(group);
    }
    state.subjects = [];
  }

  #createGroup(rules: ApplicableRules, family: Family, identity: string): GroupState {
    const decisions = this.#decisions.forRules(this.#context, rules);
    const { slots } = decisions;
    const { head: base, chains } = buildHead(rules, family, identity, { slots, runsOf: (bits) => decisions.runs(bits, null), key: decisions.key });
    const portNames = egressPortNames(rules);
    const selections = slots.map((slot) => (isSelectorSlot(slot) ? this.#selections.obtain(slot, this.#endpoints.values(), this.#context.namespaceLabels) : null));
    const variables = selectorVariables(slots, portNames);
    const built = variables === null ? [] : selectorRules(decisions, variables);
    const head: GroupHead = {
      ...base,
      selectorRules: built.map((rule) => ({
        sets: rule.variables.map((variable) => this.#selections.named(variables?.[variable] as string).setNames[family]), profile: rule.profile.profile.name,
      })),
    };
    const group: GroupState = {
      head, rules, slots, decisions, portNames, selections, variables, selectorProfiles: built.map((rule) => rule.profile),
      peers: new Map(), profileUse: new Map(), profileBySignature: new Map(), members: new Set(),
    };
    recordFirst(this.#log.groups, head.name, null);
    this.#groups.set(head.name, group);
    for (const chain of chains) this.#actions.acquire(chain.name, chain);
    for (const profile of group.selectorProfiles) this.#acquireProfile(profile);
    for (const key of variables ?? []) this.#selections.acquireSet(this.#selections.named(key), family);
    for (const selection of selections) selection?.groups.add(head.name);
    for (const port of group.portNames) {
      let names = this.#groupsByPortName.get(port);
      if (names === undefined) this.#groupsByPortName.set(port, names = new Set());
      names.add(head.name);
    }
    if (variables !== null) return group;
    const candidates = new Set<EndpointState>();
    for (const selection of selections) for (const state of selection?.selected ?? []) candidates.add(state);
    for (const port of group.portNames) for (const state of this.#byPortName.get(port) ?? []) candidates.add(state);
    for (const state of candidates) this.#updatePeer(group, state);
    return group;
  }

  #destroyGroup(group: GroupState): void {
    const name = group.head.name;
    for (const address of [...group.peers.keys()]) this.#setPeer(group, address, null);
    for (const action of group.head.actions) this.#actions.release(action);
    for (const profile of group.selectorProfiles) this.#releaseProfile(profile.profile.name);
    for (const key of group.variables ?? []) this.#selections.releaseSet(this.#selections.named(key), group.head.family);
    for (const selection of group.selections) {
      if (selection === null || selection === undefined) continue;
      selection.groups.delete(name);
      if (selection.groups.size === 0) this.#selections.markUnused(selection);
    }
    for (const port of group.portNames) {
      const names = this.#groupsByPortName.get(port);
      names?.delete(name);
      if (names?.size === 0) this.#groupsByPortName.delete(port);
    }
    recordFirst(this.#log.groups, name, group.head);
    this.#groups.delete(name);
  }

  #rebuildContext(): void {
    const { policies, namespaces } = buildPolicySet([...this.#documents.values()], { monitor: this.#monitor });
    this.#context = buildContext(policies, namespaces, []);
  }

  /**
   * After documents changed: NetworkPolicies only → regroup the endpoints of their namespaces and rebuild the
   * groups that use them; anything else → regroup everything.
   */
  /**
   * After documents changed (`keys`; `previous`: the versions they replaced or removed): NetworkPolicies only →
   * regroup the endpoints an old or a new version selects, and rebuild the groups whose rules include one;
   * anything else → regroup everything.
   */
  #policiesChanged(keys: readonly string[], previous: readonly PolicyDocument[]): void {
    if (keys.length === 0) return;
    this.#rebuildContext();
    const versions = [...previous, ...keys.map((key) => this.#documents.get(key)).filter((document): document is PolicyDocument => document !== undefined)];
    const policies = versions.filter((document): document is NetworkPolicy => document.kind === 'NetworkPolicy');
    if (policies.length !== versions.length) {
      this.#regroup([...this.#endpoints.values()], new Set(this.#groups.keys()), true);
      return;
    }
    const changedKeys = new Set(policies.map((policy) => `${policy.namespace}/${policy.name}`));
    const stale = new Set<string>();
    for (const [name, group] of this.#groups) {
      if (group.rules.networkPolicies.some((policy) => changedKeys.has(`${policy.namespace}/${policy.name}`))) stale.add(name);
    }
    const selected = (state: EndpointState): boolean => policies.some((policy) =>
      policy.namespace === state.endpoint.namespace && selectorMatches(policy.podSelector, state.endpoint.labels));
    this.#regroup([...this.#endpoints.values()].filter(selected), stale);
  }

  /**
   * Recomputes the groups of `candidates` under the current context; groups in `stale` are rebuilt even if their
   * identity stays (their rules' content changed). Unsubscribes all first, so stale groups go before reuse.
   * `reselect`: the namespaces' labels may have changed, so selections left without groups are recomputed
   * rather than taken up again.
   */
  #regroup(candidates: readonly EndpointState[], stale: ReadonlySet<string>, reselect = false): void {
    const moving = candidates.filter((state) => {
      if (state.subjects.some((subject) => stale.has(subject.group))) return true;
      const names: string[] = [];
      for (const direction of directions) {
        const rules = applicableRules(this.#context, direction, state.endpoint);
        if (isUnconstrained(rules)) continue;
        for (const family of families) {
          if (state.addresses.some((address) => address.family === family)) names.push(this.#groupName(direction, family, groupIdentity(rules, family)));
        }
      }
      return names.join(' ') !== state.subjects.map((subject) => subject.group).join(' ');
    });
    for (const state of moving) this.#unsubscribe(state);
    if (reselect) this.#selections.dropUnused();
    for (const name of stale) assert(!this.#groups.has(name), `stale group ${name} lost all its members`);
    for (const state of moving.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))) this.#subscribe(state);
  }
}
