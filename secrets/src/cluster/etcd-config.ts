import { isIP } from 'node:net';
import { isAbsolute } from 'node:path';
import { ClusterError, ClusterErrorCode } from './errors.js';

/** Raft timing. etcd requires the election timeout to be at least 5 heartbeats. */
export interface EtcdTiming {
  readonly heartbeatIntervalMs: number;
  readonly electionTimeoutMs: number;
}

/** Tuned for a LAN: a dead leader is replaced in about half a second instead of etcd's one second or more. */
export const etcdTimingTuned: EtcdTiming = { heartbeatIntervalMs: 50, electionTimeoutMs: 500 };
/** etcd's own defaults, kept for comparison (benchmark) and for slow links. */
export const etcdTimingEtcdDefault: EtcdTiming = { heartbeatIntervalMs: 100, electionTimeoutMs: 1000 };

export const etcdClientPortDefault = 2379;
export const etcdPeerPortDefault = 2380;
export const quotaBackendBytesDefault = 2 * 1024 * 1024 * 1024;
export const autoCompactionRetentionDefault = '1h';

export interface EtcdTlsFiles {
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
  /** Revoked serials, read by etcd for every new client and peer connection. */
  readonly crlFile: string;
  /** The DNS name a peer's certificate must be valid for (only manager certificates carry it). */
  readonly peerAllowedName: string;
}

export interface EtcdPeer {
  readonly name: string;
  readonly peerUrl: string;
}

export interface EtcdMemberConfig {
  readonly name: string;
  readonly dataDir: string;
  readonly advertiseAddress: string;
  readonly clientPort: number;
  readonly peerPort: number;
  readonly tls: EtcdTlsFiles;
  readonly initialCluster: readonly EtcdPeer[];
  readonly initialClusterState: 'new' | 'existing';
  readonly clusterToken: string;
  readonly timing: EtcdTiming;
  readonly autoCompactionRetention: string;
  readonly quotaBackendBytes: number;
  readonly logFile: string;
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error';
}

const namePattern = /^[a-z0-9][a-z0-9-]{0,62}$/;

export function urlHost(address: string): string {
  return isIP(address) === 6 ? `[${address}]` : address;
}

export function clientUrl(address: string, port: number): string {
  return `https://${urlHost(address)}:${port}`;
}

export function peerUrl(address: string, port: number): string {
  return `https://${urlHost(address)}:${port}`;
}

/** Rejects configurations etcd would reject later, or that would break Berth's invariants (mTLS only). */
export function validateEtcdMemberConfig(config: EtcdMemberConfig): void {
  const fail = (what: string): never => {
    throw new ClusterError(ClusterErrorCode.RequestInvalid, `Invalid etcd member configuration: ${what}`);
  };
  if (!namePattern.test(config.name)) fail(`name ${JSON.stringify(config.name)}`);
  if (!isAbsolute(config.dataDir)) fail(`data dir ${config.dataDir} is not absolute`);
  if (isIP(config.advertiseAddress) === 0) fail(`advertise address ${config.advertiseAddress} is not an IP address`);
  for (const port of [config.clientPort, config.peerPort]) {
    if (!Number.isInteger(port) || port < 1 || port > 65_535) fail(`port ${port}`);
  }
  if (config.clientPort === config.peerPort) fail('client and peer ports are the same');
  const { heartbeatIntervalMs, electionTimeoutMs } = config.timing;
  if (!Number.isInteger(heartbeatIntervalMs) || heartbeatIntervalMs < 10 || heartbeatIntervalMs > 5_000) fail(`heartbeat ${heartbeatIntervalMs} ms`);
  if (!Number.isInteger(electionTimeoutMs) || electionTimeoutMs < 5 * heartbeatIntervalMs || electionTimeoutMs > 50_000) {
    fail(`election timeout ${electionTimeoutMs} ms (at least 5 heartbeats, at most 50 s)`);
  }
  if (config.initialCluster.length === 0 || !config.initialCluster.some((peer) => peer.name === config.name)) fail('initial cluster does not name this member');
  for (const peer of config.initialCluster) {
    if (!namePattern.test(peer.name) || !/^https:\/\/[0-9a-fA-F.:[\]]+:\d+$/.test(peer.peerUrl)) fail(`peer ${peer.name}=${peer.peerUrl}`);
  }
  if (!/^[a-z0-9-]{1,64}$/.test(config.clusterToken)) fail('cluster token');
  if (!isAbsolute(config.tls.crlFile)) fail(`CRL file ${config.tls.crlFile} is not absolute`);
  if (!/^[a-z0-9][a-z0-9.-]{0,100}$/.test(config.tls.peerAllowedName)) fail(`peer name ${config.tls.peerAllowedName}`);
  if (!/^\d+[smh]?$/.test(config.autoCompactionRetention)) fail(`auto-compaction retention ${config.autoCompactionRetention}`);
  if (!Number.isSafeInteger(config.quotaBackendBytes) || config.quotaBackendBytes < 16 * 1024 * 1024) fail(`quota ${config.quotaBackendBytes}`);
}

/**
 * The etcd 3.4 command line for a member: mutual TLS on every URL, a CRL on both ports, peers restricted to manager
 * certificates, pre-vote, tuned timing, compaction, quota.
 */
export function etcdArguments(config: EtcdMemberConfig): string[] {
  validateEtcdMemberConfig(config);
  const client = clientUrl(config.advertiseAddress, config.clientPort);
  const loopback = clientUrl('127.0.0.1', config.clientPort);
  const listenClient = client === loopback ? [client] : [client, loopback];
  const peer = peerUrl(config.advertiseAddress, config.peerPort);
  const { caFile, certFile, keyFile, crlFile, peerAllowedName } = config.tls;
  return [
    `--name=${config.name}`,
    `--data-dir=${config.dataDir}`,
    `--listen-client-urls=${listenClient.join(',')}`,
    `--advertise-client-urls=${client}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=${config.initialCluster.map((p) => `${p.name}=${p.peerUrl}`).join(',')}`,
    `--initial-cluster-state=${config.initialClusterState}`,
    `--initial-cluster-token=${config.clusterToken}`,
    '--client-cert-auth=true', `--trusted-ca-file=${caFile}`, `--cert-file=${certFile}`, `--key-file=${keyFile}`,
    '--peer-client-cert-auth=true', `--peer-trusted-ca-file=${caFile}`, `--peer-cert-file=${certFile}`, `--peer-key-file=${keyFile}`,
    `--client-crl-file=${crlFile}`, `--peer-crl-file=${crlFile}`, `--peer-cert-allowed-hostname=${peerAllowedName}`,
    '--pre-vote=true',
    `--heartbeat-interval=${config.timing.heartbeatIntervalMs}`,
    `--election-timeout=${config.timing.electionTimeoutMs}`,
    '--auto-compaction-mode=periodic',
    `--auto-compaction-retention=${config.autoCompactionRetention}`,
    `--quota-backend-bytes=${config.quotaBackendBytes}`,
    '--strict-reconfig-check=true',
    '--enable-v2=false',
    '--logger=zap',
    `--log-outputs=${config.logFile}`,
    `--log-level=${config.logLevel}`,
  ];
}
