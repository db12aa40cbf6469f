import t from 'tap';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tryLockFile } from '@berth/netns-napi';
import { CniError } from '../../src/errors.js';
import { conf, ipamPlugin, request, tempDataDir } from './helpers.js';

async function codeOf(promise: Promise<unknown>): Promise<number | undefined> {
  try { await promise; return undefined; } catch (error) { return error instanceof CniError ? error.code : -1; }
}

const reservationFiles = (dir: string): string[] =>
  existsSync(dir) ? readdirSync(dir).filter((name) => name !== 'lock' && !name.startsWith('last_reserved_ip.')).sort() : [];

t.test('ADD returns an IPAM result (no interfaces), routes and resolv.conf DNS; DEL releases', async (t) => {
  const dataDir = tempDataDir(t);
  const resolvConf = join(dataDir, 'resolv.conf');
  writeFileSync(resolvConf, 'nameserver 10.77.0.53\nsearch example\n');
  const plugin = ipamPlugin();
  const config = conf(dataDir, { subnet: '10.77.0.0/24', routes: [{ dst: '0.0.0.0/0' }], resolvConf });
  const result = await plugin.add(request({ command: 'ADD', config }));
  t.same(result, {
    ips: [{ address: '10.77.0.2/24', gateway: '10.77.0.1' }],
    routes: [{ dst: '0.0.0.0/0' }],
    dns: { nameservers: ['10.77.0.53'], search: ['example'] },
  });
  t.same(reservationFiles(join(dataDir, 'bt-net')), ['10.77.0.2']);
  await plugin.del(request({ command: 'DEL', config }));
  t.same(reservationFiles(join(dataDir, 'bt-net')), []);
});

t.test('ADD twice for the same attachment returns the same address; another ifname gets another', async (t) => {
  const dataDir = tempDataDir(t);
  const plugin = ipamPlugin();
  const config = conf(dataDir);
  const first = await plugin.add(request({ command: 'ADD', config }));
  const again = await plugin.add(request({ command: 'ADD', config }));
  const eth1 = await plugin.add(request({ command: 'ADD', config, ifName: 'eth1' }));
  t.same(again, first);
  t.same(eth1.ips?.[0]?.address, '10.77.0.3/24');
});

t.test('DEL of an unknown attachment succeeds and creates nothing; DEL twice is fine', async (t) => {
  const dataDir = tempDataDir(t);
  const plugin = ipamPlugin();
  const config = conf(join(dataDir, 'never'));
  await plugin.del(request({ command: 'DEL', config, containerId: 'ghost' }));
  t.notOk(existsSync(join(dataDir, 'never')), 'no directory made for a DEL');
  const real = conf(dataDir);
  await plugin.add(request({ command: 'ADD', config: real }));
  await plugin.del(request({ command: 'DEL', config: real, containerId: 'ghost' }));
  t.same(reservationFiles(join(dataDir, 'bt-net')), ['10.77.0.2'], 'an unknown ID releases nothing else');
  await plugin.del(request({ command: 'DEL', config: real }));
  await plugin.del(request({ command: 'DEL', config: real }));
  t.same(reservationFiles(join(dataDir, 'bt-net')), []);
});

t.test('DEL also releases an old host-local reservation that names only the container', async (t) => {
  const dataDir = tempDataDir(t);
  const plugin = ipamPlugin();
  const config = conf(dataDir);
  await plugin.add(request({ command: 'ADD', config, containerId: 'other' }));
  writeFileSync(join(dataDir, 'bt-net', '10.77.0.50'), 'c1');
  await plugin.del(request({ command: 'DEL', config }));
  t.same(reservationFiles(join(dataDir, 'bt-net')), ['10.77.0.2']);
});

t.test('dual stack: one address per range set; a failed set undoes the others', async (t) => {
  const dataDir = tempDataDir(t);
  const plugin = ipamPlugin();
  const config = conf(dataDir, { ranges: [[{ subnet: '10.77.0.0/24' }], [{ subnet: 'fd77::/64' }]] });
  const result = await plugin.add(request({ command: 'ADD', config }));
  t.same(result.ips?.map((ip) => ip.address), ['10.77.0.2/24', 'fd77::2/64']);
  const tiny = conf(dataDir, { ranges: [[{ subnet: '10.77.0.0/24' }], [{ subnet: '10.78.0.0/30' }]] }, { name: 'bt-tiny' });
  await plugin.add(request({ command: 'ADD', config: tiny, containerId: 'a' }));
  t.equal(await codeOf(plugin.add(request({ command: 'ADD', config: tiny, containerId: 'b' }))), 50, 'the /30 is exhausted');
  t.same(reservationFiles(join(dataDir, 'bt-tiny')), ['10.77.0.2', '10.78.0.2'], 'b holds nothing after its failed ADD');
});

t.test('requested IPs from runtimeConfig and args', async (t) => {
  const dataDir = tempDataDir(t);
  const plugin = ipamPlugin();
  const base = conf(dataDir);
  const viaRuntime = await plugin.add(request({ command: 'ADD', config: { ...base, runtimeConfig: { ips: ['10.77.0.40/24'] } } }));
  t.same(viaRuntime.ips?.[0]?.address, '10.77.0.40/24');
  const viaArgs = await plugin.add(request({ command: 'ADD', containerId: 'c2', config: { ...base, args: { cni: { ips: ['10.77.0.41'] } } } }));
  t.same(viaArgs.ips?.[0]?.address, '10.77.0.41/24');
  t.equal(await codeOf(plugin.add(request({ command: 'ADD', containerId: 'c3', config: { ...base, runtimeConfig: { ips: ['10.77.0.40'] } } }))), 100, 'in use');
  const next = await plugin.add(request({ command: 'ADD', containerId: 'c4', config: base }));
  t.same(next.ips?.[0]?.address, '10.77.0.42/24', 'round-robin continues after the last reserved address');
});

t.test('GC releases every reservation not listed in cni.dev/valid-attachments', async (t) => {
  const dataDir = tempDataDir(t);
  const plugin = ipamPlugin();
  const config = conf(dataDir);
  for (const id of ['a', 'b', 'c']) await plugin.add(request({ command: 'ADD', config, containerId: id }));
  await plugin.add(request({ command: 'ADD', config, containerId: 'a', ifName: 'eth1' }));
  writeFileSync(join(dataDir, 'bt-net', '.tmp-10.77.0.99-1-dead'), 'x');
  await plugin.gc?.(request({ command: 'GC', config: { ...config, 'cni.dev/valid-attachments': [{ containerID: 'a', ifname: 'eth0' }, { containerID: 'c', ifname: 'eth0' }] } }));
  t.same(reservationFiles(join(dataDir, 'bt-net')), ['10.77.0.2', '10.77.0.4'], 'b and a/eth1 released, the stale temp file too');
  t.throws(() => request({ command: 'GC', config }), { code: 7 }, 'GC without the list is refused (by the config parser, for every plugin), not a wipe');
  t.same(reservationFiles(join(dataDir, 'bt-net')), ['10.77.0.2', '10.77.0.4'], 'nothing released');
  await plugin.gc?.(request({ command: 'GC', config: { ...config, 'cni.dev/valid-attachments': [] } }));
  t.same(reservationFiles(join(dataDir, 'bt-net')), []);
});

t.test('STATUS is code 50 when a range set is exhausted, success otherwise', async (t) => {
  const dataDir = tempDataDir(t);
  const plugin = ipamPlugin();
  const config = conf(dataDir, { subnet: '10.77.0.0/30' });
  await plugin.status?.(request({ command: 'STATUS', config }));
  t.notOk(existsSync(join(dataDir, 'bt-net')), 'STATUS creates nothing');
  await plugin.add(request({ command: 'ADD', config }));
  t.equal(await codeOf(plugin.status?.(request({ command: 'STATUS', config })) ?? Promise.resolve()), 50);
  await plugin.del(request({ command: 'DEL', config }));
  await plugin.status?.(request({ command: 'STATUS', config }));
});

t.test('CHECK: the attachment must hold an address, including every prevResult address in our ranges', async (t) => {
  const dataDir = tempDataDir(t);
  const plugin = ipamPlugin();
  const config = conf(dataDir);
  t.equal(await codeOf(plugin.check(request({ command: 'CHECK', config }))), 999, 'nothing reserved yet');
  const result = await plugin.add(request({ command: 'ADD', config }));
  await plugin.check(request({ command: 'CHECK', config: { ...config, prevResult: result } }));
  const wrong = { ips: [{ address: '10.77.0.9/24' }, { address: '192.168.0.1/24' }] };
  t.equal(await codeOf(plugin.check(request({ command: 'CHECK', config: { ...config, prevResult: wrong } }))), 999, 'an address we do not hold');
});

t.test('a lock held elsewhere makes ADD fail with code 11 after the bounded wait', async (t) => {
  const dataDir = tempDataDir(t);
  const plugin = ipamPlugin({ lockWait: { lockWaitMsMax: 50, pollMsMin: 1, pollMsMax: 5 } });
  const config = conf(dataDir);
  await plugin.add(request({ command: 'ADD', config, containerId: 'first' }));
  const release = tryLockFile(join(dataDir, 'bt-net', 'lock'));
  t.not(release, null);
  t.teardown(() => release?.());
  t.equal(await codeOf(plugin.add(request({ command: 'ADD', config }))), 11);
  release?.();
  const after = await plugin.add(request({ command: 'ADD', config }));
  t.ok(after.ips?.length === 1, 'works once the lock is free');
});
