import t from 'tap';
import { CniError } from '../../src/errors.js';
import { parseCidr, parseIp } from '../../src/net/ip.js';
import {
  NatCode, NatSet, addElementCommands, deleteElementCommands, elementIdentity, masqueradeElements, natBaseScript,
  natTableSpec, ownerTag, ownerTagLengthMax, portMappingElements, tagInNetwork,
} from '../../src/nat/index.js';
import type { PortMapping } from '../../src/spec/runtime-config.js';

const owner = 'net1/abc/eth0';

/** The CniError code `fn` throws, or a description of what else happened. */
function errorCode(fn: () => unknown): number | string {
  try {
    fn();
    return 'no error';
  } catch (error) {
    return error instanceof CniError ? error.code : String(error);
  }
}

t.test('owner tags are readable, unique per attachment and always fit the comment limit', async (t) => {
  t.equal(ownerTag({ network: 'net1', containerId: 'abc', ifName: 'eth0' }), 'net1/abc/eth0');
  const longId = 'f'.repeat(1024);
  const longNet = 'n'.repeat(255);
  const tag = ownerTag({ network: longNet, containerId: longId, ifName: 'eth0123456789ab' });
  t.ok(tag.length <= ownerTagLengthMax, `${tag.length} characters`);
  t.match(tag, /^#[0-9a-f]{16}\/#[0-9a-f]{24}\/eth0123456789ab$/);
  t.not(ownerTag({ network: 'n', containerId: `${longId}1`, ifName: 'eth0' }), ownerTag({ network: 'n', containerId: `${longId}2`, ifName: 'eth0' }),
    'two long IDs differing only at the end get different tags');
  t.equal(ownerTag({ network: 'n', containerId: 'a'.repeat(64), ifName: 'eth0' }), `n/${'a'.repeat(64)}/eth0`, 'a 64-hex engine ID stays readable');
  t.ok(tagInNetwork('net1/abc/eth0', 'net1'));
  t.notOk(tagInNetwork('net10/abc/eth0', 'net1'), 'a network whose name extends another is not confused with it');
  t.ok(tagInNetwork(tag, longNet));
  t.throws(() => ownerTag({ network: 'n', containerId: 'c', ifName: 'a/b' }), RangeError);
});

t.test('masquerade: every address is masqueraded except towards its own subnet', async (t) => {
  const elements = masqueradeElements(owner, [parseCidr('10.88.0.5/16'), parseCidr('fd00:1::5/64')]);
  t.same(elements, [
    { set: NatSet.masqueradeV4, key: '10.88.0.5', owner },
    { set: NatSet.masqueradeExemptV4, key: { concat: ['10.88.0.5', { prefix: { addr: '10.88.0.0', len: 16 } }] }, owner },
    { set: NatSet.masqueradeV6, key: 'fd00:1::5', owner },
    { set: NatSet.masqueradeExemptV6, key: { concat: ['fd00:1::5', { prefix: { addr: 'fd00:1::', len: 64 } }] }, owner },
  ]);
});

const tcp80 = (extra: Partial<PortMapping> = {}): PortMapping => ({ hostPort: 8080, containerPort: 80, protocol: 'tcp', ...extra });
const v4 = parseIp('10.88.0.5');
const v6 = parseIp('fd00:1::5');

t.test('port mappings: where each mapping goes, by host address and container family', async (t) => {
  const cases: { name: string; mapping: PortMapping; addresses: typeof v4[]; sets: string[] }[] = [
    { name: 'any host address, IPv4 container', mapping: tcp80(), addresses: [v4], sets: [NatSet.portsV4] },
    { name: 'any host address, dual-stack container', mapping: tcp80(), addresses: [v4, v6], sets: [NatSet.portsV4, NatSet.portsV6] },
    { name: '0.0.0.0 means every IPv4 address', mapping: tcp80({ hostIP: '0.0.0.0' }), addresses: [v4, v6], sets: [NatSet.portsV4] },
    { name: ':: means every IPv6 address', mapping: tcp80({ hostIP: '::' }), addresses: [v4, v6], sets: [NatSet.portsV6] },
    { name: 'an IPv4 host address binds', mapping: tcp80({ hostIP: '192.0.2.1' }), addresses: [v4, v6], sets: [NatSet.portsHostIpV4] },
    { name: 'an IPv6 host address binds', mapping: tcp80({ hostIP: '2001:db8::1' }), addresses: [v4, v6], sets: [NatSet.portsHostIpV6] },
    { name: 'an IPv6 host address and an IPv4-only container map nothing', mapping: tcp80({ hostIP: '2001:db8::1' }), addresses: [v4], sets: [] },
  ];
  for (const c of cases) {
    const sets = portMappingElements({ owner, containerAddresses: c.addresses, mappings: [c.mapping], snat: false }).map((e) => e.set);
    t.same(sets, c.sets, c.name);
  }
  const [bound] = portMappingElements({ owner, containerAddresses: [v4], mappings: [tcp80({ hostIP: '192.0.2.1', protocol: 'udp' })], snat: false });
  t.same(bound, { set: NatSet.portsHostIpV4, key: { concat: ['192.0.2.1', 'udp', 8080] }, value: { concat: ['10.88.0.5', 80] }, owner });
});

t.test('port mappings: hairpin and localhost entries only with snat, localhost only for IPv4', async (t) => {
  const withSnat = portMappingElements({ owner, containerAddresses: [v4, v6], mappings: [tcp80()], snat: true });
  t.same(withSnat.map((e) => e.set).sort(), [NatSet.hairpinV4, NatSet.hairpinV6, NatSet.localnetV4, NatSet.portsV4, NatSet.portsV6].sort());
  t.same(withSnat.find((e) => e.set === NatSet.hairpinV6)?.key, { concat: ['fd00:1::5', 'fd00:1::5'] });
  t.same(portMappingElements({ owner, containerAddresses: [v4], mappings: [], snat: true }), [], 'no mappings, no hairpin');
});

t.test('port mappings: repeats collapse, contradictions and hostile values are refused', async (t) => {
  t.equal(portMappingElements({ owner, containerAddresses: [v4], mappings: [tcp80(), tcp80()], snat: false }).length, 1);
  const refused: { name: string; mappings: PortMapping[]; code: number }[] = [
    { name: 'one host port to two container ports', mappings: [tcp80(), tcp80({ containerPort: 81 })], code: NatCode.PortInUse },
    { name: 'unknown protocol', mappings: [tcp80({ protocol: 'icmp' })], code: NatCode.InvalidPortMapping },
    { name: 'protocol with injection', mappings: [tcp80({ protocol: 'tcp; flush ruleset' })], code: NatCode.InvalidPortMapping },
    { name: 'port 0', mappings: [tcp80({ hostPort: 0 })], code: NatCode.InvalidPortMapping },
    { name: 'port 65536', mappings: [tcp80({ containerPort: 65536 })], code: NatCode.InvalidPortMapping },
    { name: 'host IP that is no address', mappings: [tcp80({ hostIP: '1.2.3' })], code: NatCode.InvalidPortMapping },
  ];
  for (const c of refused) {
    t.equal(errorCode(() => portMappingElements({ owner, containerAddresses: [v4], mappings: c.mappings, snat: false })), c.code, c.name);
  }
});

t.test('element identity ignores how an address is spelled', async (t) => {
  t.equal(elementIdentity({ set: NatSet.masqueradeV6, key: 'FD00:1:0::5' }), elementIdentity({ set: NatSet.masqueradeV6, key: 'fd00:1::5' }));
  t.not(elementIdentity({ set: NatSet.masqueradeV6, key: 'fd00:1::5' }), elementIdentity({ set: NatSet.masqueradeV6, key: 'fd00:1::6' }));
});

t.test('commands: one per set, adds carry the owner tag, deletes name keys only', async (t) => {
  const elements = portMappingElements({ owner, containerAddresses: [v4], mappings: [tcp80()], snat: true });
  t.same(addElementCommands(natTableSpec, elements), [
    { add: { element: { family: 'inet', table: 'berth-nat', name: 'ports-v4', elem: [[{ elem: { val: { concat: ['tcp', 8080] }, comment: owner } }, { concat: ['10.88.0.5', 80] }]] } } },
    { add: { element: { family: 'inet', table: 'berth-nat', name: 'hairpin-v4', elem: [{ elem: { val: { concat: ['10.88.0.5', '10.88.0.5'] }, comment: owner } }] } } },
    { add: { element: { family: 'inet', table: 'berth-nat', name: 'localnet-v4', elem: [{ elem: { val: '10.88.0.5', comment: owner } }] } } },
  ]);
  t.same(deleteElementCommands(natTableSpec, elements.slice(0, 1)), [
    { delete: { element: { family: 'inet', table: 'berth-nat', name: 'ports-v4', elem: [{ concat: ['tcp', 8080] }] } } },
  ]);
});

t.test('the fixed ruleset creates its table exclusively, never flushes, and exempts multicast', async (t) => {
  const script = natBaseScript();
  t.match(script, /^create table inet berth-nat /);
  t.notMatch(script, /flush/);
  t.match(script, /ip daddr != 224\.0\.0\.0\/4 masquerade/);
  t.match(script, /ip6 daddr != ff00::\/8 masquerade/);
  t.match(script, /ports-hostip-v4[\s\S]*dnat ip to meta l4proto \. th dport map @ports-v4/, 'host-bound mappings are looked up first');
});
