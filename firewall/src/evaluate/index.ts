export { decide, Evaluator, parseProtocolText, type Decision, type FlowQuery, type Packet } from './decide.js';
export { decideDirection, type DirectionDecision, type Tier, type Verdict } from './direction.js';
export { applicableRules, buildContext, isUnconstrained, addressKey, type ApplicableRules, type Direction, type EvaluationContext } from './context.js';
export { portMatches, portsMatch, networkPolicyPeerMatches, adminPeerMatches, podSetSelects, type PeerAddress } from './match.js';
