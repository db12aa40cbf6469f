import t from 'tap';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { containerDir, readCgroupLayout } from '../../src/runtime/cgroup-layout.js';
import { applyResources, type ContainerCgroups } from '../../src/runtime/cgroups.js';
import type { Resources } from '../../src/runtime/spec.js';

const dir = mkdtempSync(join(tmpdir(), 'bt-rtcg-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

/** A directory standing for a cgroup: the limit files exist (empty), as the kernel makes them. */
function fakeCgroup(name: string, files: readonly string[]): string {
  const path = join(dir, name);
  mkdirSync(path);
  for (const file of files) writeFileSync(join(path, file), '');
  return path;
}

const resources: Resources = {
  memoryLimitBytes: 64n << 20n, memorySwapBytes: 96n << 20n, cpuShares: 512n, cpuQuotaMicros: 50_000n, cpuPeriodMicros: 100_000n, pidsLimit: 50n, devices: [],
};

t.test('cgroup v2: runc\'s mapping of the limits (swap beyond memory, shares to weight, quota and period)', async (t) => {
  const path = fakeCgroup('v2', ['memory.max', 'memory.swap.max', 'cpu.weight', 'cpu.max', 'pids.max']);
  const cgroups: ContainerCgroups = { mode: 'v2', dirs: [{ name: 'unified', version: 2, controllers: ['cpu', 'memory', 'pids'], dir: path }], created: [] };
  applyResources(cgroups, resources, []);
  const read = (file: string): string => readFileSync(join(path, file), 'utf8');
  t.equal(read('memory.max'), String(64 << 20));
  t.equal(read('memory.swap.max'), String(32 << 20), 'swap is memory+swap in the spec, swap alone in v2');
  t.equal(read('cpu.weight'), '20', '1 + (512-2)*9999/262142');
  t.equal(read('cpu.max'), '50000 100000');
  t.equal(read('pids.max'), '50');
});

t.test('cgroup v1: each limit in its controller\'s directory; a missing controller is named', async (t) => {
  const memory = fakeCgroup('memory', ['memory.limit_in_bytes', 'memory.memsw.limit_in_bytes']);
  const cpu = fakeCgroup('cpu', ['cpu.shares', 'cpu.cfs_quota_us', 'cpu.cfs_period_us']);
  const cgroups: ContainerCgroups = {
    mode: 'v1',
    dirs: [{ name: 'memory', version: 1, controllers: ['memory'], dir: memory }, { name: 'cpu', version: 1, controllers: ['cpu'], dir: cpu }],
    created: [],
  };
  t.throws(() => applyResources(cgroups, resources, []), /linux\.resources\.pids\.limit: no cgroup controller for pids\.max/);
  t.equal(readFileSync(join(memory, 'memory.memsw.limit_in_bytes'), 'utf8'), String(96 << 20));
  t.equal(readFileSync(join(cpu, 'cpu.cfs_quota_us'), 'utf8'), '50000');
});

t.test('layout: v1 hierarchies from mountinfo, our own cgroup from /proc/self/cgroup, hybrid v2 beside', async (t) => {
  const mountinfo = [
    '31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755',
    '32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct',
    '35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory',
    '41 31 0:38 / /nonexistent/unified rw,relatime - cgroup2 cgroup2 rw', // its cgroup.controllers: none here
  ].join('\n');
  const own = '4:memory:/process_api/abc\n2:cpu,cpuacct:/\n0::/\n';
  const layout = readCgroupLayout(mountinfo, own);
  t.equal(layout.mode, 'v1');
  t.same(layout.hierarchies.map((h) => [h.name, h.version, h.controllers.join('+')]), [['cpu,cpuacct', 1, 'cpu+cpuacct'], ['memory', 1, 'memory'], ['unified', 2, '']]);
  const memory = layout.hierarchies[1];
  if (memory === undefined) throw new Error('no memory hierarchy');
  t.equal(containerDir(memory, 'c1'), '/sys/fs/cgroup/memory/process_api/abc/c1', 'a relative path is under our own cgroup, as runc');
  t.equal(containerDir(memory, '/pods/c1'), '/sys/fs/cgroup/memory/pods/c1', 'an absolute one from the hierarchy\'s root');
});
