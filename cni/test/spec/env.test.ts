import t from 'tap';
import { CniError } from '../../src/errors.js';
import { parseCniArgs, readCniParameters, type CniEnvironment } from '../../src/spec/env.js';

const full = {
  CNI_CONTAINERID: 'c1', CNI_NETNS: '/run/netns/x', CNI_IFNAME: 'eth0', CNI_ARGS: 'A=1', CNI_PATH: '/opt/cni/bin',
};

function codeOf(env: CniEnvironment): number | undefined {
  try {
    readCniParameters(env);
    return undefined;
  } catch (error) {
    return error instanceof CniError ? error.code : -1;
  }
}

t.test('each verb requires the variables the spec lists for it (code 4 naming them)', async (t) => {
  const cases: [string, string, boolean][] = [
    // [command, variable removed, still valid?]
    ['ADD', 'CNI_CONTAINERID', false], ['ADD', 'CNI_NETNS', false], ['ADD', 'CNI_IFNAME', false],
    ['ADD', 'CNI_ARGS', true], ['ADD', 'CNI_PATH', true],
    ['DEL', 'CNI_CONTAINERID', false], ['DEL', 'CNI_NETNS', true], ['DEL', 'CNI_IFNAME', false], ['DEL', 'CNI_PATH', true],
    ['CHECK', 'CNI_CONTAINERID', false], ['CHECK', 'CNI_NETNS', false], ['CHECK', 'CNI_IFNAME', false],
    ['GC', 'CNI_CONTAINERID', true], ['GC', 'CNI_IFNAME', true], ['GC', 'CNI_NETNS', true], ['GC', 'CNI_PATH', false],
    ['STATUS', 'CNI_CONTAINERID', true], ['STATUS', 'CNI_PATH', true],
    ['VERSION', 'CNI_CONTAINERID', true], ['VERSION', 'CNI_PATH', true],
  ];
  for (const [command, removed, valid] of cases) {
    const env: Record<string, string> = { ...full, CNI_COMMAND: command };
    delete env[removed];
    t.equal(codeOf(env), valid ? undefined : 4, `${command} without ${removed} is ${valid ? 'valid' : 'code 4'}`);
    if (!valid) {
      t.throws(() => readCniParameters(env), { message: new RegExp(removed) }, 'the message names the variable');
    }
  }
});

t.test('a missing or unknown CNI_COMMAND is code 4', async (t) => {
  t.equal(codeOf({ ...full }), 4);
  t.equal(codeOf({ ...full, CNI_COMMAND: 'add' }), 4, 'commands are upper case');
  t.equal(codeOf({ ...full, CNI_COMMAND: 'REMOVE' }), 4);
});

t.test('GC and STATUS carry no container even when the variables are set', async (t) => {
  const parameters = readCniParameters({ ...full, CNI_COMMAND: 'GC' });
  t.equal(parameters.containerId, '');
  t.equal(parameters.ifName, '');
  t.same(parameters.path, ['/opt/cni/bin']);
});

t.test('container IDs: alphanumeric first, then alphanumerics, _ . -, bounded length', async (t) => {
  const good = ['a', '0', 'abc-DEF_1.2', 'f'.repeat(64), 'x'.repeat(1024)];
  const bad = ['-a', '.a', '_a', 'a b', 'a/b', 'a;b', 'é', 'a\nb', 'x'.repeat(1025), '../etc'];
  for (const id of good) t.equal(codeOf({ ...full, CNI_COMMAND: 'ADD', CNI_CONTAINERID: id }), undefined, `${id.slice(0, 20)} is valid`);
  for (const id of bad) t.equal(codeOf({ ...full, CNI_COMMAND: 'ADD', CNI_CONTAINERID: id }), 4, `${JSON.stringify(id.slice(0, 20))} is code 4`);
});

t.test('interface names follow the kernel: 1-15 bytes, not . or .., no / : or whitespace', async (t) => {
  const good = ['eth0', 'a', 'x'.repeat(15), 'net-1.2_x', 'é'.repeat(7)];
  const bad = ['x'.repeat(16), '.', '..', 'a/b', 'a:b', 'a b', 'a\tb', 'a\nb', 'é'.repeat(8), 'a\u00a0b'];
  for (const name of good) t.equal(codeOf({ ...full, CNI_COMMAND: 'ADD', CNI_IFNAME: name }), undefined, `${name} is valid`);
  for (const name of bad) t.equal(codeOf({ ...full, CNI_COMMAND: 'ADD', CNI_IFNAME: name }), 4, `${JSON.stringify(name)} is code 4`);
});

t.test('CNI_ARGS is parsed into ordered pairs; a pair without = is code 4', async (t) => {
  t.same([...parseCniArgs('IgnoreUnknown=1;K8S_POD_NAME=web;IP=10.0.0.5')],
    [['IgnoreUnknown', '1'], ['K8S_POD_NAME', 'web'], ['IP', '10.0.0.5']]);
  t.same([...parseCniArgs('A=b=c;;')], [['A', 'b=c']], 'the value keeps later "=", empty segments are skipped');
  t.same([...parseCniArgs('')], []);
  t.throws(() => parseCniArgs('A=1;junk'), { code: 4 });
  t.throws(() => parseCniArgs('=x'), { code: 4 });
});
