/**
 * `berth policy …`: NetworkPolicy and AdminNetworkPolicy tiers, enforced with nftables in the network namespace
 * the command runs in (or `--netns PATH`), with state under $BERTH_ROOT/firewall. Works with no agent. On a host in a
 * cluster the commands go to berthd instead and the policies are the cluster's (policy-cluster.ts).
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { formatJson, formatOf, formatTable, outputOption, print, type OutputFormat } from '../output.js';
import { clusterCall, clusterSocket, policyPath, type ClusterPolicyStatus } from './policy-cluster.js';
import {
  Firewall, FirewallCode, FirewallError, formatSelector, hitFlow, parseDocumentObject, documentKey, type ApplyResult, type Decision, type DirectionDecision,
  type ActionCounter, type EndpointRecord, type MonitorHit, type PodSet, type StoredDocument,
} from '@berth/firewall';

interface CommonOptions {
  readonly output: OutputFormat;
  readonly netns?: string;
}

function withCommonOptions(command: Command): Command {
  return command
    .addOption(outputOption())
    .option('--netns <path>', 'enforce in this network namespace (e.g. /run/netns/NAME) instead of the current one');
}

function common(options: { output?: unknown; netns?: unknown }): CommonOptions {
  const output = formatOf(options);
  return typeof options.netns === 'string' ? { output, netns: options.netns } : { output };
}

function firewallFor(options: CommonOptions): Firewall {
  return new Firewall(options.netns === undefined ? {} : { netns: options.netns });
}

function printJson(value: unknown): void {
  print(formatJson(value));
}

function enforcementLine(result: ApplyResult): string {
  const mode = result.mode === 'unchanged' ? 'kernel already up to date' : `${result.mode} update, generation ${result.generation} (+${result.elementsAdded}/-${result.elementsDeleted} elements)`;
  return result.fallbackReason === null || result.mode !== 'full' ? mode : `${mode}; full because ${result.fallbackReason}`;
}

function readInput(file: string): string {
  try {
    return readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (error) {
    throw new FirewallError(FirewallCode.InvalidArgument, `Cannot read ${file === '-' ? 'standard input' : file}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function describePodSet(set: PodSet): string {
  return set.kind === 'namespaces'
    ? `namespaces ${formatSelector(set.namespaceSelector)}`
    : `namespaces ${formatSelector(set.namespaceSelector)} pods ${formatSelector(set.podSelector)}`;
}

function documentRow(stored: StoredDocument): string[] {
  const document = stored.document;
  switch (document.kind) {
    case 'NetworkPolicy': {
      const types = [document.policyTypes.ingress ? 'Ingress' : '', document.policyTypes.egress ? 'Egress' : ''].filter(Boolean).join(',');
      return [document.kind, document.namespace, document.name, '-', `pods ${formatSelector(document.podSelector)} (${types})`, document.monitor ? 'yes' : 'no'];
    }
    case 'AdminNetworkPolicy':
      return [document.kind, '-', document.name, String(document.priority), describePodSet(document.subject), document.monitor ? 'yes' : 'no'];
    case 'BaselineAdminNetworkPolicy':
      return [document.kind, '-', document.name, 'baseline', describePodSet(document.subject), document.monitor ? 'yes' : 'no'];
    case 'Namespace':
      return [document.kind, '-', document.name, '-', Object.entries(document.labels).map(([key, value]) => `${key}=${value}`).join(','), '-'];
  }
}

const kindAliases: Readonly<Record<string, string>> = {
  networkpolicy: 'NetworkPolicy', np: 'NetworkPolicy', netpol: 'NetworkPolicy',
  adminnetworkpolicy: 'AdminNetworkPolicy', anp: 'AdminNetworkPolicy',
  baselineadminnetworkpolicy: 'BaselineAdminNetworkPolicy', banp: 'BaselineAdminNetworkPolicy',
  namespace: 'Namespace', ns: 'Namespace',
};

/** `NS/NAME` (NetworkPolicy) or, with --kind, the cluster-scoped NAME. */
export function documentKeyFor(reference: string, kindOption: string): string {
  const kind = kindAliases[kindOption.toLowerCase()];
  if (kind === undefined) {
    throw new FirewallError(FirewallCode.InvalidArgument, `Cannot remove: unknown --kind ${JSON.stringify(kindOption)} (expected NetworkPolicy, AdminNetworkPolicy, BaselineAdminNetworkPolicy or Namespace)`);
  }
  if (kind === 'NetworkPolicy') {
    if (!/^[^/]+\/[^/]+$/.test(reference)) throw new FirewallError(FirewallCode.InvalidArgument, `Cannot remove ${JSON.stringify(reference)}: expected NAMESPACE/NAME`);
    return `NetworkPolicy/${reference}`;
  }
  if (reference.includes('/')) throw new FirewallError(FirewallCode.InvalidArgument, `Cannot remove ${JSON.stringify(reference)}: a ${kind} is named without a namespace`);
  return `${kind}/${reference}`;
}

/** `80/tcp`, `53/udp`, `80` (TCP), `icmp` (no port). */
export function parsePortOption(text: string): { protocol: string; port: number | null } {
  const match = /^(?:(\d{1,5})(?:\/([a-zA-Z0-9]+))?|([a-zA-Z][a-zA-Z0-9]*))$/.exec(text);
  const port = match?.[1] === undefined ? null : Number(match[1]);
  if (match === null || (port !== null && (port < 1 || port > 65535))) {
    throw new FirewallError(FirewallCode.InvalidArgument, `Cannot use --port ${JSON.stringify(text)}: expected PORT[/PROTOCOL] such as 80/tcp, or a protocol such as icmp`);
  }
  return { protocol: (match[2] ?? match[3] ?? 'tcp').toLowerCase(), port };
}

function directionLine(label: string, decision: DirectionDecision | null): string {
  if (decision === null) return `${label} not a registered endpoint: not filtered`;
  return `${label} ${decision.verdict.toUpperCase()} (${decision.tier}) ${decision.reason}`;
}

function explainText(decision: Decision): string {
  const protocol = ({ 6: 'tcp', 17: 'udp', 132: 'sctp', 1: 'icmp', 58: 'icmpv6' } as Record<number, string>)[decision.protocol] ?? String(decision.protocol);
  const flow = `${decision.source} -> ${decision.destination} ${protocol}${decision.port === null ? '' : `/${decision.port}`}`;
  return [
    `${decision.verdict.toUpperCase()}  ${flow}`,
    `decided by: tier ${decision.tier}${decision.policy === null ? '' : `, ${decision.policy}`}${decision.rule === null ? '' : `, rule ${decision.rule}`}`,
    directionLine('egress: ', decision.egress),
    directionLine('ingress:', decision.ingress),
  ].join('\n');
}

function endpointRows(endpoints: readonly EndpointRecord[]): string[][] {
  return endpoints.map((endpoint) => [
    endpoint.namespace, endpoint.name, endpoint.ips.join(','), endpoint.interface,
    Object.entries(endpoint.labels).map(([key, value]) => `${key}=${value}`).join(',') || '-',
    endpoint.namedPorts.map((port) => `${port.name}:${port.port}/${port.protocol}`).join(',') || '-',
  ]);
}

interface ClusterApply {
  readonly created: readonly string[];
  readonly configured: readonly string[];
  readonly unchanged: readonly string[];
  readonly revision: number;
  readonly appliedMs: number;
}

interface ClusterList {
  readonly monitor: boolean;
  readonly documents: readonly Record<string, unknown>[];
}

function outcomeLines(outcome: { created: readonly string[]; configured: readonly string[]; unchanged: readonly string[] }): string[] {
  const lines = [
    ...outcome.created.map((key) => `${key} created`),
    ...outcome.configured.map((key) => `${key} configured`),
    ...outcome.unchanged.map((key) => `${key} unchanged`),
  ];
  return lines.length === 0 ? ['no documents in the input'] : lines;
}

function clusterState(list: ClusterList): { monitor: boolean; documents: StoredDocument[] } {
  return {
    monitor: list.monitor,
    documents: list.documents.map((raw) => {
      const document = parseDocumentObject(raw);
      return { key: documentKey(document), document, raw };
    }),
  };
}

export function registerPolicyCommands(program: Command): void {
  const policy = program.command('policy').description('network policy: Kubernetes NetworkPolicy plus AdminNetworkPolicy tiers, enforced with nftables');

  withCommonOptions(policy.command('apply'))
    .description('create or update policies and namespaces from a YAML/JSON file (all documents or none)')
    .requiredOption('-f, --filename <file>', 'file with one or more documents ("-" reads standard input)')
    .option('-n, --namespace <namespace>', 'namespace of NetworkPolicies that name none', 'default')
    .action(async (options: { filename: string; namespace: string; output?: string; netns?: string }) => {
      const settings = common(options);
      const socket = await clusterSocket(settings.netns);
      if (socket !== undefined) {
        const answer = await clusterCall(socket, 'POST', '/v1/policies', { text: readInput(options.filename), namespace: options.namespace }) as ClusterApply;
        if (settings.output === 'json') return printJson(answer);
        const stored = answer.revision === 0 ? 'nothing changed in the cluster' : `stored in the cluster at revision ${answer.revision}; enforced on this host after ${answer.appliedMs.toFixed(1)} ms (every host follows)`;
        return print([...outcomeLines(answer), stored].join('\n'));
      }
      const result = await firewallFor(settings).apply(readInput(options.filename), { defaultNamespace: options.namespace });
      if (settings.output === 'json') return printJson({ ...result.value, enforcement: result.enforcement });
      print([...outcomeLines(result.value), `enforced: ${enforcementLine(result.enforcement)}`].join('\n'));
    });

  withCommonOptions(policy.command('ls'))
    .description('list policies and namespaces')
    .action(async (options: { output?: string; netns?: string }) => {
      const settings = common(options);
      const socket = await clusterSocket(settings.netns);
      const state = socket === undefined ? firewallFor(settings).read() : clusterState(await clusterCall(socket, 'GET', '/v1/policies') as ClusterList);
      if (settings.output === 'json') return printJson({ monitor: state.monitor, documents: state.documents.map((stored) => stored.raw) });
      print(`${formatTable(['KIND', 'NAMESPACE', 'NAME', 'PRIORITY', 'SELECTS', 'MONITOR'], state.documents.map(documentRow))}\nglobal monitor mode: ${state.monitor ? 'on' : 'off'}`);
    });

  withCommonOptions(policy.command('rm'))
    .description('remove a NetworkPolicy (NAMESPACE/NAME) or, with --kind, another document')
    .argument('<reference>', 'NAMESPACE/NAME, or NAME with --kind')
    .option('-k, --kind <kind>', 'NetworkPolicy, AdminNetworkPolicy (anp), BaselineAdminNetworkPolicy (banp), Namespace', 'NetworkPolicy')
    .action(async (reference: string, options: { kind: string; output?: string; netns?: string }) => {
      const settings = common(options);
      const key = documentKeyFor(reference, options.kind);
      const socket = await clusterSocket(settings.netns);
      if (socket !== undefined) {
        const answer = await clusterCall(socket, 'DELETE', policyPath(key)) as { removed: string; revision: number; appliedMs: number };
        if (settings.output === 'json') return printJson(answer);
        return print(`${answer.removed} removed from the cluster at revision ${answer.revision}; enforced on this host after ${answer.appliedMs.toFixed(1)} ms`);
      }
      const result = await firewallFor(settings).remove(key);
      if (settings.output === 'json') return printJson({ removed: result.value, enforcement: result.enforcement });
      print(`${result.value} removed\nenforced: ${enforcementLine(result.enforcement)}`);
    });

  withCommonOptions(policy.command('endpoints'))
    .description('list registered endpoints (containers the firewall knows)')
    .action(async (options: { output?: string; netns?: string }) => {
      const settings = common(options);
      const socket = await clusterSocket(settings.netns);
      const endpoints = socket === undefined ? firewallFor(settings).read().endpoints : await clusterCall(socket, 'GET', '/v1/endpoints') as EndpointRecord[];
      if (settings.output === 'json') return printJson(endpoints);
      print(formatTable(['NAMESPACE', 'NAME', 'IPS', 'INTERFACE', 'LABELS', 'PORTS'], endpointRows(endpoints)));
    });

  withCommonOptions(policy.command('explain'))
    .description('say which tier, policy and rule decide a flow, and why')
    .requiredOption('--from <source>', 'NAMESPACE/POD of a registered endpoint, or an IP address')
    .requiredOption('--to <destination>', 'NAMESPACE/POD of a registered endpoint, or an IP address')
    .option('--port <port>', 'PORT[/PROTOCOL] (80/tcp, 53/udp) or a protocol without ports (icmp)', '80/tcp')
    .action(async (options: { from: string; to: string; port: string; output?: string; netns?: string }) => {
      const settings = common(options);
      const { protocol, port } = parsePortOption(options.port);
      const socket = await clusterSocket(settings.netns);
      const decision = socket === undefined
        ? firewallFor(settings).explain({ from: options.from, to: options.to, protocol, port })
        : await clusterCall(socket, 'POST', '/v1/policies/explain', { from: options.from, to: options.to, protocol, port }) as Decision;
      if (settings.output === 'json') return printJson(decision);
      print(explainText(decision));
    });

  withCommonOptions(policy.command('monitor'))
    .description('global monitor mode: would-be drops are counted and logged, then accepted')
    .argument('<mode>', 'on or off')
    .action(async (mode: string, options: { output?: string; netns?: string }) => {
      const settings = common(options);
      if (mode !== 'on' && mode !== 'off') throw new FirewallError(FirewallCode.InvalidArgument, `Cannot set monitor mode ${JSON.stringify(mode)}: expected on or off`);
      const socket = await clusterSocket(settings.netns);
      if (socket !== undefined) {
        const answer = await clusterCall(socket, 'POST', '/v1/policies/monitor', { monitor: mode === 'on' }) as { revision: number };
        if (settings.output === 'json') return printJson(answer);
        return print(`global monitor mode ${mode} in the cluster (revision ${answer.revision})`);
      }
      const result = await firewallFor(settings).setMonitor(mode === 'on');
      if (settings.output === 'json') return printJson({ monitor: result.value, enforcement: result.enforcement });
      print(`global monitor mode ${mode}\nenforced: ${enforcementLine(result.enforcement)}`);
    });

  withCommonOptions(policy.command('stats'))
    .description('packets dropped (and monitor hits) per deciding policy rule since the table was last rebuilt')
    .option('--drops', 'instead: the last would-be drops of monitor mode (source, destination, port), newest first')
    .action(async (options: { output?: string; netns?: string; drops?: boolean }) => {
      const settings = common(options);
      const socket = await clusterSocket(settings.netns);
      if (options.drops === true) {
        const hits = socket === undefined ? firewallFor(settings).monitorHits() : await clusterCall(socket, 'GET', '/v1/policies/drops') as MonitorHit[];
        if (settings.output === 'json') return printJson(hits);
        return print(formatTable(['ACTION', 'FROM', 'TO', 'PROTO/PORT', 'AGE'],
          hits.map((hit) => [hit.chain, hit.source, hit.destination, hitFlow(hit), `${hit.secondsAgo}s`])));
      }
      const counters = socket === undefined ? firewallFor(settings).counters() : await clusterCall(socket, 'GET', '/v1/policies/stats') as ActionCounter[];
      if (settings.output === 'json') return printJson(counters);
      print(formatTable(['ACTION', 'PACKETS', 'BYTES'], counters.map((counter) => [counter.chain, String(counter.packets), String(counter.bytes)])));
    });

  policy.command('status')
    .description('whether this host enforces the cluster\'s policies, and from which store revision (or local files)')
    .addOption(outputOption())
    .action(async (options: { output?: string }) => {
      const settings = common(options);
      const socket = await clusterSocket(undefined);
      const status = socket === undefined ? { cluster: false, summary: 'not in a cluster: policies are kept in local files (the CLI path)' } : await clusterCall(socket, 'GET', '/v1/policy/status') as ClusterPolicyStatus;
      if (settings.output === 'json') return printJson(status);
      print(`policy: ${status.summary}`);
    });

  withCommonOptions(policy.command('resync'))
    .description('rebuild the nftables table from the state in one atomic transaction')
    .action(async (options: { output?: string; netns?: string }) => {
      const settings = common(options);
      const socket = await clusterSocket(settings.netns);
      if (socket !== undefined) {
        const answer = await clusterCall(socket, 'POST', '/v1/policies/resync', {}) as { generation: number; elementsAdded: number; ms: number };
        if (settings.output === 'json') return printJson(answer);
        return print(`resynced from the cluster store: full update, generation ${answer.generation} (+${answer.elementsAdded} elements) in ${answer.ms.toFixed(1)} ms`);
      }
      const result = await firewallFor(settings).resync();
      if (settings.output === 'json') return printJson({ enforcement: result.enforcement });
      print(`enforced: ${enforcementLine(result.enforcement)}`);
    });
}
