/**
 * compile(): (policies, namespaces, endpoints) → the table's content, from scratch. Pure: same input, same
 * output, including names (objects are named by a hash of what identifies them, never by a counter). It is the
 * incremental compiler's bulk load, so incremental updates and compiles from scratch share every builder.
 */
import type { Endpoint, Namespace, PolicyDocument, PolicySet } from '../model/types.js';
import { FirewallCompiler } from './compiler.js';
import type { CompiledFirewall } from './ir.js';

export interface FirewallInput {
  readonly policies: PolicySet;
  readonly namespaces: readonly Namespace[];
  readonly endpoints: readonly Endpoint[];
}

export function compile(input: FirewallInput): CompiledFirewall {
  const compiler = new FirewallCompiler();
  const documents: PolicyDocument[] = [
    ...input.namespaces, ...input.policies.adminPolicies, ...(input.policies.baseline === null ? [] : [input.policies.baseline]), ...input.policies.networkPolicies,
  ];
  compiler.load({ documents, endpoints: input.endpoints, monitor: input.policies.monitor });
  return compiler.compiled();
}
