/**
 * berth-runtime as podman's OCI runtime (`podman --runtime`), next to runc, through the same engine commands:
 * run (output, exit code, podman's own seccomp profile and ulimits), run -d + exec + stop + rm, and a terminal
 * (-t: conmon hands berth-runtime a console socket). Inside a test host netns; containers get --network none.
 */
import t from 'tap';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { execCommand, TestHost } from '../../src/harness/index.js';
import { berthImplementation, createPodmanSandbox, type PodmanSandbox } from '../../src/cni/index.js';
import { berthRuntimePath, buildBusyboxRootfs } from '../../src/runtime/index.js';

const hasEngine = existsSync('/usr/bin/podman') && (existsSync('/usr/sbin/runc') || existsSync('/usr/bin/runc'));

interface EngineOutcome {
  readonly run: string;
  readonly execCode: number;
  readonly stopAndRemove: string;
  readonly terminal: string;
}

async function throughPodman(sandbox: PodmanSandbox, runtime: string, rootfs: string, name: string): Promise<EngineOutcome> {
  const podman = (args: readonly string[]) => sandbox.podman(['--runtime', runtime, ...args]);
  const common = ['--network', 'none', '--rootfs', rootfs];
  const run = await podman(['run', '--rm', ...common, 'sh', '-c', 'echo hello; ulimit -n; grep "^Seccomp:" /proc/self/status; exit 5']);
  const detached = await podman(['run', '-d', '--name', name, ...common, 'sleep', '60']);
  const exec = await podman(['exec', name, 'sh', '-c', 'echo exec-ok; exit 3']);
  const stop = await podman(['stop', '-t', '0', name]);
  const remove = await podman(['rm', name]);
  const line = ['podman', '--root', join(sandbox.dir, 'root'), '--runroot', join(sandbox.dir, 'runroot'), '--storage-driver', 'vfs',
    '--tmpdir', join(sandbox.dir, 'tmp'), '--runtime', runtime, 'run', '--rm', '-t', ...common, 'sh', '-c', 'tty; echo tty-ok']
    .map((word) => `'${word}'`).join(' ');
  const terminal = await execCommand(['script', '-qec', `CONTAINERS_CONF='${join(sandbox.dir, 'containers.conf')}' nsenter --net=${sandbox.host.path} -- ${line}`, '/dev/null'], { timeoutMs: 120_000 });
  return {
    run: `${run.code} ${run.stdout.replace(/\s+/g, ' ').trim()}`,
    execCode: exec.code,
    stopAndRemove: `${detached.code} ${stop.code} ${remove.code}`,
    terminal: `${terminal.code} ${terminal.stdout.replace(/\r/g, '').replace(/\s+/g, ' ').trim()}`,
  };
}

t.test('podman runs containers with berth-runtime as it does with runc', { skip: hasEngine ? false : 'podman or runc not installed' }, async (t) => {
  const host = await TestHost.create(t, 'podrt');
  const sandbox = await createPodmanSandbox(t, host, {
    pluginDir: berthImplementation.pluginDir,
    conflist: () => ({ cniVersion: '1.0.0', name: 'btpodrt', plugins: [{ type: 'berth-none' }] }),
  });
  const rootfs = await buildBusyboxRootfs(join(sandbox.dir, 'busybox'));
  const runc = await throughPodman(sandbox, 'runc', rootfs, 'with-runc');
  const berth = await throughPodman(sandbox, berthRuntimePath, rootfs, 'with-berth');
  t.comment(`runc: ${JSON.stringify(runc)}`);
  t.same(berth, runc, 'the same outcomes as under runc');
  t.match(berth.run, /^5 hello \d+ Seccomp: 2$/, 'output, exit code, podman\'s ulimit and seccomp filter');
  t.equal(berth.execCode, 3, 'podman exec exit code');
  t.equal(berth.stopAndRemove, '0 0 0', 'run -d, stop, rm');
  t.equal(berth.terminal, '0 /dev/pts/0 tty-ok', 'a terminal through conmon\'s console socket');
});
