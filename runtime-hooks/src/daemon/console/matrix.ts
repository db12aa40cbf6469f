/**
 * The console's reachability matrix: every (source, destination) pair of registered endpoints for one protocol and
 * port, decided by the evaluator `berth policy explain` uses; and the what-if diff between two such matrices.
 * Pure: data in, data out.
 */
import {
  Evaluator, FirewallCode, FirewallError, buildPolicySet, endpointKey, parseProtocolText, type Decision, type FirewallSnapshot, type PolicyDocument, type Tier, type Verdict,
} from '@berth/firewall';

/** A matrix of more endpoints than this is refused: 200² = 40 000 decisions is a page a person can still read. */
export const matrixEndpointsMax = 200;

export interface MatrixCell {
  readonly from: string;
  readonly to: string;
  /** `none` when the pair shares no address family (no packet can flow). */
  readonly verdict: Verdict | 'none';
  readonly tier: Tier | null;
  readonly policy: string | null;
}

export interface Matrix {
  readonly protocol: number;
  readonly port: number | null;
  /** `NAMESPACE/NAME`, sorted. */
  readonly endpoints: readonly string[];
  /** Row-major: cells[i * n + j] is endpoints[i] → endpoints[j]. */
  readonly cells: readonly MatrixCell[];
}

export interface FlowSelection {
  readonly protocol: number | string;
  readonly port: number | null;
}

function cell(evaluator: Evaluator, from: string, to: string, protocol: number, port: number | null): MatrixCell {
  let decision: Decision;
  try {
    decision = evaluator.decide({ from, to, protocol, port });
  } catch (error) {
    if (error instanceof FirewallError) return { from, to, verdict: 'none', tier: null, policy: null };
    throw error;
  }
  return { from, to, verdict: decision.verdict, tier: decision.tier, policy: decision.policy };
}

/** The matrix of a state: its documents (later ones replace earlier ones of the same key), endpoints and monitor flag. */
export function computeMatrix(snapshot: FirewallSnapshot, selection: FlowSelection): Matrix {
  if (snapshot.endpoints.length > matrixEndpointsMax) {
    throw new FirewallError(FirewallCode.InvalidArgument, `Cannot draw the matrix: ${snapshot.endpoints.length} endpoints is more than ${matrixEndpointsMax}; use \`berth policy explain\``);
  }
  const protocol = parseProtocolText(selection.protocol);
  const { policies, namespaces } = buildPolicySet(snapshot.documents, { monitor: snapshot.monitor });
  const evaluator = new Evaluator(policies, namespaces, snapshot.endpoints);
  const endpoints = snapshot.endpoints.map(endpointKey).sort();
  const cells = endpoints.flatMap((from) => endpoints.map((to) => cell(evaluator, from, to, protocol, selection.port)));
  return { protocol, port: selection.port, endpoints, cells };
}

/** The snapshot as it would be after applying `documents` (nothing is stored). */
export function withDocuments(snapshot: FirewallSnapshot, documents: readonly PolicyDocument[]): FirewallSnapshot {
  return { ...snapshot, documents: [...snapshot.documents, ...documents] };
}

export interface CellChange {
  readonly from: string;
  readonly to: string;
  readonly before: MatrixCell;
  readonly after: MatrixCell;
}

/** Cells whose verdict, tier or deciding policy differ. Both matrices must be of the same endpoints and flow. */
export function diffMatrices(before: Matrix, after: Matrix): CellChange[] {
  if (before.endpoints.join('\n') !== after.endpoints.join('\n') || before.protocol !== after.protocol || before.port !== after.port) {
    throw new Error('diffMatrices: the matrices are not of the same endpoints and flow');
  }
  const changes: CellChange[] = [];
  for (const [index, was] of before.cells.entries()) {
    const now = after.cells[index];
    if (now === undefined) throw new Error('diffMatrices: cell count differs');
    if (was.verdict !== now.verdict || was.tier !== now.tier || was.policy !== now.policy) changes.push({ from: was.from, to: was.to, before: was, after: now });
  }
  return changes;
}
