/**
 * The verdicts a group's rules give a peer signature (which peers of the rules match, and the peer endpoint's
 * container ports where egress named ports resolve), memoized across groups: a signature is decided once per
 * distinct rules-as-the-decision-sees-them. Rules that differ only in NetworkPolicy names decide alike (names
 * only appear in explanations), so the per-pod copies of one templated policy cost one set of decisions.
 */
import type { Endpoint, PortMatch } from '../model/types.js';
import type { ApplicableRules, EvaluationContext } from '../evaluate/context.js';
import { buildProfile } from './build.js';
import { applicablePorts, peerSlots, profileRuns, signatureMatcher, type ProtocolRun, type Slot } from './group.js';

export type BuiltProfile = ReturnType<typeof buildProfile>;

/** Past this many memoized signatures the memo starts over (a bound on memory, not on correctness). */
export const memoEntriesMax = 50_000;

const bigintAsText = (_key: string, value: unknown): unknown => (typeof value === 'bigint' ? value.toString(16) : value);

/**
 * Everything decideWithMatcher reads of the context and the rules, except the matcher (the signature): the
 * global monitor flag, the direction, the subject's namespace (and ports, for ingress named ports), and the
 * rules with their policies' monitor flags (and admin policy names, which name the actions). With the group's
 * identity it also determines the group's default and boxes (ipBlock CIDRs are in the rules): its fingerprint.
 */
function decisionKey(context: EvaluationContext, rules: ApplicableRules, ports: readonly PortMatch[]): string {
  // The subject's namespace names NetworkPolicy drop actions, and its ports resolve ingress named ports; only then
  // do they matter (and then every member of the group shares them: the group identity says so).
  const usesNamedPorts = rules.direction === 'ingress' && ports.some((port) => port.kind === 'named');
  return JSON.stringify([
    context.policies.monitor, rules.direction, rules.networkPolicies.length > 0 ? rules.subject.namespace : null,
    usesNamedPorts ? rules.subject.namedPorts.map((port) => `${port.name}/${port.protocol}/${port.port}`).sort() : [],
    rules.admin.map(({ policy, rule }) => [policy.name, policy.monitor, rule]),
    rules.networkPolicies.map((policy) => [policy.monitor, policy[rules.direction]]),
    rules.baseline.map(({ policy, rule }) => [policy.monitor, rule]),
  ], bigintAsText);
}

export class DecisionMemo {
  readonly #runs = new Map<string, ProtocolRun[]>();
  readonly #profiles = new Map<string, BuiltProfile>();

  forRules(context: EvaluationContext, rules: ApplicableRules): RuleDecisions {
    return new RuleDecisions(this, context, rules);
  }

  /** @internal */
  cached<T>(map: 'runs' | 'profiles', key: string, compute: () => T): T {
    const entries = (map === 'runs' ? this.#runs : this.#profiles) as Map<string, T>;
    let value = entries.get(key);
    if (value === undefined) {
      if (entries.size >= memoEntriesMax) entries.clear();
      value = compute();
      entries.set(key, value);
    }
    return value;
  }
}

/** The decisions of one group's rules. */
export class RuleDecisions {
  readonly slots: readonly Slot[];
  readonly index: ReadonlyMap<object, number>;
  readonly ports: readonly PortMatch[];
  readonly #memo: DecisionMemo;
  readonly #context: EvaluationContext;
  readonly #rules: ApplicableRules;
  /** See decisionKey. */
  readonly key: string;

  constructor(memo: DecisionMemo, context: EvaluationContext, rules: ApplicableRules) {
    const { slots, index } = peerSlots(rules);
    this.slots = slots;
    this.index = index;
    this.ports = applicablePorts(rules);
    this.#memo = memo;
    this.#context = context;
    this.#rules = rules;
    this.key = decisionKey(context, rules, this.ports);
  }

  #signature(bits: readonly boolean[], endpoint: Endpoint | null): string {
    // Only egress named ports resolve on the peer endpoint.
    const named = endpoint === null || this.#rules.direction === 'ingress' ? '' : JSON.stringify(endpoint.namedPorts);
    return `${this.key}|${bits.map((bit) => (bit ? '1' : '0')).join('')}|${named}`;
  }

  runs(bits: readonly boolean[], endpoint: Endpoint | null): ProtocolRun[] {
    return this.#memo.cached('runs', this.#signature(bits, endpoint),
      () => profileRuns(this.#context, this.#rules, signatureMatcher(this.index, bits, endpoint), this.ports));
  }

  profile(bits: readonly boolean[], endpoint: Endpoint | null): BuiltProfile {
    return this.#memo.cached('profiles', this.#signature(bits, endpoint), () => buildProfile(this.runs(bits, endpoint)));
  }
}
