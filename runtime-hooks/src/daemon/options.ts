import { networkInterfaces, hostname } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { berthSocketDefault } from './client.js';
import { parseConsoleAddress, type ConsoleAddress } from './console/listener.js';
import { cniConfDirDefault } from '../networks/conf-dir.js';
import {
  etcdClientPortDefault, etcdPeerPortDefault, etcdTimingTuned, joinPortDefault, nodeCertificateValiditySecondsDefault, nodeCertificateValiditySecondsMin,
  parseAddressWithPort, type EtcdTiming,
} from '@berth/secrets';

export const berthRootDefault = '/var/lib/berth';
export { berthSocketDefault };
export const berthRunDirDefault = '/run/berth';

/** berthd's exit codes: 0 stopped cleanly (or --help), 1 could not start, 2 invalid command line. */
export const daemonExitCodes = { ok: 0, startFailed: 1, usage: 2 } as const;

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
  /** Life of the node certificates this host signs as a manager (its own and joiners'). */
  readonly certificateValiditySeconds: number;
  readonly hostname: string;
  /** Where cluster networks' conflists are written (BERTH_CNI_CONF_DIR, default /etc/cni/net.d). */
  readonly cniConfDir: string;
  /** `--console 127.0.0.1:PORT`: the web console on a loopback TCP port too (it is always on the unix socket). */
  readonly console: ConsoleAddress | undefined;
  /** Tests only: the netns file cluster policies are enforced in (default: berthd's own namespace, the host's). */
  readonly firewallNetns: string | undefined;
}

function integer(min: number, max: number) {
  return (value: string): number => {
    const number = Number(value);
    if (!/^\d+$/.test(value) || number < min || number > max) throw new InvalidArgumentError(`expected an integer in ${min}..${max}`);
    return number;
  };
}

/**
 * The one non-loopback IPv4 address of this host (its network namespace): what peers can reach. Loopback when there
 * is none (a one-host cluster); refused when there are several, since picking one would be a guess.
 */
export function defaultAdvertiseAddress(interfaces = networkInterfaces()): string {
  const candidates = Object.values(interfaces).flatMap((entries) => entries ?? []).filter((entry) => !entry.internal && entry.family === 'IPv4').map((entry) => entry.address);
  const unique = [...new Set(candidates)];
  // A plain error, not commander's: it is raised after parsing, and berthd's main prints only non-commander errors.
  if (unique.length > 1) throw new RangeError(`Cannot choose an advertise address: this host has ${unique.join(', ')}; pass --advertise ADDR[:PORT]`);
  return unique[0] ?? '127.0.0.1';
}

const durationUnitsSeconds: Record<string, number> = { s: 1, m: 60, h: 3_600, d: 86_400 };

/** `90d`, `36h`, `30m`, `45s` → seconds. */
export function parseDurationSeconds(text: string): number {
  const match = /^(\d{1,7})([smhd])$/.exec(text);
  if (match?.[1] === undefined || match[2] === undefined) throw new InvalidArgumentError(`expected a duration like 90d, 36h, 30m or 45s, not ${JSON.stringify(text.slice(0, 20))}`);
  return Number(match[1]) * (durationUnitsSeconds[match[2]] ?? 1);
}

function validity(minSeconds: number) {
  return (value: string): number => {
    const seconds = /^\d+$/.test(value) ? Number(value) : parseDurationSeconds(value);
    if (seconds < minSeconds || seconds > 3 * 365 * 86_400) throw new InvalidArgumentError(`expected ${minSeconds} s to 3 years`);
    return seconds;
  };
}

/** `berthd [--root DIR] [--advertise ADDR[:PORT]] …`; environment: BERTH_ROOT, BERTH_SOCKET, BERTH_RUN_DIR. */
export function parseDaemonOptions(argv: readonly string[], env: NodeJS.ProcessEnv): DaemonOptions {
  const program = new Command('berthd')
    .description('Berth host agent: cluster membership (etcd member on managers), local API on a unix socket')
    .option('--root <dir>', 'state directory (env BERTH_ROOT)', env['BERTH_ROOT'] ?? berthRootDefault)
    .option('--socket <path>', 'local API socket (env BERTH_SOCKET)', env['BERTH_SOCKET'] ?? berthSocketDefault)
    .option('--run-dir <dir>', 'runtime dir for containers\' secrets tmpfs (env BERTH_RUN_DIR)', env['BERTH_RUN_DIR'] ?? berthRunDirDefault)
    .option('--cni-conf-dir <dir>', 'CNI config directory the cluster\'s networks are written to (env BERTH_CNI_CONF_DIR)', env['BERTH_CNI_CONF_DIR'] || cniConfDirDefault)
    .option('--advertise <addr[:port]>', `address (and join port, default ${joinPortDefault}) other hosts reach this one on`)
    .option('--console <addr:port>', 'also serve the web console on this loopback address (127.0.0.1:PORT), behind a per-start token', parseConsoleAddress)
    .option('--etcd-client-port <port>', 'etcd client port', integer(1, 65_535), etcdClientPortDefault)
    .option('--etcd-peer-port <port>', 'etcd peer port', integer(1, 65_535), etcdPeerPortDefault)
    .option('--heartbeat-ms <ms>', 'etcd heartbeat interval', integer(10, 5_000), etcdTimingTuned.heartbeatIntervalMs)
    .option('--election-ms <ms>', 'etcd election timeout (at least 5 heartbeats)', integer(50, 50_000), etcdTimingTuned.electionTimeoutMs)
    .option('--lease-ttl <seconds>', 'liveness lease TTL', integer(2, 300), 10)
    .option('--cert-validity <duration>', 'life of node certificates signed by this manager, e.g. 90d or 36h (renewed at 2/3)', validity(3_600), nodeCertificateValiditySecondsDefault)
    // Tests only: lives of seconds, so renewal can be watched happen.
    .addOption(new Option('--cert-validity-seconds <seconds>').hideHelp().argParser(validity(nodeCertificateValiditySecondsMin)))
    // Tests only: a berthd started in the root namespace enforces cluster policies in a test namespace instead.
    .addOption(new Option('--firewall-netns <path>').hideHelp())
    .exitOverride()
    // One line a user can act on (commander's own would be followed by the whole help).
    .configureOutput({ outputError: (text, write) => write(`berthd: ${text.replace(/^error: /, '')}`) })
    .showHelpAfterError('(berthd --help lists the options)');
  program.parse([...argv], { from: 'user' });
  const opts = program.opts<{
    root: string; socket: string; runDir: string; cniConfDir: string; advertise?: string; etcdClientPort: number; etcdPeerPort: number; heartbeatMs: number; electionMs: number; leaseTtl: number;
    certValidity: number; certValiditySeconds?: number; console?: ConsoleAddress; firewallNetns?: string;
  }>();
  const advertise = parseAddressWithPort(opts.advertise ?? defaultAdvertiseAddress(), joinPortDefault);
  if (opts.electionMs < 5 * opts.heartbeatMs) throw new RangeError(`--election-ms ${opts.electionMs} must be at least 5 × --heartbeat-ms ${opts.heartbeatMs}`);
  return {
    root: isAbsolute(opts.root) ? opts.root : resolve(opts.root),
    socketPath: isAbsolute(opts.socket) ? opts.socket : resolve(opts.socket),
    runDir: isAbsolute(opts.runDir) ? opts.runDir : resolve(opts.runDir),
    cniConfDir: isAbsolute(opts.cniConfDir) ? opts.cniConfDir : resolve(opts.cniConfDir),
    advertiseAddress: advertise.address,
    joinPort: advertise.port,
    etcdClientPort: opts.etcdClientPort,
    etcdPeerPort: opts.etcdPeerPort,
    timing: { heartbeatIntervalMs: opts.heartbeatMs, electionTimeoutMs: opts.electionMs },
    leaseTtlSeconds: opts.leaseTtl,
    certificateValiditySeconds: opts.certValiditySeconds ?? opts.certValidity,
    console: opts.console,
    firewallNetns: opts.firewallNetns === undefined || isAbsolute(opts.firewallNetns) ? opts.firewallNetns : resolve(opts.firewallNetns),
    hostname: hostname().replace(/[^a-zA-Z0-9.-]/g, '-').replace(/^[^a-zA-Z0-9]+/, '') || 'host',
  };
}
