import { randomBytes } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createClusterCa, newClusterId, type ClusterCaPem } from '../../src/cluster/ca.js';
import { etcdTimingTuned, peerUrl, clientUrl, type EtcdTiming, type EtcdMemberConfig } from '../../src/cluster/etcd-config.js';
import { EtcdMember, type EtcdMemberEvent } from '../../src/cluster/etcd-member.js';
import { waitForEtcdHealthy } from '../../src/cluster/etcd-probe.js';
import { createNodeKeyAndCsr, issueNodeCertificate, managerPeerName, type NodeRole } from '../../src/cluster/node-cert.js';
import { buildCrl } from '../../src/cluster/crl.js';
import type { EtcdTls } from '../../src/store/etcd-kv-store.js';

export interface TeardownTarget { teardown(fn: () => unknown): void }

export interface LocalMember {
  readonly name: string;
  readonly config: EtcdMemberConfig;
  readonly clientUrl: string;
  member: EtcdMember;
  readonly events: EtcdMemberEvent[];
  readonly pidFile: string;
}

export interface LocalEtcdCluster {
  readonly root: string;
  readonly ca: ClusterCaPem;
  readonly members: LocalMember[];
  readonly endpoints: string[];
  /** A worker-role client identity, as a Berth node's store would use. */
  readonly clientTls: EtcdTls;
  issueTls(role: NodeRole): Promise<EtcdTls>;
  /** A fresh supervisor for the same member (as a restarted berthd would make). */
  resupervise(member: LocalMember): EtcdMember;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** N etcd members on 127.0.0.1 (distinct ports), mTLS everywhere, supervised by EtcdMember; removed at teardown. */
export async function startLocalEtcdCluster(t: TeardownTarget, options: { size: number; timing?: EtcdTiming }): Promise<LocalEtcdCluster> {
  const root = `/tmp/bt-etcd-${randomBytes(4).toString('hex')}`;
  await mkdir(root, { recursive: true, mode: 0o700 });
  const clusterId = newClusterId();
  const ca = await createClusterCa({ clusterId });
  const caFile = join(root, 'ca.crt');
  await writeFile(caFile, ca.certificatePem);
  const crlFile = join(root, 'crl.pem');
  await writeFile(crlFile, await buildCrl(ca, []));
  const names = Array.from({ length: options.size }, (_, i) => `m${i + 1}`);
  const ports = await Promise.all(names.map(async () => ({ client: await freePort(), peer: await freePort() })));
  const initialCluster = names.map((name, i) => ({ name, peerUrl: peerUrl('127.0.0.1', ports[i]?.peer ?? 0) }));
  const issueTls = async (role: NodeRole, nodeId = `c${randomBytes(3).toString('hex')}`): Promise<EtcdTls> => {
    const { privateKeyPem, csrPem } = await createNodeKeyAndCsr();
    const certPem = await issueNodeCertificate({ ca, subjectKey: { csrPem }, nodeId, role, addresses: ['127.0.0.1'] });
    return { caPem: ca.certificatePem, certPem, keyPem: privateKeyPem };
  };
  const members: LocalMember[] = [];
  const clusterToken = `bt-${randomBytes(4).toString('hex')}`;
  for (const [i, name] of names.entries()) {
    const dir = join(root, name);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const tls = await issueTls('manager', name);
    await writeFile(join(dir, 'node.crt'), tls.certPem);
    await writeFile(join(dir, 'node.key'), tls.keyPem, { mode: 0o600 });
    const port = ports[i] ?? { client: 0, peer: 0 };
    const config: EtcdMemberConfig = {
      name, dataDir: join(dir, 'etcd', 'data'), advertiseAddress: '127.0.0.1', clientPort: port.client, peerPort: port.peer,
      tls: { caFile, certFile: join(dir, 'node.crt'), keyFile: join(dir, 'node.key'), crlFile, peerAllowedName: managerPeerName(clusterId) },
      initialCluster, initialClusterState: 'new', clusterToken,
      timing: options.timing ?? etcdTimingTuned, autoCompactionRetention: '1h', quotaBackendBytes: 256 * 1024 * 1024,
      logFile: join(dir, 'etcd', 'etcd.log'), logLevel: 'warn',
    };
    const events: EtcdMemberEvent[] = [];
    const pidFile = join(dir, 'etcd', 'member.pid');
    const local: LocalMember = { name, config, clientUrl: clientUrl('127.0.0.1', port.client), events, pidFile, member: undefined as unknown as EtcdMember };
    local.member = new EtcdMember({ config, pidFile, onEvent: (event) => events.push(event), limits: { restartBackoffMsInitial: 50, stopTimeoutMs: 5_000 } });
    members.push(local);
  }
  const clientTls = await issueTls('worker');
  const cluster: LocalEtcdCluster = {
    root, ca, members, endpoints: members.map((m) => m.clientUrl), clientTls, issueTls: (role) => issueTls(role),
    resupervise: (member) => {
      member.member = new EtcdMember({ config: member.config, pidFile: member.pidFile, onEvent: (event) => member.events.push(event), limits: { restartBackoffMsInitial: 50, stopTimeoutMs: 5_000 } });
      return member.member;
    },
    stop: async () => {
      await Promise.all(members.map((m) => m.member.stop().catch(() => undefined)));
      await rm(root, { recursive: true, force: true });
    },
  };
  t.teardown(() => cluster.stop());
  try {
    await Promise.all(members.map((m) => m.member.start()));
    await Promise.all(members.map((m) => waitForEtcdHealthy(m.clientUrl, clientTls, { timeoutMs: 30_000 })));
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return cluster;
}
