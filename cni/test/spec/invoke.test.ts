import t from 'tap';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CniError } from '../../src/errors.js';
import { execConflist, parseConflist } from '../../src/invoke/conflist.js';
import { delegateAdd, delegateDel } from '../../src/invoke/delegate.js';
import { execPlugin } from '../../src/invoke/exec.js';
import { findPlugin } from '../../src/invoke/find.js';
import { ipamAdd, ipamDel } from '../../src/invoke/ipam.js';
import { buildRequest } from '../../src/skel/request.js';

/**
 * A fake plugin: logs (type, command, CNI_* env, stdin config) as a JSON line, then answers. ADD returns its
 * prevResult plus an interface named after its type; `failOn` makes it print a spec error (code 11); `garbage`
 * makes it print junk and exit 3; `hang` makes it sleep.
 */
const fakePluginSource = `#!/usr/bin/env node
const fs = require('node:fs');
const input = fs.readFileSync(0, 'utf8');
const config = JSON.parse(input);
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('CNI_')));
fs.appendFileSync(process.env.FAKE_LOG, JSON.stringify({ type: config.type, command: process.env.CNI_COMMAND, env, config }) + '\\n');
if (config.garbage) { process.stdout.write('not json'); process.exit(3); }
if (config.hang) setTimeout(() => {}, 60000);
else if (config.failOn === process.env.CNI_COMMAND) {
  process.stdout.write(JSON.stringify({ cniVersion: config.cniVersion, code: 11, msg: config.type + ' says no', details: 'later' }));
  process.exit(1);
} else if (process.env.CNI_COMMAND === 'ADD') {
  const prev = config.prevResult || { cniVersion: config.cniVersion };
  const interfaces = [...(prev.interfaces || []), { name: config.type }];
  const ips = prev.ips || [{ address: '10.0.0.5/24', gateway: '10.0.0.1', interface: 0 }];
  process.stdout.write(JSON.stringify({ ...prev, cniVersion: config.cniVersion, interfaces, ips }));
}
`;

interface LogEntry { type: string; command: string; env: Record<string, string>; config: Record<string, unknown> }

function pluginDir(t: { teardown(fn: () => unknown): void }, names: string[]): { dir: string; log: string; calls(): LogEntry[] } {
  const dir = mkdtempSync('/tmp/bt-invoke-');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  // The fake is CommonJS; the temp dir has no package.json, so node treats it so.
  for (const name of names) {
    writeFileSync(join(dir, name), fakePluginSource);
    chmodSync(join(dir, name), 0o755);
  }
  const log = join(dir, 'calls.jsonl');
  writeFileSync(log, '');
  return {
    dir, log,
    calls: () => readFileSync(log, 'utf8').split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as LogEntry),
  };
}

async function codeOf(promise: Promise<unknown>): Promise<number | undefined> {
  try { await promise; return undefined; } catch (error) { return error instanceof CniError ? error.code : -1; }
}

t.test('findPlugin: first regular file in CNI_PATH order; not found is code 999 naming the path', async (t) => {
  const first = pluginDir(t, ['p']);
  const second = pluginDir(t, ['p', 'q']);
  mkdirSync(join(first.dir, 'q'));
  t.equal(findPlugin('p', [first.dir, second.dir]), join(first.dir, 'p'));
  t.equal(findPlugin('q', [first.dir, second.dir]), join(second.dir, 'q'), 'a directory of that name is skipped');
  t.throws(() => findPlugin('missing', [first.dir]), { code: 999, message: /Cannot find plugin "missing" in CNI_PATH/ });
  t.throws(() => findPlugin('p', []), { code: 999 });
  t.throws(() => findPlugin('../p', [first.dir]), { code: 7 });
});

t.test('execPlugin relays a plugin error with its code, msg and details; other failures are 999', async (t) => {
  const { dir, log } = pluginDir(t, ['p']);
  const env = { FAKE_LOG: log, PATH: process.env['PATH'] ?? '' };
  const run = (config: object, timeoutMs?: number) => execPlugin({
    pluginPath: join(dir, 'p'), command: 'ADD', env, stdin: JSON.stringify({ cniVersion: '1.1.0', name: 'n', type: 'p', ...config }),
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
  });
  await t.rejects(run({ failOn: 'ADD' }), { code: 11, message: 'p says no', details: 'later' });
  await t.rejects(run({ garbage: true }), { code: 999, message: /exited with 3 printing "not json"/ });
  await t.rejects(run({ hang: true }, 300), { code: 999, message: /timed out after 300 ms/ });
  const ok = await run({});
  t.match(ok.output, { cniVersion: '1.1.0', interfaces: [{ name: 'p' }] });
});

t.test('delegation runs the type from CNI_PATH with the caller\'s env and stdin; CNI_COMMAND replaced', async (t) => {
  const { dir, log, calls } = pluginDir(t, ['fake-ipam']);
  const stdin = JSON.stringify({ cniVersion: '0.4.0', name: 'net1', type: 'berth-bridge', ipam: { type: 'fake-ipam' } });
  const request = buildRequest({
    CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c9', CNI_NETNS: '/run/netns/x', CNI_IFNAME: 'eth0', CNI_PATH: `/nonexistent:${dir}`, FAKE_LOG: log,
    PATH: process.env['PATH'] ?? '',
  }, stdin);
  const result = await delegateAdd('fake-ipam', request);
  t.same(result.ips, [{ address: '10.0.0.5/24', gateway: '10.0.0.1', interface: 0 }], 'the result is canonical');
  await delegateDel('fake-ipam', request);
  const [add, del] = calls();
  t.equal(add?.command, 'ADD');
  t.equal(del?.command, 'DEL', 'CNI_COMMAND is replaced for the delegated call');
  t.equal(add?.env['CNI_CONTAINERID'], 'c9');
  t.same(add?.config, JSON.parse(stdin), 'the delegated plugin gets the complete configuration');
  t.equal(await codeOf(delegateAdd('absent', request)), 999);
});

t.test('ipam.type berth-ipam runs in-process (no executable needed); other types are exec\'d', async (t) => {
  const { dir, log, calls } = pluginDir(t, ['fake-ipam']);
  const dataDir = mkdtempSync('/tmp/bt-ipam-');
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const env = {
    CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c1', CNI_NETNS: '/run/netns/x', CNI_IFNAME: 'eth0', CNI_PATH: dir, FAKE_LOG: log,
    PATH: process.env['PATH'] ?? '',
  };
  const berth = buildRequest(env, JSON.stringify({ cniVersion: '1.1.0', name: 'bt-inproc', type: 'berth-bridge', ipam: { type: 'berth-ipam', dataDir, subnet: '10.66.0.0/24' } }));
  const result = await ipamAdd(berth);
  t.same(result.ips, [{ address: '10.66.0.2/24', gateway: '10.66.0.1' }]);
  await ipamDel({ ...berth, command: 'DEL' });
  t.same(calls(), [], 'nothing was exec\'d (CNI_PATH holds no berth-ipam at all)');
  const other = buildRequest(env, JSON.stringify({ cniVersion: '1.1.0', name: 'n', type: 'berth-bridge', ipam: { type: 'fake-ipam' } }));
  await ipamAdd(other);
  t.equal(calls().length, 1, 'fake-ipam was exec\'d');
  const none = buildRequest(env, JSON.stringify({ cniVersion: '1.1.0', name: 'n', type: 'berth-bridge' }));
  t.equal(await codeOf(ipamAdd(none)), 7, 'no ipam.type is a config error');
});

t.test('execConflist ADD chains results, derives each request config, DEL runs in reverse with the ADD result', async (t) => {
  const { dir, log, calls } = pluginDir(t, ['one', 'two', 'three']);
  const conflist = {
    cniVersion: '1.0.0', cniVersions: ['0.4.0', '1.1.0', '9.0.0'], name: 'chain',
    plugins: [
      { type: 'one', mine: 1, 'cni.dev/reserved': true },
      { type: 'two', capabilities: { portMappings: true, mac: false } },
      { type: 'three', capabilities: { ips: true } },
    ],
  };
  t.equal(parseConflist(conflist).cniVersion, '1.1.0', 'the highest supported of cniVersion and cniVersions');
  const attachment = {
    containerId: 'c1', netns: '/run/netns/x', ifName: 'eth0', args: 'A=1',
    capabilityArgs: { portMappings: [{ hostPort: 80, containerPort: 8080, protocol: 'tcp' }], mac: 'c2:00:00:00:00:01' },
  };
  const options = { pluginDirs: [dir], baseEnv: { FAKE_LOG: log, PATH: process.env['PATH'] ?? '' } };
  const added = await execConflist(conflist, { command: 'ADD', attachment }, options);
  t.same(added.result?.interfaces?.map((item) => item.name), ['one', 'two', 'three']);
  const addCalls = calls();
  t.same(addCalls.map((call) => call.type), ['one', 'two', 'three']);
  t.same(addCalls[0]?.config, { type: 'one', mine: 1, cniVersion: '1.1.0', name: 'chain' }, 'name and version inserted, cni.dev/ keys dropped, no prevResult first');
  t.same(addCalls[1]?.config['runtimeConfig'], { portMappings: attachment.capabilityArgs.portMappings }, 'only declared and enabled capabilities');
  t.notOk('capabilities' in (addCalls[1]?.config ?? {}), 'capabilities are not passed');
  t.notOk('runtimeConfig' in (addCalls[2]?.config ?? {}), 'a declared capability the runtime did not supply is left out');
  t.same((addCalls[1]?.config['prevResult'] as { interfaces: unknown[] }).interfaces, [{ name: 'one' }], 'prevResult is the previous plugin\'s result');
  t.same(addCalls[0]?.env, { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c1', CNI_NETNS: '/run/netns/x', CNI_IFNAME: 'eth0', CNI_ARGS: 'A=1', CNI_PATH: dir });
  writeFileSync(log, '');
  await execConflist(conflist, { command: 'DEL', attachment, prevResult: added.raw ?? {} }, options);
  t.same(calls().map((call) => call.type), ['three', 'two', 'one'], 'DEL in reverse order');
  t.ok(calls().every((call) => JSON.stringify(call.config['prevResult']) === JSON.stringify(added.raw)), 'each DEL gets the final ADD result');
});

t.test('execConflist: errors stop ADD; CHECK honours disableCheck; GC continues and reports every error', async (t) => {
  const { dir, log, calls } = pluginDir(t, ['one', 'two']);
  const options = { pluginDirs: [dir], baseEnv: { FAKE_LOG: log, PATH: process.env['PATH'] ?? '' } };
  const attachment = { containerId: 'c1', netns: '/run/netns/x', ifName: 'eth0' };
  const failing = { cniVersion: '1.1.0', name: 'n', plugins: [{ type: 'one', failOn: 'ADD' }, { type: 'two' }] };
  t.equal(await codeOf(execConflist(failing, { command: 'ADD', attachment }, options)), 11);
  t.same(calls().map((call) => call.type), ['one'], 'ADD stopped at the first error');
  writeFileSync(log, '');
  await execConflist({ ...failing, disableCheck: true }, { command: 'CHECK', attachment, prevResult: {} }, options);
  t.same(calls(), [], 'disableCheck: nothing run');
  const gcFailing = { cniVersion: '1.1.0', name: 'n', plugins: [{ type: 'one', failOn: 'GC' }, { type: 'two', failOn: 'GC' }] };
  await t.rejects(execConflist(gcFailing, { command: 'GC', validAttachments: [{ containerID: 'c1', ifname: 'eth0' }] }, options),
    { code: 11, details: /one says no.*two says no/ });
  const gcCalls = calls();
  t.same(gcCalls.map((call) => call.type), ['one', 'two'], 'GC ran every plugin despite the first error');
  t.same(gcCalls[0]?.config['cni.dev/valid-attachments'], [{ containerID: 'c1', ifname: 'eth0' }]);
  t.notOk('CNI_CONTAINERID' in (gcCalls[0]?.env ?? {}), 'GC has no attachment parameters');
  t.throws(() => parseConflist({ cniVersion: '0.2.0', name: 'n', plugins: [{ type: 'one' }] }), { code: 1 });
  t.throws(() => parseConflist({ cniVersion: '1.1.0', name: 'n', plugins: [] }), { code: 7 });
});
