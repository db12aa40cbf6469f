import t from 'tap';
import { parseEnv, parseLabel, parsePublish, parseSecret, validateContainerName } from '../../src/containers/options.js';
import { startFailure } from '../../src/containers/run.js';
import { buildSpec } from '../../src/containers/spec.js';
import { berthOciHooks } from '../../src/hooks/oci-hooks.js';
import { hooksDFiles } from '../../src/hooks/hooks-d.js';

function message(fn: () => unknown): string {
  try {
    fn();
    return 'accepted';
  } catch (error) {
    return (error as Error).message;
  }
}

t.test('-p, --label, -e, --secret, --name: accepted forms', async (t) => {
  t.same(parsePublish('8080:80'), { hostPort: 8080, containerPort: 80, protocol: 'tcp' });
  t.same(parsePublish('127.0.0.1:5353:53/udp'), { hostPort: 5353, containerPort: 53, protocol: 'udp', hostIP: '127.0.0.1' });
  t.same(parsePublish('[::1]:8443:443'), { hostPort: 8443, containerPort: 443, protocol: 'tcp', hostIP: '::1' });
  t.same(parseLabel('app=web'), ['app', 'web']);
  t.same(parseLabel('example.com/tier='), ['example.com/tier', '']);
  t.equal(parseEnv('A=b=c'), 'A=b=c');
  t.equal(parseEnv('EMPTY'), 'EMPTY=');
  t.same(parseSecret('db.password'), { name: 'db.password', target: 'db.password', mode: 0o400 });
  t.same(parseSecret('tls,target=cert.pem,mode=0440'), { name: 'tls', target: 'cert.pem', mode: 0o440 });
  t.equal(validateContainerName('web-1'), 'web-1');
});

t.test('-p, --label, -e, --secret, --name: refused with the flag named', async (t) => {
  const cases: [() => unknown, RegExp][] = [
    [() => parsePublish('80'), /^Cannot use -p "80": expected/],
    [() => parsePublish('0:80'), /^Cannot use -p "0:80": .*hostPort must be an integer 1-65535/],
    [() => parsePublish('8080:80/icmp'), /^Cannot use -p/],
    [() => parsePublish('1.2.3.999:80:80'), /^Cannot use -p .*hostIP/],
    [() => parseLabel('novalue'), /^Cannot use --label "novalue": expected KEY=VALUE/],
    [() => parseLabel('a=has space'), /^Cannot use --label/],
    [() => parseEnv('1A=b'), /^Cannot use -e "1A=b"/],
    [() => parseSecret('../x'), /^Cannot use --secret "..\/x": "..\/x" is not a secret name/],
    [() => parseSecret('x,target=../../etc/passwd'), /is not target=FILE/],
    [() => parseSecret('x,mode=999'), /is not target=FILE .* or mode=0NNN/],
    [() => parseSecret('x,uid=0'), /is not target=FILE/],
    [() => validateContainerName('a/b'), /^Cannot use --name "a\/b"/],
  ];
  for (const [fn, expected] of cases) t.match(message(fn), expected);
});

t.test('the bundle: runc\'s defaults plus Berth\'s annotations and hooks; host network drops the netns', async (t) => {
  const hooks = berthOciHooks({ BERTH_ROOT: '/r' }, '/opt/berth/berth-hook');
  const spec = buildSpec({ rootfs: '/rootfs', args: ['sh'], env: ['A=1'], hostname: 'c1', terminal: false, hostNetwork: false, annotations: { 'berth.network': 'n' }, hooks }) as {
    process: { env: string[]; capabilities: { bounding: string[] } }; root: unknown; hostname: string; annotations: unknown;
    hooks: Record<string, { path: string; args: string[]; env: string[] }[]>; linux: { namespaces: { type: string }[] };
  };
  t.same(spec.root, { path: '/rootfs', readonly: true });
  t.equal(spec.hostname, 'c1');
  t.match(spec.process.env, [/^PATH=/, 'A=1']);
  t.ok(spec.process.capabilities.bounding.includes('CAP_NET_RAW'), 'ping works');
  t.same(spec.annotations, { 'berth.network': 'n' });
  t.same(Object.keys(spec.hooks), ['createRuntime', 'createContainer', 'poststop']);
  t.same(spec.hooks['createRuntime']?.[0], { path: '/opt/berth/berth-hook', args: ['berth-hook', 'createRuntime'], timeout: 90, env: ['BERTH_ROOT=/r'] });
  t.ok(spec.linux.namespaces.some((item) => item.type === 'network'));
  const host = buildSpec({ rootfs: '/rootfs', args: ['sh'], env: [], hostname: 'h', terminal: false, hostNetwork: true, annotations: {}, hooks }) as { linux: { namespaces: { type: string }[] } };
  t.notOk(host.linux.namespaces.some((item) => item.type === 'network'), 'host network: no network namespace');
});

t.test('hooks.d files: one per stage, version 1.0.0, injected for berth.network or berth.service (createContainer: service)', async (t) => {
  const files = hooksDFiles({}, '/opt/berth/berth-hook');
  t.same(Object.keys(files), ['50-berth-createRuntime.json', '50-berth-createContainer.json', '50-berth-poststop.json']);
  t.same(files['50-berth-poststop.json'], {
    version: '1.0.0', hook: { path: '/opt/berth/berth-hook', args: ['berth-hook', 'poststop'], timeout: 90 },
    when: { annotations: { '^berth\\.(network|service)$': '.*' } }, stages: ['poststop'],
  });
  t.same(files['50-berth-createContainer.json']?.['when'], { annotations: { '^berth\\.service$': '.*' } });
});

t.test('a start failure is reduced to the hook\'s one line', async (t) => {
  const runc = 'time="2026-12-03T04:21:26Z" level=error msg="runc run failed: unable to start container process: error during container init: error running hook #0: error running hook: exit status 1, stdout: , stderr: berth-hook createRuntime: No network \\\\"x\\\\" in /etc/cni/net.d\\\\n"';
  t.equal(startFailure(runc), 'berth-hook createRuntime: No network "x" in /etc/cni/net.d');
  t.equal(startFailure('time="x" level=error msg="runc run failed: error running hook #0: error running hook: signal: killed, stdout: , stderr: "'), 'a hook was killed (see the hook log)');
  t.equal(startFailure('time="x" level=error msg="runc run failed: exec: \\"sleep\\": executable file not found in $PATH"'), 'runc run failed: exec: "sleep": executable file not found in $PATH');
  t.equal(startFailure('just the container writing to stderr\n'), undefined, 'ordinary stderr is not a start failure');
  t.equal(startFailure('time="2026-01-01T00:00:00Z" level=error msg="db: connection refused"\n'), undefined, 'nor a container\'s own logrus-style error line');
});
