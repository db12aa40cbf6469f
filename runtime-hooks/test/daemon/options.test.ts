import t from 'tap';
import { parseDaemonOptions } from '../../src/daemon/options.js';
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
