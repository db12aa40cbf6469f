import { check, checkEqual, type Scenario } from '../scenario.js';
import { runForeground, runSucceeding } from './lifecycle.js';

/** `Cap*:` lines of /proc/self/status as a map (CapEff → 0000000020000420). */
function capabilityLines(status: string): Record<string, string> {
  return Object.fromEntries([...status.matchAll(/^(Cap\w+):\s+([0-9a-f]+)$/gm)].map((match) => [match[1], match[2]]));
}

type ConfigChange = Parameters<typeof runSucceeding>[2];

const added = ['CAP_NET_ADMIN', 'CAP_NET_RAW', 'CAP_CHOWN'];
const capabilityCases: readonly { name: string; change?: ConfigChange; sets: Record<string, string>; noNewPrivileges: 0 | 1 }[] = [
  {
    // AUDIT_WRITE (29), KILL (5), NET_BIND_SERVICE (10); ambient stays empty: they are not inheritable.
    name: 'capabilities of the default spec, no_new_privileges',
    sets: { CapInh: '0000000000000000', CapPrm: '0000000020000420', CapEff: '0000000020000420', CapBnd: '0000000020000420', CapAmb: '0000000000000000' },
    noNewPrivileges: 1,
  },
  {
    // CHOWN (0), NET_ADMIN (12), NET_RAW (13) = 0x3001; KILL (5) only in the bounding set.
    name: 'capabilities: added, inheritable and ambient, for a non-root user',
    change: (config) => {
      config.process = {
        ...config.process, noNewPrivileges: false, user: { uid: 1000, gid: 1000 },
        capabilities: { bounding: [...added, 'CAP_KILL'], effective: added, permitted: added, inheritable: added, ambient: added },
      };
    },
    sets: { CapInh: '0000000000003001', CapPrm: '0000000000003001', CapEff: '0000000000003001', CapBnd: '0000000000003021', CapAmb: '0000000000003001' },
    noNewPrivileges: 0,
  },
];

function capabilityScenario(expected: (typeof capabilityCases)[number]): Scenario {
  return {
    name: expected.name,
    async run(context) {
      const result = await runSucceeding(context, ['cat', '/proc/self/status'], expected.change);
      checkEqual(JSON.stringify(capabilityLines(result.stdout)), JSON.stringify(expected.sets), 'capability sets');
      check(new RegExp(`^NoNewPrivs:\\s+${expected.noNewPrivileges}$`, 'm').test(result.stdout), `NoNewPrivs: ${expected.noNewPrivileges}`);
    },
  };
}

export const processScenarios: readonly Scenario[] = [
  {
    name: 'hostname, umask, cwd, oom_score_adj',
    async run(context) {
      const result = await runSucceeding(context, ['sh', '-c', 'hostname; umask; pwd; cat /proc/self/oom_score_adj'], (config) => {
        config['hostname'] = 'bt-host';
        config.process = { ...config.process, cwd: '/tmp', user: { uid: 0, gid: 0, umask: 0o027 }, oomScoreAdj: 100 };
      });
      checkEqual(result.stdout, 'bt-host\n0027\n/tmp\n100\n', 'hostname, umask, cwd, oom_score_adj');
    },
  },
  {
    name: 'user, groups and HOME',
    async run(context) {
      const result = await runSucceeding(context, ['sh', '-c', 'id -u; id -g; id -G; echo $HOME'], (config) => {
        config.process = { ...config.process, user: { uid: 1000, gid: 1000, additionalGids: [10, 20] } };
      });
      checkEqual(result.stdout, '1000\n1000\n1000 10 20\n/home/user\n', 'uid, gid, groups, HOME from /etc/passwd');
    },
  },
  {
    name: 'environment is exactly the spec\'s (plus HOME)',
    async run(context) {
      const result = await runSucceeding(context, ['/bin/env'], (config) => {
        config.process = { ...config.process, env: ['PATH=/bin', 'ONE=1', 'TWO=two words'] };
      });
      checkEqual(result.stdout.split('\n').filter(Boolean).sort().join(','), 'HOME=/root,ONE=1,PATH=/bin,TWO=two words', 'environment');
    },
  },
  {
    name: 'rlimits',
    async run(context) {
      const result = await runSucceeding(context, ['sh', '-c', 'ulimit -Sn; ulimit -Hn; ulimit -Ss'], (config) => {
        config.process = { ...config.process, rlimits: [{ type: 'RLIMIT_NOFILE', soft: 512, hard: 1000 }, { type: 'RLIMIT_STACK', soft: 4194304, hard: 8388608 }] };
      });
      checkEqual(result.stdout, '512\n1000\n4096\n', 'nofile soft/hard, stack soft (KiB)');
    },
  },
  ...capabilityCases.map(capabilityScenario),
  {
    name: 'missing executable: create-time error',
    async run(context) {
      const result = await runForeground(context, ['no-such-command']);
      checkEqual(result.code, 1, 'run exit code');
      check(/executable file not found in \$PATH/.test(result.stderr), `error names the lookup: ${result.stderr.trim()}`);
    },
  },
];
