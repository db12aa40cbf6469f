/**
 * `berth cluster …`: swarm-style membership (init, join, leave, rm, ls, join-token), sent to the local berthd over
 * its unix socket (BERTH_SOCKET, default /run/berth/berthd.sock). Join tokens never travel in argv (any user can read
 * a process's command line): `join` reads one from a file or stdin.
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { callDaemon, socketPathFrom, DaemonClientError } from '../../daemon/client.js';
import { parseDurationSeconds } from '../../daemon/options.js';
import { formatJson, formatOf, formatTable, outputOption, print, progress, show, type OutputFormat } from '../output.js';

interface CommonOptions {
  readonly output: OutputFormat;
  readonly socketPath: string;
}

/**
 * Membership changes (init, join, leave, rm) wait for etcd to start, add, promote or remove a member and for several
 * auth changes (users, roles), each a Raft write: on a loaded host that takes a while, so allow them time.
 */
const membershipTimeoutMs = 180_000;
export const requestTimeoutMs = 60_000;

export function withCommonOptions(command: Command, defaultFormat: OutputFormat = 'table'): Command {
  return command
    .addOption(outputOption(defaultFormat))
    .option('--socket <path>', 'berthd socket (env BERTH_SOCKET)');
}

export function common(options: { output?: unknown; socket?: unknown }): CommonOptions {
  return { output: formatOf(options), socketPath: socketPathFrom(process.env, typeof options.socket === 'string' ? options.socket : undefined) };
}

interface Listing {
  clusterId: string;
  nodeId: string;
  hosts: Array<{
    nodeId: string; hostname: string; role: string; addresses: string[]; joinPort: number; alive: boolean; self: boolean; certificateExpiresAt?: string;
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
    host.certificateExpiresAt?.replace(/\.\d+Z$/, 'Z') ?? '-',
  ]);
  for (const member of listing.otherMembers) {
    rows.push([`(member ${member.memberId})`, member.name || '-', 'manager?', member.peerUrls.join(','), '-', member.learner ? 'learner' : member.healthy ? 'healthy' : 'unhealthy', '', '', '', '-']);
  }
  return `${formatTable(['NODE', 'HOSTNAME', 'ROLE', 'ADDRESS', 'ALIVE', 'ETCD', 'LEADER', 'TERM', 'INDEX', 'CERT EXPIRES'], rows)}\n\ncluster ${listing.clusterId}`;
}

function managerAddress(listing: Listing): string {
  const self = listing.hosts.find((host) => host.self);
  if (self?.addresses[0] === undefined) return '<manager-address>';
  const address = self.addresses[0].includes(':') ? `[${self.addresses[0]}]` : self.addresses[0];
  return self.joinPort === 2377 ? address : `${address}:${self.joinPort}`;
}

function joinInstructions(role: string, token: string, address: string): string {
  return [
    `To add a ${role}, save this token on it in a file only root can read (e.g. /root/berth-${role}.token):`,
    `    ${token}`,
    'then run there:',
    `    berth cluster join --token-file /root/berth-${role}.token ${address}`,
  ].join('\n');
}

/** The token from a file, or from stdin for `-`; surrounding whitespace dropped. */
async function readToken(source: string): Promise<string> {
  let text: string;
  try {
    text = source === '-' ? await readStdin() : await readFile(source, 'utf8');
  } catch (error) {
    throw new DaemonClientError('USAGE', `Cannot read the join token from ${source === '-' ? 'stdin' : source}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  const token = text.trim();
  if (token === '' || token.length > 1024) throw new DaemonClientError('USAGE', `No join token in ${source === '-' ? 'stdin' : source}`);
  return token;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > 4096) break;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parseTtl(text: string): number {
  let seconds: number;
  try {
    seconds = parseDurationSeconds(text);
  } catch {
    seconds = Number.NaN;
  }
  if (!(seconds >= 1 && seconds <= 365 * 86_400)) throw new DaemonClientError('USAGE', `Invalid --ttl ${JSON.stringify(text.slice(0, 20))}: expected a duration like 30m, 24h or 7d (at most 365d)`);
  return seconds;
}

export function registerClusterCommands(program: Command): void {
  const cluster = program.command('cluster').description('cluster membership: init, join, leave, rm, ls, join-token');

  withCommonOptions(cluster.command('init').description('create a cluster with this host as its first manager (prints the worker join token)'))
    .action(async (options: { output?: string; socket?: string }) => {
      const o = common(options);
      progress(o.output, 'Initialising the cluster: certificate authority, etcd member, access control…');
      const result = await callDaemon({ socketPath: o.socketPath, method: 'POST', path: '/v1/cluster/init', body: {}, timeoutMs: membershipTimeoutMs }) as {
        clusterId: string; nodeId: string; workerToken: string;
      };
      if (o.output === 'json') return print(formatJson(result));
      const listing = await callDaemon({ socketPath: o.socketPath, method: 'GET', path: '/v1/cluster', timeoutMs: requestTimeoutMs }) as Listing;
      const address = managerAddress(listing);
      print([
        `Cluster ${result.clusterId} initialised; this host (${result.nodeId}) is its manager.`,
        '', joinInstructions('worker', result.workerToken, address),
        '', 'To add a manager, print its token with `berth cluster join-token manager`.',
      ].join('\n'));
    });

  withCommonOptions(cluster.command('join').description('join a cluster through one of its managers')
    .requiredOption('--token-file <file>', 'file holding the join token (`-` reads it from stdin); never pass a token as an argument')
    .argument('<address>', "a manager's ADDR[:PORT] (port 2377 by default)"))
    .action(async (address: string, options: { output?: string; socket?: string; tokenFile: string }) => {
      const o = common(options);
      const token = await readToken(options.tokenFile);
      progress(o.output, `Joining the cluster through ${address}…`);
      const result = await callDaemon({ socketPath: o.socketPath, method: 'POST', path: '/v1/cluster/join', body: { token, address }, timeoutMs: membershipTimeoutMs }) as {
        clusterId: string; nodeId: string; role: string;
      };
      show(o.output, result, () => `This host (${result.nodeId}) joined cluster ${result.clusterId} as a ${result.role}.`);
    });

  withCommonOptions(cluster.command('leave').description('leave the cluster (a manager is removed from etcd first)')
    .option('--force', 'leave even as the last manager (destroys the cluster for this host), or when the cluster is unreachable'))
    .action(async (options: { output?: string; socket?: string; force?: boolean }) => {
      const o = common(options);
      progress(o.output, 'Leaving the cluster…');
      const result = await callDaemon({ socketPath: o.socketPath, method: 'POST', path: '/v1/cluster/leave', body: { force: options.force === true }, timeoutMs: membershipTimeoutMs }) as {
        clusterId: string; nodeId: string;
      };
      show(o.output, result, () => `This host (${result.nodeId}) left cluster ${result.clusterId}.`);
    });

  withCommonOptions(cluster.command('rm').description('remove another host from the cluster and revoke its certificates (managers)')
    .argument('<node>', 'node id as `berth cluster ls` shows it'))
    .action(async (nodeId: string, options: { output?: string; socket?: string }) => {
      const o = common(options);
      progress(o.output, `Removing ${nodeId} from the cluster…`);
      const result = await callDaemon({ socketPath: o.socketPath, method: 'POST', path: '/v1/cluster/rm', body: { nodeId }, timeoutMs: membershipTimeoutMs }) as { nodeId: string; role?: string };
      show(o.output, result, () => `Removed ${result.role ?? 'node'} ${result.nodeId}; its certificates are revoked.`);
    });

  withCommonOptions(cluster.command('ls').description('hosts, roles, etcd member health, leader, raft term/index, berthd liveness, certificate expiry'))
    .action(async (options: { output?: string; socket?: string }) => {
      const o = common(options);
      // The policy line comes from this host's berthd alone, so it is shown even when the store is not reachable.
      const [listing, policy] = await Promise.allSettled([
        callDaemon({ socketPath: o.socketPath, method: 'GET', path: '/v1/cluster', timeoutMs: requestTimeoutMs }) as Promise<Listing>,
        callDaemon({ socketPath: o.socketPath, method: 'GET', path: '/v1/policy/status', timeoutMs: requestTimeoutMs }) as Promise<{ summary: string }>,
      ]);
      const policyLine = policy.status === 'fulfilled' ? `policy: ${policy.value.summary}` : undefined;
      if (listing.status === 'rejected') {
        if (policyLine !== undefined && o.output !== 'json') print(policyLine);
        throw listing.reason;
      }
      if (o.output === 'json') return print(formatJson({ ...listing.value, ...(policy.status === 'fulfilled' ? { policy: policy.value } : {}) }));
      print([formatListing(listing.value), ...(policyLine === undefined ? [] : [policyLine])].join('\n'));
    });

  withCommonOptions(cluster.command('join-token').description('print (or --rotate) the join token for managers or workers')
    .argument('<role>', 'manager or worker')
    .option('--rotate', 'replace the token; the old one stops working at once')
    .option('--ttl <duration>', 'issue a new token (replacing the current one) that expires after this long, e.g. 30m, 24h, 7d')
    .option('-q, --quiet', 'print only the token'))
    .action(async (role: string, options: { output?: string; socket?: string; rotate?: boolean; quiet?: boolean; ttl?: string }) => {
      const o = common(options);
      if (role !== 'manager' && role !== 'worker') throw new DaemonClientError('USAGE', `Invalid role ${JSON.stringify(role)}: expected manager or worker`);
      const ttlSeconds = options.ttl === undefined ? undefined : parseTtl(options.ttl);
      const result = await callDaemon({
        socketPath: o.socketPath, method: 'POST', path: '/v1/cluster/join-token', body: { role, rotate: options.rotate === true, ttlSeconds }, timeoutMs: requestTimeoutMs,
      }) as { role: string; token: string };
      if (o.output === 'json') return print(formatJson(result));
      if (options.quiet === true) return print(result.token);
      const listing = await callDaemon({ socketPath: o.socketPath, method: 'GET', path: '/v1/cluster', timeoutMs: requestTimeoutMs }) as Listing;
      const address = managerAddress(listing);
      const fresh = options.rotate === true || ttlSeconds !== undefined;
      print(`${fresh ? `New token${options.ttl === undefined ? '' : ` (expires in ${options.ttl})`}; the previous one no longer works.\n` : ''}${joinInstructions(role, result.token, address)}`);
    });
}
