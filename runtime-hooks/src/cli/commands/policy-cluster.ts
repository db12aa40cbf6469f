/**
 * `berth policy …` on a host in a cluster: the documents live in the cluster store and every host's berthd
 * enforces them, so the commands go to the local berthd (writes on a manager). Which path a command takes:
 *   --netns PATH                          the CLI path (state files, that namespace), as without a cluster
 *   berthd answers and is in a cluster    this module
 *   berthd answers, no cluster            the CLI path
 *   no berthd, host never joined          the CLI path
 *   no berthd, host joined a cluster      an error: a CLI-path transaction would replace the table berthd enforces
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { defaultRoot } from '@berth/firewall';
import { callDaemon, DaemonClientError, socketPathFrom } from '../../daemon/client.js';

const requestTimeoutMs = 60_000;

export interface ClusterPolicyStatus {
  readonly cluster: boolean;
  readonly enforcing: boolean;
  readonly storeReachable: boolean;
  readonly summary: string;
}

/** The socket to use when this host's policies are the cluster's; undefined for the CLI path. */
export async function clusterSocket(netns: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  if (netns !== undefined) return undefined;
  const socketPath = socketPathFrom(env);
  const joined = existsSync(join(defaultRoot(env), 'cluster', 'state.json'));
  try {
    const status = await callDaemon({ socketPath, method: 'GET', path: '/v1/policy/status', timeoutMs: 10_000 }) as ClusterPolicyStatus;
    return status.cluster ? socketPath : undefined;
  } catch (error) {
    if (error instanceof DaemonClientError && error.code === 'UNREACHABLE' && !joined) return undefined;
    if (error instanceof DaemonClientError && error.code === 'NOT_FOUND') return undefined;
    throw new DaemonClientError(error instanceof DaemonClientError ? error.code : 'UNREACHABLE',
      `${error instanceof Error ? error.message : String(error)}; this host is in a cluster, whose policies only berthd may enforce (use --netns for a namespace of your own)`);
  }
}

export function clusterCall(socketPath: string, method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<unknown> {
  return callDaemon({ socketPath, method, path, body, timeoutMs: requestTimeoutMs });
}

export function policyPath(key: string): string {
  return `/v1/policies/${encodeURIComponent(key)}`;
}
