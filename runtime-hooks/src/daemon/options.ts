import { networkInterfaces, hostname } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { berthSocketDefault } from './client.js';
import { etcdClientPortDefault, etcdPeerPortDefault, etcdTimingTuned, joinPortDefault, parseAddressWithPort, type EtcdTiming } from '@berth/secrets';

export const berthRootDefault = '/var/lib/berth';
export { berthSocketDefault };
export const berthRunDirDefault = '/run/berth';

export interface DaemonOptions {
  readonly root: string;
  readonly socketPath: string;
  /** Runtime dir (BERTH_RUN_DIR): containers' secrets tmpfs live under `<runDir>/secrets/<containerId>/`. */
  readonly runDir: string;
  readonly advertiseAddress: string;
  readonly joinPort: number;
  readonly etcdClientPort: number;
  readonly etcdPeerPort: number;
  readonly timing: EtcdTiming;
  readonly leaseTtlSeconds: number;
  readonly hostname: string;
}

function integer(min: number, max: number) {
  return (value: string): number => {
    const number = Number(value);
    if (!/^\d+$/.test(value) || number < min || number > max) throw new InvalidArgumentError(`expected an integer in ${min}..${max}`);
    return number;
  };
}

/** The first global-scope address of this host (its network namespace): what peers can reach. */
export function defaultAdvertiseAddress(): string {
  for (const entries of Object.values(networkInterfaces())) {
    for (const entry of entries ?? []) {
      if (!entry.internal && entry.family === 'IPv4') return entry.address;
    }
  }
  return '127.0.0.1';
}

/** `berthd [--root DIR] [--advertise ADDR[:PORT]] …`; environment: BERTH_ROOT, BERTH_SOCKET, BERTH_RUN_DIR. */
export function parseDaemonOptions(argv: readonly string[], env: NodeJS.ProcessEnv): DaemonOptions {
  const program = new Command('berthd')
    .description('Berth host agent: cluster membership (etcd member on managers), local API on a unix socket')
    .option('--root <dir>', 'state directory (env BERTH_ROOT)', env['BERTH_ROOT'] ?? berthRootDefault)
    .option('--socket <path>', 'local API socket (env BERTH_SOCKET)', env['BERTH_SOCKET'] ?? berthSocketDefault)
    .option('--run-dir <dir>', 'runtime dir for containers\' secrets tmpfs (env BERTH_RUN_DIR)', env['BERTH_RUN_DIR'] ?? berthRunDirDefault)
    .option('--advertise <addr[:port]>', `address (and join port, default ${joinPortDefault}) other hosts reach this one on`)
    .option('--etcd-client-port <port>', 'etcd client port', integer(1, 65_535), etcdClientPortDefault)
    .option('--etcd-peer-port <port>', 'etcd peer port', integer(1, 65_535), etcdPeerPortDefault)
    .option('--heartbeat-ms <ms>', 'etcd heartbeat interval', integer(10, 5_000), etcdTimingTuned.heartbeatIntervalMs)
    .option('--election-ms <ms>', 'etcd election timeout (at least 5 heartbeats)', integer(50, 50_000), etcdTimingTuned.electionTimeoutMs)
    .option('--lease-ttl <seconds>', 'liveness lease TTL', integer(2, 300), 10)
    .exitOverride()
    .showHelpAfterError();
  program.parse([...argv], { from: 'user' });
  const opts = program.opts<{ root: string; socket: string; runDir: string; advertise?: string; etcdClientPort: number; etcdPeerPort: number; heartbeatMs: number; electionMs: number; leaseTtl: number }>();
  const advertise = parseAddressWithPort(opts.advertise ?? defaultAdvertiseAddress(), joinPortDefault);
  if (opts.electionMs < 5 * opts.heartbeatMs) throw new InvalidArgumentError(`--election-ms ${opts.electionMs} must be at least 5 × --heartbeat-ms ${opts.heartbeatMs}`);
  return {
    root: isAbsolute(opts.root) ? opts.root : resolve(opts.root),
    socketPath: isAbsolute(opts.socket) ? opts.socket : resolve(opts.socket),
    runDir: isAbsolute(opts.runDir) ? opts.runDir : resolve(opts.runDir),
    advertiseAddress: advertise.address,
    joinPort: advertise.port,
    etcdClientPort: opts.etcdClientPort,
    etcdPeerPort: opts.etcdPeerPort,
    timing: { heartbeatIntervalMs: opts.heartbeatMs, electionTimeoutMs: opts.electionMs },
    leaseTtlSeconds: opts.leaseTtl,
    hostname: hostname().replace(/[^a-zA-Z0-9.-]/g, '-').replace(/^[^a-zA-Z0-9]+/, '') || 'host',
  };
}
