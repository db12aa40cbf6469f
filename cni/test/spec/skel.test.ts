import t from 'tap';
import { CniError } from '../../src/errors.js';
import type { CniPlugin, CniRequest } from '../../src/skel/plugin.js';
import { runPlugin } from '../../src/skel/run.js';
import type { CniEnvironment } from '../../src/spec/env.js';
import { SUPPORTED_VERSIONS } from '../../src/spec/version.js';

interface Run { code: number; stdout: string; stderr: string; calls: CniRequest[] }

const attachment = { CNI_CONTAINERID: 'c1', CNI_NETNS: '/run/netns/x', CNI_IFNAME: 'eth0', CNI_PATH: '/opt/cni/bin' };

function fakePlugin(overrides: Partial<CniPlugin> = {}, calls: CniRequest[] = []): CniPlugin {
  return {
    name: 'test-plugin',
    supportedVersions: SUPPORTED_VERSIONS,
    add: async (request) => {
      calls.push(request);
      return {
        interfaces: [{ name: 'eth0', mtu: 1500, sandbox: request.netns }],
        ips: [{ address: '10.0.0.2/24', gateway: '10.0.0.1', interface: 0 }],
      };
    },
    del: async (request) => { calls.push(request); },
    check: async (request) => { calls.push(request); },
    ...overrides,
  };
}

async function run(plugin: CniPlugin, env: CniEnvironment, stdin: unknown, calls: CniRequest[] = []): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const code = await runPlugin(plugin, {
    env,
    readStdin: async () => (typeof stdin === 'string' ? stdin : JSON.stringify(stdin)),
    writeStdout: (text) => { stdout += text; },
    writeStderr: (text) => { stderr += text; },
  });
  return { code, stdout, stderr, calls };
}

const conf = (cniVersion: string, extra: object = {}) => ({ cniVersion, name: 'net1', type: 'test-plugin', ...extra });

t.test('VERSION echoes a known cniVersion and lists the supported versions', async (t) => {
  const result = await run(fakePlugin(), { CNI_COMMAND: 'VERSION' }, conf('0.4.0'));
  t.equal(result.code, 0);
  t.same(JSON.parse(result.stdout), { cniVersion: '0.4.0', supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] });
  const empty = await run(fakePlugin(), { CNI_COMMAND: 'VERSION' }, '');
  t.equal(JSON.parse(empty.stdout).cniVersion, '1.1.0', 'no input: the current version');
});

t.test('ADD prints the plugin result converted to the configuration version', async (t) => {
  const calls: CniRequest[] = [];
  const result = await run(fakePlugin({}, calls), { ...attachment, CNI_COMMAND: 'ADD' }, conf('0.3.1'), calls);
  t.equal(result.code, 0);
  t.same(JSON.parse(result.stdout), {
    cniVersion: '0.3.1',
    interfaces: [{ name: 'eth0', sandbox: '/run/netns/x' }],
    ips: [{ version: '4', address: '10.0.0.2/24', gateway: '10.0.0.1', interface: 0 }],
  });
  t.equal(calls[0]?.containerId, 'c1');
  t.equal(calls[0]?.config.name, 'net1');
  t.equal(calls[0]?.stdin, JSON.stringify(conf('0.3.1')), 'the request carries stdin unchanged for delegation');
});

t.test('DEL and CHECK print nothing on success', async (t) => {
  for (const command of ['DEL', 'CHECK']) {
    const result = await run(fakePlugin(), { ...attachment, CNI_COMMAND: command }, conf('1.0.0'));
    t.equal(result.code, 0, command);
    t.equal(result.stdout, '', command);
  }
});

t.test('STATUS and GC default to success when the plugin does not implement them', async (t) => {
  for (const command of ['STATUS', 'GC']) {
    const result = await run(fakePlugin(), { CNI_COMMAND: command, CNI_PATH: '/opt/cni/bin' }, conf('1.1.0', { 'cni.dev/valid-attachments': [] }));
    t.equal(result.code, 0, command);
  }
});

t.test('a CniError from the plugin is printed as the spec error with the config version, exit 1', async (t) => {
  const plugin = fakePlugin({ add: async () => { throw new CniError(7, 'Invalid network config: bad', 'more'); } });
  const result = await run(plugin, { ...attachment, CNI_COMMAND: 'ADD' }, conf('0.4.0'));
  t.equal(result.code, 1);
  t.same(JSON.parse(result.stdout), { cniVersion: '0.4.0', code: 7, msg: 'Invalid network config: bad', details: 'more' });
});

t.test('an unexpected exception is code 999 with a message; the stack goes to stderr only', async (t) => {
  const plugin = fakePlugin({ del: async () => { throw new TypeError('boom'); } });
  const result = await run(plugin, { ...attachment, CNI_COMMAND: 'DEL' }, conf('1.1.0'));
  t.equal(result.code, 1);
  const error = JSON.parse(result.stdout);
  t.equal(error.code, 999);
  t.match(error.msg, /test-plugin DEL failed unexpectedly: boom/);
  t.notMatch(result.stdout, /at .*\.ts:\d+/, 'no stack on stdout');
  t.match(result.stderr, /TypeError: boom/);
});

t.test('ADD returning something that is not a result is code 999', async (t) => {
  const plugin = fakePlugin({ add: async () => undefined as never });
  const result = await run(plugin, { ...attachment, CNI_COMMAND: 'ADD' }, conf('1.1.0'));
  t.equal(JSON.parse(result.stdout).code, 999);
});

t.test('environment errors come before stdin is parsed; missing CNI_COMMAND also prints an about line', async (t) => {
  const missing = await run(fakePlugin(), { CNI_COMMAND: 'ADD' }, '{not json');
  t.equal(JSON.parse(missing.stdout).code, 4);
  const none = await run(fakePlugin(), {}, conf('1.1.0'));
  t.equal(JSON.parse(none.stdout).code, 4);
  t.match(none.stderr, /test-plugin: a Berth CNI plugin; CNI protocol versions supported: 0\.3\.0/);
});

t.test('errors of a config with an unsupported version carry the current version', async (t) => {
  const result = await run(fakePlugin(), { ...attachment, CNI_COMMAND: 'ADD' }, conf('9.9.9'));
  t.same(JSON.parse(result.stdout).cniVersion, '1.1.0');
  t.equal(JSON.parse(result.stdout).code, 1);
});

t.test('a stdin read failure is reported with its own code', async (t) => {
  let stdout = '';
  const code = await runPlugin(fakePlugin(), {
    env: { ...attachment, CNI_COMMAND: 'ADD' },
    readStdin: async () => { throw new CniError(6, 'Cannot decode network config: stdin exceeds the limit'); },
    writeStdout: (text) => { stdout += text; },
  });
  t.equal(code, 1);
  t.equal(JSON.parse(stdout).code, 6);
});

t.test('main: an exception escaping the plugin\'s promise chain still ends as a 999 JSON error, exit 1', async (t) => {
  const { spawnSync } = await import('node:child_process');
  const { fileURLToPath } = await import('node:url');
  const mainJs = fileURLToPath(new URL('../../dist/src/skel/main.js', import.meta.url));
  const script = `import(${JSON.stringify(mainJs)}).then(({ main }) => main({
    name: 'late-thrower', supportedVersions: ['1.1.0'],
    add: () => new Promise(() => { setTimeout(() => { throw new Error('thrown from a timer'); }, 1); }),
    del: async () => {}, check: async () => {},
  }));`;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    env: { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c1', CNI_NETNS: '/x', CNI_IFNAME: 'eth0' },
    input: JSON.stringify(conf('1.1.0')), encoding: 'utf8', timeout: 20_000,
  });
  t.equal(result.status, 1);
  t.match(JSON.parse(result.stdout), { code: 999, msg: /late-thrower failed unexpectedly: thrown from a timer/ });
  t.match(result.stderr, /Error: thrown from a timer/);
});
