import t from 'tap';
import { defaultSpec } from '../../src/runtime/default-spec.js';
import { SpecError } from '../../src/runtime/errors.js';
import { parseSpec } from '../../src/runtime/validate.js';

/**
 * runc's default config with one change: `path` is dotted ("process.args"), a last segment "+" appends to an array,
 * and `undefined` deletes.
 */
function configWith(path: string, value: unknown): string {
  const config: unknown = structuredClone(defaultSpec());
  const segments = path.split('.');
  const last = segments.pop() as string;
  let node = config as Record<string, unknown>;
  for (const segment of segments) node = node[segment] as Record<string, unknown>;
  if (last === '+') (node as unknown as unknown[]).push(value);
  else if (value === undefined) delete node[last];
  else node[last] = value;
  return JSON.stringify(config);
}

t.test('runc\'s default spec parses into what the runtime applies', async (t) => {
  const spec = parseSpec(JSON.stringify(defaultSpec()));
  t.equal(spec.process.args[0], 'sh');
  t.same(spec.process.capabilities?.bounding, ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE']);
  t.same(spec.linux.namespaces.map((namespace) => namespace.type), ['pid', 'network', 'ipc', 'uts', 'mount']);
  t.same(spec.linux.resources.devices, [{ allow: false, type: 'a', major: null, minor: null, access: 'rwm' }]);
  t.equal(spec.process.rlimits[0]?.soft, 1024n);
  t.same(spec.hooks.prestart, []);
});

t.test('refused configs name the field and change nothing (a table of hostile and broken input)', async (t) => {
  const cases: [string, string, RegExp][] = [
    ['bad JSON', '{"ociVersion": ', /^config\.json: invalid JSON/],
    ['not an object', '[]', /^config\.json: must be an object/],
    ['no process', configWith('process', undefined), /^process: must be given/],
    ['no args', configWith('process.args', undefined), /^process\.args: must not be empty/],
    ['empty args', configWith('process.args', []), /^process\.args: must not be empty/],
    ['args not strings', configWith('process.args', ['sh', 3]), /^process\.args\[1\]: must be a string/],
    ['relative cwd', configWith('process.cwd', 'tmp'), /^process\.cwd: "tmp" must be an absolute path/],
    ['env without =', configWith('process.env', ['PATH']), /^process\.env\[0\]/],
    ['unknown capability', configWith('process.capabilities.bounding.+', 'CAP_EVERYTHING'), /^process\.capabilities\.bounding\[3\]: unknown capability "CAP_EVERYTHING"/],
    ['unknown rlimit', configWith('process.rlimits', [{ type: 'RLIMIT_MAGIC', soft: 1, hard: 1 }]), /^process\.rlimits\[0\]\.type: unknown rlimit/],
    ['soft above hard', configWith('process.rlimits', [{ type: 'RLIMIT_NOFILE', soft: 10, hard: 5 }]), /^process\.rlimits\[0\]: soft limit 10 is above the hard limit 5/],
    ['negative uid', configWith('process.user.uid', -1), /^process\.user\.uid: must be an integer/],
    ['unknown namespace', configWith('linux.namespaces.+', { type: 'bogus' }), /^linux\.namespaces\[5\]\.type: unknown namespace type "bogus"/],
    ['namespace twice', configWith('linux.namespaces.+', { type: 'pid' }), /^linux\.namespaces\[5\]: namespace type pid given twice/],
    ['user namespace without maps', configWith('linux.namespaces.+', { type: 'user' }), /^linux\.uidMappings: a new user namespace needs uidMappings and gidMappings/],
    ['maps without a user namespace', configWith('linux.uidMappings', [{ containerID: 0, hostID: 1000, size: 1 }]), /^linux\.uidMappings: mappings are only for a new user namespace/],
    ['no mount namespace', configWith('linux.namespaces', [{ type: 'pid' }, { type: 'uts' }]), /^linux\.namespaces: berth-runtime needs a mount namespace/],
    ['relative namespace path', configWith('linux.namespaces.1', { type: 'network', path: 'run/netns/x' }), /^linux\.namespaces\[1\]\.path/],
    ['mount destination with ..', configWith('mounts.+', { destination: '/tmp/../../etc', type: 'tmpfs', source: 'tmpfs' }), /^mounts\[7\]\.destination: "\/tmp\/\.\.\/\.\.\/etc": '\.\.' is not allowed/],
    ['masked path with ..', configWith('linux.maskedPaths.+', '/proc/../etc'), /^linux\.maskedPaths\[10\]/],
    ['device outside /dev', configWith('linux.devices', [{ path: '/etc/shadow', type: 'c', major: 1, minor: 3 }]), /^linux\.devices\[0\]\.path: \/etc\/shadow is not under \/dev/],
    ['device type', configWith('linux.devices', [{ path: '/dev/x', type: 'z', major: 1, minor: 3 }]), /^linux\.devices\[0\]\.type/],
    ['hook path relative', configWith('hooks', { prestart: [{ path: 'hook' }] }), /^hooks\.prestart\[0\]\.path/],
    ['hook timeout zero', configWith('hooks', { poststop: [{ path: '/bin/true', timeout: 0 }] }), /^hooks\.poststop\[0\]\.timeout: must be a positive integer/],
    ['hostname without uts', configWith('linux.namespaces', [{ type: 'pid' }, { type: 'network' }, { type: 'mount' }]), /^hostname: needs a private uts namespace/],
    ['seccomp notify', configWith('linux.seccomp', { defaultAction: 'SCMP_ACT_NOTIFY' }), /^linux\.seccomp\.defaultAction: "SCMP_ACT_NOTIFY" is not a seccomp action/],
    ['device rule access', configWith('linux.resources.devices', [{ allow: true, access: 'rwx' }]), /^linux\.resources\.devices\[0\]\.access/],
    ['oomScoreAdj out of range', configWith('process.oomScoreAdj', 2000), /^process\.oomScoreAdj: must be an integer from -1000 to 1000/],
    ['cgroupsPath at the root', configWith('linux.cgroupsPath', '/'), /^linux\.cgroupsPath: "\/" is a hierarchy's root/],
    ['cgroupsPath with ..', configWith('linux.cgroupsPath', '/a/../../b'), /^linux\.cgroupsPath: .*'\.\.' is not allowed/],
    ['negative memory', configWith('linux.resources.memory', { limit: -5 }), /^linux\.resources\.memory\.limit/],
  ];
  for (const [name, text, expected] of cases) {
    t.throws(() => parseSpec(text), SpecError, name);
    try {
      parseSpec(text);
    } catch (error) {
      t.match((error as Error).message, expected, `${name}: ${(error as Error).message}`);
    }
  }
});

t.test('limits: -1 is unlimited, 2^64-1 survives JSON as all ones, pids 0 means none', async (t) => {
  const resources = parseSpec(configWith('linux.resources', { memory: { limit: -1, swap: 1048576 }, pids: { limit: 0 } }));
  const spec = parseSpec(configWith('process.rlimits', [{ type: 'RLIMIT_NOFILE', soft: 18446744073709551615, hard: 18446744073709551615 }]));
  t.equal(resources.linux.resources.memoryLimitBytes, undefined);
  t.equal(resources.linux.resources.memorySwapBytes, 1048576n);
  t.equal(resources.linux.resources.pidsLimit, undefined);
  t.equal(spec.process.rlimits[0]?.hard, 0xffff_ffff_ffff_ffffn);
});
