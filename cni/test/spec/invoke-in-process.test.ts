import t from 'tap';
import { CniCode, CniError } from '../../src/errors.js';
import { execConflist } from '../../src/invoke/conflist.js';
import type { CniPlugin, CniRequest } from '../../src/skel/plugin.js';
import { SUPPORTED_VERSIONS } from '../../src/spec/version.js';

/** A plugin function that records its calls; ADD appends an interface named after its type to prevResult. */
function fakePlugin(name: string, calls: string[], failOn?: string): CniPlugin {
  const record = (request: CniRequest): void => {
    calls.push(`${name} ${request.command} ${request.containerId} prev=${(request.config.prevResult?.interfaces ?? []).map((item) => item.name).join(',')}`);
    if (request.command === failOn) throw new CniError(CniCode.TryAgainLater, `${name} says no`);
  };
  return {
    name, supportedVersions: SUPPORTED_VERSIONS,
    async add(request) {
      record(request);
      return { ...request.config.prevResult, interfaces: [...(request.config.prevResult?.interfaces ?? []), { name }] };
    },
    async del(request) { record(request); },
    async check(request) { record(request); },
  };
}

const conflist = { cniVersion: '1.0.0', name: 'inproc', plugins: [{ type: 'one' }, { type: 'two' }] };
const attachment = { containerId: 'c1', netns: '/proc/self/ns/net', ifName: 'eth0' };

t.test('in-process plugins: ADD chains prevResult and reports each plugin before it runs; DEL in reverse', async (t) => {
  const calls: string[] = [];
  const started: number[] = [];
  const inProcess = { one: async () => fakePlugin('one', calls), two: async () => fakePlugin('two', calls) };
  const outcome = await execConflist(conflist, { command: 'ADD', attachment }, { pluginDirs: ['/nonexistent'], inProcess, onAddStart: (index) => started.push(index) });
  t.same(outcome.raw?.['interfaces'], [{ name: 'one' }, { name: 'two' }], 'the last result, in the conflist version');
  t.same(started, [0, 1]);
  await execConflist(conflist, { command: 'DEL', attachment, prevResult: outcome.raw ?? {} }, { pluginDirs: ['/nonexistent'], inProcess });
  t.same(calls, ['one ADD c1 prev=', 'two ADD c1 prev=one', 'two DEL c1 prev=one,two', 'one DEL c1 prev=one,two']);
});

t.test('in-process plugins: a plugin\'s CniError comes back as from an exec\'d one; a missing executable is not started', async (t) => {
  const calls: string[] = [];
  const started: number[] = [];
  const inProcess = { one: async () => fakePlugin('one', calls), two: async () => fakePlugin('two', calls, 'ADD') };
  const error = await execConflist(conflist, { command: 'ADD', attachment }, { pluginDirs: ['/nonexistent'], inProcess, onAddStart: (index) => started.push(index) }).catch((caught: unknown) => caught);
  t.ok(error instanceof CniError, 'a CniError');
  t.match(error, { code: CniCode.TryAgainLater, message: 'two says no' });
  t.same(started, [0, 1]);
  const missing: number[] = [];
  const execError = await execConflist({ ...conflist, plugins: [{ type: 'one' }, { type: 'not-there' }] }, { command: 'ADD', attachment },
    { pluginDirs: ['/nonexistent'], inProcess: { one: inProcess.one }, onAddStart: (index) => missing.push(index) }).catch((caught: unknown) => caught);
  t.match(execError, { message: /Cannot find plugin "not-there"/ });
  t.same(missing, [0], 'a plugin that cannot be found is never reported as started');
});
