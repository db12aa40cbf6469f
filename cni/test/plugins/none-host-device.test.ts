import t from 'tap';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeNetns, sh, type Netns, type Teardown } from '../nat/topology.js';
import { addressesOf, callChecked, callPlugin, ipamDir, linkNames, reservations } from './helpers.js';

t.test('berth-none: loopback up and nothing else; DEL puts it down, and succeeds once the netns is gone', async (t) => {
  const host = makeNetns(t, 'nh');
  const ctr = makeNetns(t, 'nc');
  sh(ctr, 'ip link set lo down');
  const config = { cniVersion: '1.1.0', name: 'bt-none', type: 'berth-none' };
  const call = { plugin: 'berth-none', host, containerId: 'c1', netns: ctr.path, ifName: 'eth0', config } as const;
  const result = await callChecked({ ...call, command: 'ADD' });
  t.same(result, { cniVersion: '1.1.0', interfaces: [{ name: 'lo', sandbox: ctr.path, mac: '00:00:00:00:00:00' }] });
  t.match(sh(ctr, 'ip link show lo'), /LOOPBACK,UP/);
  t.same(linkNames(ctr), ['lo'], 'no other interface');
  t.equal((await callPlugin({ ...call, command: 'CHECK', config: { ...config, prevResult: result } })).code, 0);
  await callChecked({ ...call, command: 'DEL' });
  t.notMatch(sh(ctr, 'ip link show lo'), /LOOPBACK,UP/);
  sh(host, `ip netns del ${ctr.name}`);
  t.equal((await callPlugin({ ...call, command: 'DEL' })).code, 0, 'DEL after the netns is gone');
});

function stateDir(t: { teardown(fn: () => unknown): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'bt-hostdev-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A "physical" device on the test host: no dummy driver here, so one end of a veth whose other end sits in a wire netns. */
function hostDevice(t: Teardown, host: Netns, name: string, mac?: string): void {
  const wire = makeNetns(t, 'hw');
  sh(host, `ip link add ${name} ${mac === undefined ? '' : `address ${mac} `}type veth peer name peer0 netns ${wire.path}`);
}

t.test('berth-host-device: a host link moves in under CNI_IFNAME with its IPAM address and comes home on DEL', async (t) => {
  const host = makeNetns(t, 'hh');
  const ctr = makeNetns(t, 'hc');
  const dataDir = ipamDir(t);
  hostDevice(t, host, 'bt-dev0', '02:00:00:00:aa:01');
  const config = {
    cniVersion: '1.1.0', name: 'bt-hostdev', type: 'berth-host-device', device: 'bt-dev0', stateDir: stateDir(t),
    ipam: { type: 'berth-ipam', dataDir, ranges: [[{ subnet: '10.71.0.0/24' }]] },
  };
  const call = { plugin: 'berth-host-device', host, containerId: 'c1', netns: ctr.path, ifName: 'net1', config } as const;
  const result = await callChecked({ ...call, command: 'ADD' });
  t.match(result, { interfaces: [{ name: 'net1', mac: '02:00:00:00:aa:01', sandbox: ctr.path }], ips: [{ address: '10.71.0.2/24', interface: 0 }] });
  t.notOk(linkNames(host).includes('bt-dev0'), 'gone from the host');
  t.same(addressesOf(ctr, 'net1'), ['10.71.0.2/24']);
  t.equal((await callPlugin({ ...call, command: 'CHECK', config: { ...config, prevResult: result } })).code, 0, 'CHECK');
  await callChecked({ ...call, command: 'DEL' });
  t.ok(linkNames(host).includes('bt-dev0'), 'back in the host under its own name');
  t.notOk(linkNames(ctr).includes('net1'));
  t.same(reservations(dataDir, 'bt-hostdev'), []);
  t.same(readdirSync(config.stateDir), [], 'no record left');
  t.equal((await callPlugin({ ...call, command: 'DEL' })).code, 0, 'a second DEL succeeds');
});

t.test('berth-host-device: by MAC; a device the kernel returned under another name gets its name back', async (t) => {
  const host = makeNetns(t, 'hh');
  const ctr = makeNetns(t, 'hc');
  hostDevice(t, host, 'bt-dev1', '02:00:00:00:aa:02');
  const config = { cniVersion: '1.1.0', name: 'bt-hostdev2', type: 'berth-host-device', hwaddr: '02:00:00:00:AA:02', stateDir: stateDir(t) };
  const call = { plugin: 'berth-host-device', host, containerId: 'c2', netns: ctr.path, ifName: 'eth0', config } as const;
  await callChecked({ ...call, command: 'ADD' });
  t.ok(linkNames(ctr).includes('eth0'));
  // What the kernel does to a physical device when its netns dies: back to the initial netns, renamed devN.
  sh(ctr, `ip link set eth0 down && ip link set eth0 netns ${host.path} name dev7`);
  sh(host, `ip netns del ${ctr.name}`);
  await callChecked({ ...call, command: 'DEL' });
  t.ok(linkNames(host).includes('bt-dev1'), 'renamed back to bt-dev1');
  t.notOk(linkNames(host).includes('dev7'));
});

t.test('berth-host-device: refusals change nothing', async (t) => {
  const host = makeNetns(t, 'hh');
  const ctr = makeNetns(t, 'hc');
  hostDevice(t, host, 'bt-dev2');
  sh(ctr, 'ip link add eth0 type bridge');
  const base = { cniVersion: '1.1.0', name: 'bt-hostdev3', type: 'berth-host-device', stateDir: stateDir(t) };
  const call = { plugin: 'berth-host-device', host, containerId: 'c3', netns: ctr.path, ifName: 'eth0' } as const;
  const taken = await callPlugin({ ...call, command: 'ADD', config: { ...base, device: 'bt-dev2' } });
  t.match(taken.json, { code: 999, msg: /already has an interface of that name/ });
  t.ok(linkNames(host).includes('bt-dev2'), 'the device stayed on the host');
  const absent = await callPlugin({ ...call, command: 'ADD', config: { ...base, device: 'bt-nodev' } });
  t.match(absent.json, { msg: /Cannot find host device bt-nodev/ });
  const both = await callPlugin({ ...call, command: 'ADD', config: { ...base, device: 'bt-dev2', hwaddr: '02:00:00:00:00:01' } });
  t.match(both.json, { code: 7, msg: /exactly one of "device" and "hwaddr"/ });
  const pci = await callPlugin({ ...call, command: 'ADD', config: { ...base, pciBusID: '0000:00:1f.6' } });
  t.match(pci.json, { code: 2, msg: /pciBusID/ });
  t.same(readdirSync(base.stateDir), []);
});
