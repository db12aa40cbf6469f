/**
 * The reference semantics of one direction (egress of the source, or ingress of the destination):
 *   1. AdminNetworkPolicy rules by priority, then rule order: first match decides Allow/Deny; Pass skips to 2.
 *   2. NetworkPolicy: if any policy selects the subject for this direction it is isolated, and the traffic is
 *      allowed only when some rule of those policies allows it (rules add up); otherwise go to 3.
 *   3. BaselineAdminNetworkPolicy rules in order: first match decides Allow/Deny.
 *   4. Nothing matched: allowed.
 * A deny becomes `monitor` (accepted, counted, logged) under global monitor mode or when the deciding policy
 * is annotated `berth.dev/monitor: "true"` (for NetworkPolicy isolation: when every isolating policy is).
 */
import type { AdminPeer, Endpoint, NetworkPolicy, NetworkPolicyPeer } from '../model/types.js';
import type { ApplicableRules, Direction, EvaluationContext } from './context.js';
import { adminPeerMatches, networkPolicyPeerMatches, portsMatch, type PeerAddress } from './match.js';

/**
 * Which peers of the applicable rules the other side of the flow matches. The evaluator answers from the
 * address and its endpoint; the compiler answers from a precomputed signature of a whole address range.
 */
export interface PeerMatcher {
  admin(peer: AdminPeer): boolean;
  networkPolicy(peer: NetworkPolicyPeer, policy: NetworkPolicy): boolean;
  /** The endpoint at the other side (its container ports name egress ports), or null. */
  readonly endpoint: Endpoint | null;
}

export function addressMatcher(context: EvaluationContext, peer: PeerAddress): PeerMatcher {
  return {
    admin: (candidate) => adminPeerMatches(candidate, peer, context.namespaceLabels),
    networkPolicy: (candidate, policy) => networkPolicyPeerMatches(candidate, peer, policy, context.namespaceLabels),
    endpoint: peer.endpoint,
  };
}

export type Verdict = 'allow' | 'deny' | 'monitor';
export type Tier = 'admin' | 'networkpolicy' | 'baseline' | 'default';

export interface DirectionDecision {
  readonly direction: Direction;
  readonly verdict: Verdict;
  readonly tier: Tier;
  /** `AdminNetworkPolicy NAME`, `NetworkPolicy NS/NAME` (comma-separated when several isolate), … */
  readonly policy: string | null;
  /** The rule's name (`ingress[0]` when unnamed). */
  readonly rule: string | null;
  readonly reason: string;
  /**
   * For deny/monitor: a stable identifier of what decided, `in/anp/NAME/3`, `eg/np/NAMESPACE`, `in/banp/0`;
   * the compiler names its counting chains after it. Null for allow.
   */
  readonly action: string | null;
}

const short: Readonly<Record<Direction, string>> = { ingress: 'in', egress: 'eg' };

function deny(base: Omit<DirectionDecision, 'verdict'>, monitored: boolean, explain: boolean): DirectionDecision {
  return {
    direction: base.direction, tier: base.tier, policy: base.policy, rule: base.rule, action: base.action,
    verdict: monitored ? 'monitor' : 'deny',
    reason: monitored && explain ? `${base.reason} (monitor mode: logged and accepted)` : base.reason,
  };
}

export function decideDirection(
  context: EvaluationContext, rules: ApplicableRules, peer: PeerAddress, protocol: number, port: number | null,
): DirectionDecision {
  return decideWithMatcher(context, rules, addressMatcher(context, peer), protocol, port);
}

/**
 * `explain`: build the human-readable `reason` (and `policy`) texts; the compiler, which needs only the verdict
 * and the action, passes false and gets empty texts from the very same decision.
 */
export function decideWithMatcher(
  context: EvaluationContext, rules: ApplicableRules, peer: PeerMatcher, protocol: number, port: number | null, explain = true,
): DirectionDecision {
  const { direction, subject } = rules;
  const destination = direction === 'ingress' ? subject : peer.endpoint;
  const globalMonitor = context.policies.monitor;
  const say = (text: () => string): string => (explain ? text() : '');
  const subjectText = say(() => `${subject.namespace}/${subject.name}`);
  let passed = '';
  for (const { policy, rule } of rules.admin) {
    if (!rule.peers.some((candidate) => peer.admin(candidate))) continue;
    if (!portsMatch(rule.ports, protocol, port, destination)) continue;
    const where = say(() => `AdminNetworkPolicy ${policy.name} (priority ${policy.priority}) rule ${rule.name}`);
    if (rule.action === 'Pass') {
      passed = say(() => `${where} passes it to NetworkPolicy; `);
      break;
    }
    const base = { direction, tier: 'admin' as const, policy: say(() => `AdminNetworkPolicy ${policy.name}`), rule: rule.name };
    if (rule.action === 'Allow') return { ...base, verdict: 'allow', reason: say(() => `${where} allows it`), action: null };
    return deny({ ...base, reason: say(() => `${where} denies it`), action: `${short[direction]}/anp/${policy.name}/${rule.index}` },
      globalMonitor || policy.monitor, explain);
  }
  if (rules.networkPolicies.length > 0) {
    for (const policy of rules.networkPolicies) {
      for (const [index, rule] of policy[direction].entries()) {
        const peerMatches = rule.peers === null
          || rule.peers.some((candidate) => peer.networkPolicy(candidate, policy));
        if (!peerMatches || !portsMatch(rule.ports, protocol, port, destination)) continue;
        const name = say(() => `${policy.namespace}/${policy.name}`);
        return {
          direction, verdict: 'allow', tier: 'networkpolicy', policy: say(() => `NetworkPolicy ${name}`), rule: `${direction}[${index}]`,
          reason: say(() => `${passed}NetworkPolicy ${name} ${direction}[${index}] allows it`), action: null,
        };
      }
    }
    const names = say(() => rules.networkPolicies.map((policy) => `${policy.namespace}/${policy.name}`).join(', '));
    return deny({
      direction, tier: 'networkpolicy', policy: say(() => `NetworkPolicy ${names}`), rule: null,
      reason: say(() => `${passed}${subjectText} is isolated for ${direction} by NetworkPolicy ${names} and no rule allows it`),
      action: `${short[direction]}/np/${subject.namespace}`,
    }, globalMonitor || rules.networkPolicies.every((policy) => policy.monitor), explain);
  }
  for (const { policy, rule } of rules.baseline) {
    if (!rule.peers.some((candidate) => peer.admin(candidate))) continue;
    if (!portsMatch(rule.ports, protocol, port, destination)) continue;
    const where = say(() => `BaselineAdminNetworkPolicy ${policy.name} rule ${rule.name}`);
    const base = { direction, tier: 'baseline' as const, policy: say(() => `BaselineAdminNetworkPolicy ${policy.name}`), rule: rule.name };
    if (rule.action === 'Allow') return { ...base, verdict: 'allow', reason: say(() => `${passed}${where} allows it`), action: null };
    return deny({ ...base, reason: say(() => `${passed}${where} denies it`), action: `${short[direction]}/banp/${rule.index}` },
      globalMonitor || policy.monitor, explain);
  }
  return {
    direction, verdict: 'allow', tier: 'default', policy: null, rule: null,
    reason: say(() => `${passed}${subjectText} is not isolated for ${direction} and no baseline rule matches: allowed by default`), action: null,
  };
}
