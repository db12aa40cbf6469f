import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readCgroupLayout } from '@berth/runtime';
import { createTestNetns, uniqueName } from '../../harness/test-host.js';
import { checkEqual, type Scenario } from '../scenario.js';
import { runForeground, runSleeper, runSucceeding } from './lifecycle.js';

export const filesystemScenarios: readonly Scenario[] = [
  {
    name: 'mounts: tmpfs, read-only bind of a directory, bind of a file',
    async run(context) {
      const shared = join(context.dir, 'shared');
      await mkdir(shared);
      await writeFile(join(shared, 'note'), 'from the host\n');
      await writeFile(join(context.dir, 'single'), 'one file\n');
      const script = 'cat /data/note; cat /etc/single; touch /data/x 2>/dev/null && echo writable || echo read-only; '
        + 'grep " /scratch " /proc/mounts | cut -d" " -f3,4; echo x > /scratch/y && cat /scratch/y';
      const result = await runSucceeding(context, ['sh', '-c', script], (config) => {
        config.mounts.push(
          { destination: '/data', type: 'bind', source: shared, options: ['rbind', 'ro'] },
          { destination: '/etc/single', type: 'bind', source: join(context.dir, 'single'), options: ['bind'] },
          { destination: '/scratch', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'size=1m', 'mode=700'] },
        );
      });
      checkEqual(result.stdout, 'from the host\none file\nread-only\ntmpfs rw,nosuid,nodev,relatime,size=1024k,mode=700\nx\n', 'mount contents and options');
    },
  },
  {
    name: 'masked and read-only paths, read-only root',
    async run(context) {
      const script = 'wc -c < /proc/keys; ls /proc/acpi | wc -l; echo x > /proc/sys/kernel/domainname 2>/dev/null && echo sys-writable || echo sys-read-only; '
        + 'touch /rootfile 2>/dev/null && echo root-writable || echo root-read-only';
      const result = await runSucceeding(context, ['sh', '-c', script]);
      checkEqual(result.stdout.replace(/ +/g, ''), '0\n0\nsys-read-only\nroot-read-only\n', 'masked /proc/keys and /proc/acpi, read-only /proc/sys and /');
    },
  },
  {
    name: 'devices: defaults, the spec\'s, /dev links, pts, shm',
    async run(context) {
      const script = 'for d in null zero full random urandom tty fuse; do stat -c "%n %F %t:%T %a" /dev/$d; done; '
        + 'for l in fd stdin ptmx; do readlink /dev/$l; done; stat -c "%n %F" /dev/pts /dev/shm; echo drop > /dev/null && head -c 4 /dev/zero | wc -c';
      const result = await runSucceeding(context, ['sh', '-c', script], (config) => {
        config.linux['devices'] = [{ path: '/dev/fuse', type: 'c', major: 10, minor: 229, fileMode: 0o600, uid: 0, gid: 0 }];
      });
      checkEqual(result.stdout.replace(/ +\n/g, '\n').replace(/^ +/gm, ''), [
        '/dev/null character special file 1:3 666', '/dev/zero character special file 1:5 666', '/dev/full character special file 1:7 666',
        '/dev/random character special file 1:8 666', '/dev/urandom character special file 1:9 666', '/dev/tty character special file 5:0 666',
        '/dev/fuse character special file a:e5 600', '/proc/self/fd', '/proc/self/fd/0', 'pts/ptmx', '/dev/pts directory', '/dev/shm directory', '4', '',
      ].join('\n'), 'device nodes and links');
    },
  },
  {
    name: 'cgroup limits seen from inside',
    async run(context) {
      const v2 = readCgroupLayout().mode === 'v2';
      const script = v2 ? 'cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max /sys/fs/cgroup/cpu.max'
        : 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.shares';
      const result = await runSucceeding(context, ['sh', '-c', script], (config) => {
        config.linux['resources'] = { ...(config.linux['resources'] as object), memory: { limit: 64 * 1024 * 1024 }, pids: { limit: 50 }, cpu: { quota: 50000, period: 100000, shares: 512 } };
      });
      checkEqual(result.stdout, v2 ? '67108864\n50\n50000 100000\n' : '67108864\n50\n50000\n512\n', 'limits');
    },
  },
  {
    name: 'update: new limits seen from inside',
    async run(context) {
      const id = await runSleeper(context);
      const v2 = readCgroupLayout().mode === 'v2';
      checkEqual((await context.runtime.run(['update', '--memory', '32m', '--pids-limit', '20', id])).code, 0, 'update with flags');
      const resources = JSON.stringify({ cpu: { quota: 20000, period: 100000 } });
      checkEqual((await context.runtime.run(['update', '--resources', '-', id], { input: resources })).code, 0, 'update --resources -');
      const script = v2 ? 'cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max /sys/fs/cgroup/cpu.max'
        : 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/cpu/cpu.cfs_quota_us';
      const seen = await context.runtime.run(['exec', id, 'sh', '-c', script]);
      checkEqual(seen.stdout, v2 ? '33554432\n20\n20000 100000\n' : '33554432\n20\n20000\n', 'limits after update');
    },
  },
  {
    name: 'network: a new namespace has only lo, up; a namespace joined by path',
    async run(context) {
      const fresh = await runForeground(context, ['sh', '-c', 'tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " "; cat /sys/class/net/lo/flags']);
      checkEqual(fresh.stdout, 'lo\n0x9\n', 'interfaces of a new netns, and lo flags UP|LOOPBACK');
      const netns = await createTestNetns(uniqueName('rtns', 32));
      try {
        await netns.execChecked(['ip', 'link', 'add', 'bt-probe0', 'type', 'veth', 'peer', 'name', 'bt-probe1']);
        const joined = await runForeground(context, ['sh', '-c', 'tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " " | sort'], (config) => {
          config.linux['namespaces'] = (config.linux['namespaces'] as { type: string }[])
            .map((namespace) => (namespace.type === 'network' ? { type: 'network', path: netns.path } : namespace));
        });
        checkEqual(joined.stdout, 'bt-probe0\nbt-probe1\nlo\n', 'interfaces of the joined netns');
      } finally {
        await netns.remove();
      }
    },
  },
];
