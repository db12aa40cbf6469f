import t from 'tap';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { claimInstance } from '../../src/daemon/instance-lock.js';
import { daemonExitCodes, defaultAdvertiseAddress, parseDaemonOptions } from '../../src/daemon/options.js';
import { renderPrometheus } from '../../src/daemon/metrics.js';

t.test('berthd options: defaults, environment, flags, and refusals', async (t) => {
  const defaults = parseDaemonOptions(['--advertise', '10.0.0.5'], {});
  t.match(defaults, { root: '/var/lib/berth', socketPath: '/run/berth/berthd.sock', runDir: '/run/berth', advertiseAddress: '10.0.0.5', joinPort: 2377, etcdClientPort: 2379, etcdPeerPort: 2380 });
  t.same(defaults.timing, { heartbeatIntervalMs: 50, electionTimeoutMs: 500 });
  const fromEnv = parseDaemonOptions(['--advertise', '10.0.0.5:4000'], { BERTH_ROOT: '/tmp/r', BERTH_SOCKET: '/tmp/s.sock' });
  t.match(fromEnv, { root: '/tmp/r', socketPath: '/tmp/s.sock', joinPort: 4000 });
  t.equal(parseDaemonOptions(['--advertise', '10.0.0.5'], { BERTH_RUN_DIR: '/tmp/run' }).runDir, '/tmp/run', 'BERTH_RUN_DIR');
  t.equal(parseDaemonOptions(['--root', '/x', '--advertise', '10.0.0.5'], { BERTH_ROOT: '/tmp/r' }).root, '/x', 'the flag beats the environment');
  t.throws(() => parseDaemonOptions(['--advertise', 'node1'], {}), { code: 'REQUEST_INVALID' });
  t.throws(() => parseDaemonOptions(['--advertise', '10.0.0.5', '--heartbeat-ms', '200', '--election-ms', '500'], {}), /at least 5/);
  t.throws(() => parseDaemonOptions(['--advertise', '10.0.0.5', '--etcd-client-port', '99999'], {}));
  t.equal(defaults.certificateValiditySeconds, 90 * 86_400, 'node certificates live 90 days by default');
  t.equal(parseDaemonOptions(['--advertise', '10.0.0.5', '--cert-validity', '36h'], {}).certificateValiditySeconds, 36 * 3_600);
  t.throws(() => parseDaemonOptions(['--advertise', '10.0.0.5', '--cert-validity', '10m'], {}), /3600 s to 3 years/, 'below an hour only through the hidden test option');
  t.equal(parseDaemonOptions(['--advertise', '10.0.0.5', '--cert-validity-seconds', '30'], {}).certificateValiditySeconds, 30);
});

t.test('berthd refuses an invalid or unknown option with one clear line and exit code 2, before it touches anything', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'bt-berthd-opts-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  const berthd = fileURLToPath(new URL('../../bin/berthd.js', import.meta.url));
  const cases: [string[], RegExp][] = [
    [['--bogus'], /^berthd: unknown option '--bogus'\n\(berthd --help lists the options\)\n$/],
    [['--lease-ttl', 'x'], /^berthd: option '--lease-ttl <seconds>' argument 'x' is invalid\. expected an integer in 2\.\.300\n/],
    [['--socket'], /^berthd: option '--socket <path>' argument missing\n/],
    [['start'], /^berthd: too many arguments/],
    [['--advertise', 'node1'], /^berthd: Invalid address "node1"/],
    [['--advertise', '10.0.0.5', '--heartbeat-ms', '200', '--election-ms', '500'], /^berthd: --election-ms 500 must be at least 5 × --heartbeat-ms 200\n$/],
  ];
  for (const [args, message] of cases) {
    const result = spawnSync(process.execPath, [berthd, '--root', root, '--socket', join(root, 's.sock'), ...args], {
      encoding: 'utf8', timeout: 30_000, env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' },
    });
    t.equal(result.status, daemonExitCodes.usage, `berthd ${args.join(' ')}: exit 2`);
    t.match(result.stderr, message);
    t.equal(result.stdout, '', 'nothing on stdout');
  }
  t.same(await readdir(root), [], 'no state written, no socket made');
});

t.test('the default advertise address: the one non-loopback IPv4 address, loopback without one, refused when ambiguous', async (t) => {
  const entry = (address: string, internal = false) => ({ address, internal, family: 'IPv4' as const, netmask: '255.255.255.0', mac: '00:00:00:00:00:00', cidr: null });
  t.equal(defaultAdvertiseAddress({ lo: [entry('127.0.0.1', true)], eth0: [entry('10.0.0.5')] }), '10.0.0.5');
  t.equal(defaultAdvertiseAddress({ lo: [entry('127.0.0.1', true)] }), '127.0.0.1');
  t.throws(() => defaultAdvertiseAddress({ eth0: [entry('10.0.0.5')], eth1: [entry('192.168.1.7')] }), /Cannot choose an advertise address: this host has 10\.0\.0\.5, 192\.168\.1\.7; pass --advertise/);
});

t.test('one berthd per state root: an flock, released on exit', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'bt-lock-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  const release = await claimInstance(root);
  await t.rejects(claimInstance(root), /Another berthd is running with state root/);
  await release();
  const again = await claimInstance(root);
  await again();
});

t.test('Prometheus text: HELP/TYPE once per family, escaped labels, empty families omitted', async (t) => {
  const text = renderPrometheus([
    { name: 'a_total', help: 'things', type: 'counter', values: [{ labels: { op: 'put' }, value: 3 }, { labels: { op: 'we"ird\n' }, value: 1 }] },
    { name: 'b', help: 'nothing', type: 'gauge', values: [] },
  ]);
  t.equal(text, '# HELP a_total things\n# TYPE a_total counter\na_total{op="put"} 3\na_total{op="we\\"ird\\n"} 1\n');
  const histogram = renderPrometheus([{ name: 'lag_ms', help: 'lag', type: 'histogram', values: [{ labels: { le: '5' }, value: 1, suffix: '_bucket' }, { value: 3, suffix: '_sum' }, { value: 1, suffix: '_count' }] }]);
  t.equal(histogram, '# HELP lag_ms lag\n# TYPE lag_ms histogram\nlag_ms_bucket{le="5"} 1\nlag_ms_sum 3\nlag_ms_count 1\n', 'histogram series');
});
