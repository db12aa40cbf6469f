/**
 * What least privilege costs: the same etcd member (Berth's CA and certificates, mTLS) under the same write load,
 * with etcd auth off (any certificate may do anything, as before cluster trust) and on (CN = user, role checks on
 * every request, as Berth runs it), interleaved in one run.
 * Run: node conformance/dist/src/bench/trust.js [--quick] [--seconds S] [--rounds N] [--result FILE] Writes go through Berth's store client as a manager's
 * store traffic does. Not a test: nothing is asserted.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import {
  EtcdMember, Store, bootstrapAuth, buildCrl, clientUrl, createClusterCa, createNodeKeyAndCsr, defineCollection, etcdTimingTuned, issueAdminCertificate,
  issueNodeCertificate, managerPeerName, newClusterId, newNodeId, openEtcdClient, peerUrl, waitForEtcdHealthy,
} from '@berth/secrets';
import { monotonicClock } from '../linearizability/index.js';
import { benchEntry, numberArg } from './cli.js';
import { median, sideMeasurements } from './result.js';

export interface TrustBenchOptions {
  readonly writers: number;
  readonly seconds: number;
  readonly rounds: number;
}

export const defaultTrustBenchOptions: TrustBenchOptions = { writers: 16, seconds: 3, rounds: 3 };
const quickTrustBenchOptions: TrustBenchOptions = { writers: 16, seconds: 0.5, rounds: 2 };

export interface TrustBenchReport {
  readonly options: TrustBenchOptions;
  /** Writes/s per round with etcd auth off and on. */
  readonly off: readonly number[];
  readonly on: readonly number[];
}
const benchKv = defineCollection<string>('conformance/bench-trust', (value) => {
  if (typeof value !== 'string') throw new TypeError('expected a string');
  return value;
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function writesPerSecond(store: Store, { writers, seconds }: TrustBenchOptions): Promise<number> {
  let ops = 0;
  const endMs = monotonicClock.nowMs() + seconds * 1000;
  await Promise.all(Array.from({ length: writers }, async (_, writer) => {
    for (let n = 0; monotonicClock.nowMs() < endMs; n += 1) {
      await store.put(benchKv, `w${writer}-${n % 16}`, 'v'.repeat(64));
      ops += 1;
    }
  }));
  return ops / seconds;
}

export async function benchTrust(options: TrustBenchOptions): Promise<TrustBenchReport> {
  if (!(options.writers >= 1 && options.writers <= 256 && options.seconds >= 0.5 && options.seconds <= 60 && options.rounds >= 1 && options.rounds <= 20)) {
    throw new RangeError('trust bench: writers 1..256, seconds 0.5..60, rounds 1..20');
  }
  const root = `/tmp/bt-bench-trust-${randomBytes(4).toString('hex')}`;
  await mkdir(root, { recursive: true, mode: 0o700 });
  const clusterId = newClusterId();
  const ca = await createClusterCa({ clusterId });
  const nodeId = newNodeId();
  const { privateKeyPem, csrPem } = await createNodeKeyAndCsr();
  const certPem = await issueNodeCertificate({ ca, subjectKey: { csrPem }, nodeId, role: 'manager', addresses: ['127.0.0.1'] });
  const adminPem = await issueAdminCertificate({ ca, subjectKey: { csrPem }, nodeId });
  const files = { caFile: join(root, 'ca.crt'), certFile: join(root, 'node.crt'), keyFile: join(root, 'node.key'), crlFile: join(root, 'crl.pem') };
  await writeFile(files.caFile, ca.certificatePem);
  await writeFile(files.certFile, certPem);
  await writeFile(files.keyFile, privateKeyPem, { mode: 0o600 });
  await writeFile(files.crlFile, await buildCrl(ca, []));
  const ports = { client: await freePort(), peer: await freePort() };
  const member = new EtcdMember({
    config: {
      name: nodeId, dataDir: join(root, 'data'), advertiseAddress: '127.0.0.1', clientPort: ports.client, peerPort: ports.peer,
      tls: { ...files, peerAllowedName: managerPeerName(clusterId) },
      initialCluster: [{ name: nodeId, peerUrl: peerUrl('127.0.0.1', ports.peer) }], initialClusterState: 'new', clusterToken: `berth-${clusterId}`,
      timing: etcdTimingTuned, autoCompactionRetention: '1h', quotaBackendBytes: 256 * 1024 * 1024, logFile: join(root, 'etcd.log'), logLevel: 'error',
    },
    pidFile: join(root, 'member.pid'),
  });
  const url = clientUrl('127.0.0.1', ports.client);
  const tls = { caPem: ca.certificatePem, certPem, keyPem: privateKeyPem };
  const nodeKv = openEtcdClient({ endpoints: [url], tls });
  const adminKv = openEtcdClient({ endpoints: [url], tls: { ...tls, certPem: adminPem } });
  try {
    await member.start();
    await waitForEtcdHealthy(url, tls, { timeoutMs: 30_000 });
    await bootstrapAuth(adminKv.client, nodeId);
    const store = new Store(nodeKv);
    await writesPerSecond(store, options);
    const samples = { off: [] as number[], on: [] as number[] };
    for (let round = 0; round < options.rounds; round += 1) {
      samples.on.push(await writesPerSecond(store, options));
      await adminKv.client.auth.authDisable();
      samples.off.push(await writesPerSecond(store, options));
      await adminKv.client.auth.authEnable();
    }
    return { options, ...samples };
  } finally {
    await nodeKv.close();
    await adminKv.close();
    await member.stop();
    await rm(root, { recursive: true, force: true });
  }
}


export function formatTrustReport({ options, off, on }: TrustBenchReport): string {
  return [
    `etcd auth cost: one member, ${options.writers} writers of 64-byte values through Berth's store, ${options.seconds} s per run, on/off interleaved × ${options.rounds} after a warm-up`,
    `  auth off (no least privilege): ${off.map((v) => v.toFixed(0)).join(', ')} writes/s, median ${median(off).toFixed(0)}`,
    `  auth on  (Berth):              ${on.map((v) => v.toFixed(0)).join(', ')} writes/s, median ${median(on).toFixed(0)}`,
    `  on/off: ${(median(on) / median(off)).toFixed(2)}`,
  ].join('\n') + '\n';
}

benchEntry({
  moduleUrl: import.meta.url,
  run: (argv, quick) => {
    const base = quick ? quickTrustBenchOptions : defaultTrustBenchOptions;
    return benchTrust({ ...base, seconds: numberArg(argv, '--seconds', base.seconds), rounds: numberArg(argv, '--rounds', base.rounds) });
  },
  format: formatTrustReport,
  measurements: (report) => sideMeasurements('store writes, 16 writers', 'writes/s', new Map([['etcd auth on (Berth)', report.on], ['etcd auth off', report.off]])),
});
