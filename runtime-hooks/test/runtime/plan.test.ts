import t from 'tap';
import { defaultSpec } from '../../src/runtime/default-spec.js';
import { parseMessage } from '../../src/runtime/helper.js';
import { parseMountOptions } from '../../src/runtime/mount-options.js';
import { createPlan } from '../../src/runtime/plan-create.js';
import { mountSteps } from '../../src/runtime/plan-mounts.js';
import { encodeRecords } from '../../src/runtime/plan-records.js';
import { withHome } from '../../src/runtime/plan-process.js';
import { parseSpec } from '../../src/runtime/validate.js';

const spec = parseSpec(JSON.stringify({ ...defaultSpec(), hooks: { createContainer: [{ path: '/bin/hook', args: ['hook', 'cc'], env: ['A=1'], timeout: 5 }] } }));
const plan = createPlan({
  spec, rootfs: '/b/rootfs', stateDir: '/run/s/c1', mounts: [], cgroupProcsFiles: ['/sys/fs/cgroup/pids/c1/cgroup.procs'],
  cgroupView: { version: 1, hierarchies: [] }, env: ['PATH=/bin', 'HOME=/root'], forkMode: 'detached', hostHasKcore: false,
});
const ops = plan.map((record) => record[0]);

t.test('the parent stage: fifo, cgroups, new namespaces, then the fork', async (t) => {
  t.same(plan.slice(0, 4), [
    ['mkfifo', '/run/s/c1/exec.fifo'],
    ['cgroup-join', '/sys/fs/cgroup/pids/c1/cgroup.procs'],
    ['unshare', (0x20000000 | 0x40000000 | 0x8000000 | 0x4000000 | 0x20000).toString(16)],
    ['fork', 'detached'],
  ]);
  t.same(plan[4], ['loopback-up'], 'a new network namespace gets lo up first, as runc does');
  const base = defaultSpec();
  const joined = parseSpec(JSON.stringify({ ...base, linux: { ...(base['linux'] as object), namespaces: [{ type: 'mount' }, { type: 'uts' }, { type: 'network', path: '/run/netns/x' }] } }));
  const joinedPlan = createPlan({
    spec: joined, rootfs: '/b/rootfs', stateDir: '/run/s/c2', mounts: [], cgroupProcsFiles: [],
    cgroupView: { version: 1, hierarchies: [] }, env: ['PATH=/bin'], forkMode: 'detached', hostHasKcore: false,
  });
  t.notOk(joinedPlan.some((record) => record[0] === 'loopback-up'), 'a joined network namespace is left as it is');
});

t.test('the child stage follows runc\'s order: mounts, hooks sync, createContainer, pivot, identity, ready, start, exec', async (t) => {
  const order = ['sync', 'hook', 'pivot-root', 'hostname', 'readonly', 'mask', 'rlimit', 'no-new-privileges', 'bounding', 'user', 'capabilities', 'umask', 'chdir', 'process', 'lookup', 'ready', 'wait-start', 'exec', 'end'];
  const positions = order.map((op) => ops.indexOf(op));
  t.same(positions, [...positions].sort((a, b) => a - b), `in order: ${order.join(' ')}`);
  t.ok(positions.every((position) => position > 0), 'every step present');
  t.same(plan.find((record) => record[0] === 'hook'), ['hook', 'createContainer', '5', '/bin/hook', '2', 'hook', 'cc', 'A=1']);
  t.same(plan.find((record) => record[0] === 'capabilities'), ['capabilities', '20000420', '20000420', '0', '20000420']);
  t.same(plan.find((record) => record[0] === 'process'), ['process', '1', 'sh', 'PATH=/bin', 'HOME=/root']);
  t.equal(ops.filter((op) => op === 'mask').length, 10);
});

t.test('bind mounts are remounted for their flags; propagation comes last', async (t) => {
  const steps = mountSteps({
    mount: { destination: '/data', type: 'bind', source: '/host', options: ['rbind', 'ro', 'nosuid', 'rprivate'] },
    target: '/b/rootfs/data', source: '/host', sourceIsFile: false, options: parseMountOptions(['rbind', 'ro', 'nosuid', 'rprivate']),
  }, { version: 1, hierarchies: [] });
  t.same(steps, [
    ['mkdir', '/b/rootfs/data'],
    ['mount', '/host', '/b/rootfs/data', '', '5000', ''],
    ['mount', '', '/b/rootfs/data', '', '1023', ''],
    ['mount', '', '/b/rootfs/data', '', '44000', ''],
  ]);
  t.same(parseMountOptions(['nosuid', 'mode=755', 'size=65536k', 'tmpcopyup']), { flags: 2, propagation: [], data: 'mode=755,size=65536k' });
});

t.test('records on the wire; messages back', async (t) => {
  t.equal(encodeRecords([['fork', 'wait'], ['end']]).toString(), '2\0fork\0wait\0' + '1\0end\0');
  t.throws(() => encodeRecords([['mount', 'a\0b']]), TypeError);
  t.same(parseMessage('pid 42'), { kind: 'pid', pid: 42 });
  t.same(parseMessage('error mount: /proc on /x: Permission denied'), { kind: 'error', step: 'mount', detail: '/proc on /x: Permission denied' });
  t.same(parseMessage('sync hooks'), { kind: 'sync', point: 'hooks' });
  t.equal(parseMessage('garbage').kind, 'error');
});

t.test('HOME: the spec\'s, else the user\'s home from the container\'s passwd, else /', async (t) => {
  const passwd = 'root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000::/home/user:/bin/sh\n';
  t.same(withHome(['HOME=/x'], 0, passwd), ['HOME=/x']);
  t.same(withHome([], 1000, passwd), ['HOME=/home/user']);
  t.same(withHome([], 7, passwd), ['HOME=/']);
  t.same(withHome([], 0, undefined), ['HOME=/']);
});
