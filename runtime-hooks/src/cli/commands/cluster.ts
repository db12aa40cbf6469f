/**
 * `berth cluster …`: swarm-style membership (init, join, leave, ls, join-token), sent to the local berthd over
 * its unix socket (BERTH_SOCKET, default /run/berth/berthd.sock).
 */
import type { Command } from 'commander';
import { callDaemon, socketPathFrom, DaemonClientError } from '../../daemon/client.js';

type OutputFormat = 'table' | 'json';

interface CommonOptions {
  readonly output: OutputFormat;
  readonly socketPath: string;
}

/** A join waits for etcd to add, start and promote a member: allow it time. */
const joinTimeoutMs = 180_000;
export const requestTimeoutMs = 60_000;

export function withCommonOptions(command: Command): Command {
  return command
    .option('-o, --output <format>', 'output format: table or json', 'table')
    .option('--socket <path>', 'berthd socket (env BERTH_SOCKET)');
}

export function common(options: { output?: unknown; socket?: unknown }): CommonOptions {
  const output = String(options.output ?? 'table');
  if (output !== 'table' && output !== 'json') throw new DaemonClientError('USAGE', `Cannot use --output ${JSON.stringify(output)}: expected table or json`);
  return { output, socketPath: socketPathFrom(process.env, typeof options.socket === 'string' ? options.socket : undefined) };
}

export function print(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: readonly string[]): string => cells.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

interface Listing {
  clusterId: string;
  nodeId: string;
  hosts: Array<{
    nodeId: string; hostname: string; role: string; addresses: string[]; joinPort: number; alive: boolean; self: boolean;
    member?: { healthy: boolean; leader: boolean; learner: boolean; raftTerm?: number; raftIndex?: number; error?: string };
  }>;
  otherMembers: Array<{ memberId: string; name: string; learner: boolean; healthy: boolean; peerUrls: string[] }>;
}

function etcdColumn(member: Listing['hosts'][number]['member']): string {
  if (member === undefined) return '-';
  if (member.learner) return 'learner';
  return member.healthy ? 'healthy' : 'unhealthy';
}

export function formatListing(listing: Listing): string {
  const rows = listing.hosts.map((host) => [
    `${host.nodeId}${host.self ? ' *' : ''}`, host.hostname, host.role, host.addresses.join(','), host.alive ? 'yes' : 'no',
    etcdColumn(host.member), host.member?.leader === true ? 'leader' : '', String(host.member?.raftTerm ?? ''), String(host.member?.raftIndex ?? ''),
  ]);
  for (const member of listing.otherMembers) {
    rows.push([`(member ${member.memberId})`, member.name || '-', 'manager?', member.peerUrls.join(','), '-', member.learner ? 'learner' : member.healthy ? 'healthy' : 'unhealthy', '', '', '']);
  }
  return `${formatTable(['NODE', 'HOSTNAME', 'ROLE', 'ADDRESS', 'ALIVE', 'ETCD', 'LEADER', 'TERM', 'INDEX'], rows)}\n\ncluster ${listing.clusterId}`;
}

function managerAddress(listing: Listing): string {
  const self = listing.hosts.find((host) => host.self);
  if (self?.addresses[0] === undefined) return '<manager-address>';
  const address = self.addresses[0].includes(':') ? `[${self.addresses[0]}]` : self.addresses[0];
  return self.joinPort === 2377 ? address : `${address}:${self.joinPort}`;
}

function joinCommand(token: string, address: string): string {
  return `    berth cluster join ${token} ${address}`;
}

export function registerClusterCommands(program: Command): void {
  const cluster = program.command('cluster').description('cluster membership: init, join, leave, ls, join-token');

  withCommonOptions(cluster.command('init').description('create a cluster with this host as its first manager'))
    .action(async (options: { output?: string; socket?: string }) => {
      const o = common(options);
      const result = await callDaemon({ socketPath: o.socketPath, method: 'POST', path: '/v1/cluster/init', body: {}, timeoutMs: requestTimeoutMs }) as {
        clusterId: string; nodeId: string; managerToken: string; workerToken: string; advertise?: string;
      };
      if (o.output === 'json') return print(JSON.stringify(result, null, 2));
      const listing = await callDaemon({ socketPath: o.socketPath, method: 'GET', path: '/v1/cluster', timeoutMs: requestTimeoutMs }) as Listing;
      const address = managerAddress(listing);
      print([
        `Cluster ${result.clusterId} initialised; this host (${result.nodeId}) is its manager.`,
        '', 'To add a worker, run on it:', joinCommand(result.workerToken, address),
        '', 'To add a manager, run on it:', joinCommand(result.managerToken, address),
      ].join('\n'));
    });

  withCommonOptions(cluster.command('join').description('join a cluster through one of its managers')
    .argument('<token>', 'join token printed by `berth cluster init` or `berth cluster join-token`')
    .argument('<address>', "a manager's ADDR[:PORT] (port 2377 by default)"))
    .action(async (token: string, address: string, options: { output?: string; socket?: string }) => {
      const o = common(options);
      if (o.output === 'table') process.stderr.write(`Joining the cluster through ${address}…\n`);
      const result = await callDaemon({ socketPath: o.socketPath, method: 'POST', path: '/v1/cluster/join', body: { token, address }, timeoutMs: joinTimeoutMs }) as {
        clusterId: string; nodeId: string; role: string;
      };
      if (o.output === 'json') return print(JSON.stringify(result, null, 2));
      print(`This host (${result.nodeId}) joined cluster ${result.clusterId} as a ${result.role}.`);
    });

  withCommonOptions(cluster.command('leave').description('leave the cluster (a manager is removed from etcd first)')
    .option('--force', 'leave even as the last manager (destroys the cluster for this host), or when the cluster is unreachable'))
    .action(async (options: { output?: string; socket?: string; force?: boolean }) => {
      const o = common(options);
      const result = await callDaemon({ socketPath: o.socketPath, method: 'POST', path: '/v1/cluster/leave', body: { force: options.force === true }, timeoutMs: requestTimeoutMs }) as {
        clusterId: string; nodeId: string;
      };
      if (o.output === 'json') return print(JSON.stringify(result, null, 2));
      print(`This host (${result.nodeId}) left cluster ${result.clusterId}.`);
    });

  withCommonOptions(cluster.command('ls').description('hosts, roles, etcd member health, leader, raft term/index, berthd liveness'))
    .action(async (options: { output?: string; socket?: string }) => {
      const o = common(options);
      const listing = await callDaemon({ socketPath: o.socketPath, method: 'GET', path: '/v1/cluster', timeoutMs: requestTimeoutMs }) as Listing;
      print(o.output === 'json' ? JSON.stringify(listing, null, 2) : formatListing(listing));
    });

  withCommonOptions(cluster.command('join-token').description('print (or --rotate) the join token for managers or workers')
    .argument('<role>', 'manager or worker')
    .option('--rotate', 'replace the token; the old one stops working at once')
    .option('-q, --quiet', 'print only the token'))
    .action(async (role: string, options: { output?: string; socket?: string; rotate?: boolean; quiet?: boolean }) => {
      const o = common(options);
      if (role !== 'manager' && role !== 'worker') throw new DaemonClientError('USAGE', `Invalid role ${JSON.stringify(role)}: expected manager or worker`);
      const result = await callDaemon({ socketPath: o.socketPath, method: 'POST', path: '/v1/cluster/join-token', body: { role, rotate: options.rotate === true }, timeoutMs: requestTimeoutMs }) as {
        role: string; token: string;
      };
      if (o.output === 'json') return print(JSON.stringify(result, null, 2));
      if (options.quiet === true) return print(result.token);
      const listing = await callDaemon({ socketPath: o.socketPath, method: 'GET', path: '/v1/cluster', timeoutMs: requestTimeoutMs }) as Listing;
      const address = managerAddress(listing);
      print([`${options.rotate === true ? 'Rotated. ' : ''}To add a ${role} to this cluster, run on it:`, joinCommand(result.token, address)].join('\n'));
    });
}
