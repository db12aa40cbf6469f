/** What machine and which versions a benchmark run measured: read once at the start and the load again at the end. */
import { spawnSync } from 'node:child_process';
import { cpus, loadavg, release, totalmem } from 'node:os';

export interface Machine {
  readonly cpus: number;
  readonly cpuModel: string;
  readonly memoryBytes: number;
  readonly kernel: string;
  readonly loadStart: readonly number[];
  readonly loadEnd: readonly number[];
  readonly versions: Readonly<Record<string, string>>;
}

const versionTimeoutMs = 10_000;

/** The first line of a command's output matching `pattern` (its first group), or 'not installed'. */
function versionOf(argv: readonly string[], pattern: RegExp): string {
  const [file, ...args] = argv;
  const result = spawnSync(file as string, args, { encoding: 'utf8', timeout: versionTimeoutMs, env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } });
  const match = pattern.exec(`${result.stdout ?? ''}\n${result.stderr ?? ''}`);
  return match?.[1] ?? 'not installed';
}

export function readVersions(): Record<string, string> {
  return {
    node: process.versions.node,
    kernel: release(),
    etcd: versionOf(['etcd', '--version'], /etcd Version: (\S+)/),
    runc: versionOf(['runc', '--version'], /runc version (\S+)/),
    'reference CNI plugins': versionOf(['dpkg-query', '-W', '-f', '${Version}', 'containernetworking-plugins'], /^(\S+)/),
    iperf3: versionOf(['iperf3', '--version'], /iperf (\S+)/),
    nftables: versionOf(['nft', '--version'], /nftables v(\S+)/),
  };
}

export function machineAtStart(): Omit<Machine, 'loadEnd'> {
  return {
    cpus: cpus().length, cpuModel: cpus()[0]?.model.trim() ?? 'unknown', memoryBytes: totalmem(), kernel: release(),
    loadStart: loadavg(), versions: readVersions(),
  };
}

export function machineAtEnd(start: Omit<Machine, 'loadEnd'>): Machine {
  return { ...start, loadEnd: loadavg() };
}
