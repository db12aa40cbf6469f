import t from 'tap';
import { CniError } from '../../src/errors.js';
import { formatCidr, formatIp, parseCidr, parseIp } from '../../src/net/ip.js';
import { fnv1a64, hashHex } from '../../src/overlay/hash.js';
import type { OverlayNetwork } from '../../src/overlay/network.js';
import { parsePeers, validatePeers, type OverlayPeer } from '../../src/overlay/peer.js';
import {
  diffPeerEntries, gatewayOf, isEmptyDiff, nextHopOf, planPeerEntries, type PeerEntries, type PeerEntriesDiff,
} from '../../src/overlay/plan.js';
import { overlayMtu, vtepMac } from '../../src/overlay/vtep.js';

const network: OverlayNetwork = {
  name: 'ovl', vni: 42, port: 4789, cidr: parseCidr('10.244.0.0/16'), device: 'bvx42', bridge: 'bvb42', directRouting: false, mtu: undefined,
};
const peer = (address: string, subnet: string, extra: Partial<OverlayPeer> = {}): OverlayPeer =>
  ({ address: parseIp(address), subnet: parseCidr(subnet), ...extra });
const three = [peer('192.168.1.1', '10.244.1.0/24'), peer('192.168.1.2', '10.244.2.0/24'), peer('192.168.2.3', '10.244.3.0/24')];

function rejects(fn: () => unknown, message: RegExp): boolean {
  try {
    fn();
    return false;
  } catch (error) {
    return error instanceof CniError && error.code === 7 && message.test(error.message);
  }
}

t.test('FNV-1a 64 matches the published test vectors', async (t) => {
  t.equal(fnv1a64(''), 0xcbf29ce484222325n);
  t.equal(fnv1a64('a'), 0xaf63dc4c8601ec8cn);
  t.equal(fnv1a64('foobar'), 0x85944171f73967e8n);
  t.equal(hashHex('a', 4), 'ec8c');
  t.throws(() => hashHex('a', 17), RangeError);
});

t.test('VTEP MACs: deterministic, locally administered unicast, distinct per VNI and address', async (t) => {
  const mac = vtepMac(42, parseIp('192.168.1.1'));
  t.equal(mac, vtepMac(42, parseIp('192.168.1.1')), 'every host derives the same MAC');
  t.match(mac, /^0a(:[0-9a-f]{2}){5}$/, 'first octet 0x0a: local bit set, multicast bit clear');
  t.not(mac, vtepMac(43, parseIp('192.168.1.1')));
  t.not(mac, vtepMac(42, parseIp('192.168.1.2')));
  const many = new Set(Array.from({ length: 2000 }, (_, index) => vtepMac(7, parseIp(`10.${index >> 8}.${index & 255}.1`))));
  t.equal(many.size, 2000, 'no collision among 2000 hosts');
});

t.test('overlay MTU: underlay − 50 over IPv4, − 70 over IPv6', async (t) => {
  t.equal(overlayMtu(1500, 4), 1450);
  t.equal(overlayMtu(1500, 6), 1430);
  t.equal(overlayMtu(9000, 4), 8950);
  t.throws(() => overlayMtu(100, 4), RangeError);
});

t.test('peer lists: valid ones pass, every kind of inconsistency is code 7', async (t) => {
  validatePeers(network, three);
  t.pass('three hosts, three disjoint /24s');
  const cases: [string, OverlayPeer[], RegExp][] = [
    ['overlap', [three[0] as OverlayPeer, peer('192.168.1.9', '10.244.1.128/25')], /overlaps/],
    ['outside the range', [peer('192.168.1.1', '10.245.0.0/24')], /not inside/],
    ['wider than the range', [peer('192.168.1.1', '10.0.0.0/8')], /not inside/],
    ['too small', [peer('192.168.1.1', '10.244.1.0/31')], /too small/],
    ['IPv6 subnet', [peer('192.168.1.1', 'fd00::/64')], /not inside/],
    ['mixed VTEP families', [three[0] as OverlayPeer, peer('fd00::2', '10.244.2.0/24')], /mix IPv4 and IPv6/],
    ['same VTEP twice', [three[0] as OverlayPeer, peer('192.168.1.1', '10.244.9.0/24')], /listed twice/],
    ['same explicit MAC', [peer('192.168.1.1', '10.244.1.0/24', { mac: '02:00:00:00:00:01' }), peer('192.168.1.2', '10.244.2.0/24', { mac: '02:00:00:00:00:01' })], /equals that of/],
    ['multicast MAC', [peer('192.168.1.1', '10.244.1.0/24', { mac: '01:00:00:00:00:01' })], /multicast/],
  ];
  for (const [name, peers, message] of cases) t.ok(rejects(() => validatePeers(network, peers), message), name);
});

t.test('parsing a conflist\'s peers: hostile entries are code 7 naming the entry', async (t) => {
  t.same(parsePeers([{ address: '192.168.1.1', subnet: '10.244.1.0/24', name: 'a' }], 'peers'),
    [{ address: parseIp('192.168.1.1'), subnet: parseCidr('10.244.1.0/24'), name: 'a' }]);
  const cases: [string, unknown, RegExp][] = [
    ['not an object', 'x', /"peers\[0\]" must be an object/],
    ['no address', { subnet: '10.244.1.0/24' }, /"peers\[0\].address" is required/],
    ['bad address', { address: '999.1.1.1', subnet: '10.244.1.0/24' }, /not an IP address/],
    ['bad subnet', { address: '192.168.1.1', subnet: 'ten' }, /not a CIDR/],
    ['host bits', { address: '192.168.1.1', subnet: '10.244.1.5/24' }, /host bits set.*10\.244\.1\.0\/24/],
    ['bad mac', { address: '192.168.1.1', subnet: '10.244.1.0/24', mac: 'nope' }, /not a MAC/],
    ['subnet of the wrong type', { address: '192.168.1.1', subnet: 24 }, /must be a string/],
  ];
  for (const [name, value, message] of cases) t.ok(rejects(() => parsePeers([value], 'peers'), message), name);
  t.ok(rejects(() => parsePeers(Array.from({ length: 1025 }, () => ({})), 'peers'), /more than 1024/), 'too many peers');
});

t.test('the plan: an FDB entry, a neighbour and an on-link route per remote host; nothing for itself', async (t) => {
  const [local] = three as [OverlayPeer];
  const plan = planPeerEntries({ network, local, peers: three, underlayPrefixes: [parseCidr('192.168.1.1/24')] });
  t.same(plan.fdb.map((entry) => [entry.mac, formatIp(entry.dst)]),
    [[vtepMac(42, parseIp('192.168.1.2')), '192.168.1.2'], [vtepMac(42, parseIp('192.168.2.3')), '192.168.2.3']]);
  t.same(plan.neighbours.map((entry) => [formatIp(entry.ip), entry.mac]),
    [['10.244.2.0', vtepMac(42, parseIp('192.168.1.2'))], ['10.244.3.0', vtepMac(42, parseIp('192.168.2.3'))]]);
  t.same(plan.routes.map((entry) => [formatCidr(entry.dst), formatIp(entry.gateway), entry.via]),
    [['10.244.2.0/24', '10.244.2.0', 'vxlan'], ['10.244.3.0/24', '10.244.3.0', 'vxlan']]);
  t.equal(formatIp(nextHopOf(local)), '10.244.1.0');
  t.equal(formatCidr(gatewayOf(local)), '10.244.1.1/24');
  t.same(planPeerEntries({ network, local: undefined, peers: three, underlayPrefixes: [] }), { fdb: [], neighbours: [], routes: [] }, 'not a member: nothing');

  const direct = planPeerEntries({ network: { ...network, directRouting: true }, local, peers: three, underlayPrefixes: [parseCidr('192.168.1.1/24')] });
  t.same(direct.routes.map((entry) => [formatCidr(entry.dst), formatIp(entry.gateway), entry.via]),
    [['10.244.2.0/24', '192.168.1.2', 'underlay'], ['10.244.3.0/24', '10.244.3.0', 'vxlan']], 'directRouting: only the peer on the same underlay subnet');
  t.same(direct.fdb.map((entry) => formatIp(entry.dst)), ['192.168.2.3'], 'and no FDB entry for it');
});

/** Applies a diff to a key→value view of the entries, as the kernel would: set replaces by key, remove deletes by key. */
function simulate(current: PeerEntries, diff: PeerEntriesDiff): Record<string, string[]> {
  const view = (entries: PeerEntries) => ({
    fdb: new Map(entries.fdb.map((entry) => [entry.mac, formatIp(entry.dst)])),
    neighbours: new Map(entries.neighbours.map((entry) => [formatIp(entry.ip), entry.mac])),
    routes: new Map(entries.routes.map((entry) => [formatCidr(entry.dst), `${formatIp(entry.gateway)} ${entry.via}`])),
  });
  const state = view(current);
  const set = view(diff.set);
  const remove = view(diff.remove);
  for (const kind of ['fdb', 'neighbours', 'routes'] as const) {
    for (const [key, value] of set[kind]) state[kind].set(key, value);
    for (const key of remove[kind].keys()) state[kind].delete(key);
  }
  return Object.fromEntries((['fdb', 'neighbours', 'routes'] as const).map((kind) => [kind, [...state[kind]].map(([key, value]) => `${key}=${value}`).sort()]));
}

t.test('property: the diff turns any current entries into the desired ones and touches nothing already right', async (t) => {
  const seed = Number(process.env['BERTH_SEED'] ?? Date.now() % 1_000_000);
  t.comment(`seed ${seed} (rerun with BERTH_SEED=${seed})`);
  let state = seed;
  const random = (limit: number) => { state = (state * 1103515245 + 12345) % 2147483648; return state % limit; };
  const hosts = Array.from({ length: 12 }, (_, index) => peer(`192.168.${index % 3}.${index + 1}`, `10.244.${index + 1}.0/24`));
  for (let round = 0; round < 300; round += 1) {
    const pick = () => hosts.filter(() => random(2) === 0);
    const directRouting = random(2) === 0;
    const local = hosts[0] as OverlayPeer;
    const plan = (peers: OverlayPeer[]) => planPeerEntries({ network: { ...network, directRouting }, local, peers, underlayPrefixes: [parseCidr(`192.168.${random(3)}.1/24`)] });
    const current = plan(pick());
    const desired = plan(pick());
    const diff = diffPeerEntries(desired, current);
    t.same(simulate(current, diff), simulate(desired, { set: { fdb: [], neighbours: [], routes: [] }, remove: { fdb: [], neighbours: [], routes: [] } }), `round ${round}`);
    const unchanged = diffPeerEntries(desired, desired);
    if (!isEmptyDiff(unchanged)) t.fail(`round ${round}: a plan diffed against itself is not empty`);
    const keptFdb = current.fdb.filter((entry) => desired.fdb.some((other) => other.mac === entry.mac && formatIp(other.dst) === formatIp(entry.dst)));
    if (keptFdb.some((entry) => diff.set.fdb.some((other) => other.mac === entry.mac) || diff.remove.fdb.some((other) => other.mac === entry.mac))) {
      t.fail(`round ${round}: an FDB entry that was already right is touched`);
    }
  }
});
