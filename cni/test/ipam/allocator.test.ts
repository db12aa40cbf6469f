import t from 'tap';
import { CniError } from '../../src/errors.js';
import { allocate, freeCount, pickToResultIp, type Owner } from '../../src/ipam/allocator.js';
import { canonicalizeRangeSet, type RangeSet } from '../../src/ipam/range.js';
import { formatIp, tryParseIp, type IpAddress } from '../../src/net/ip.js';
import type { RangeSpec } from '../../src/spec/runtime-config.js';

const ip = (text: string): IpAddress => {
  const address = tryParseIp(text);
  if (address === undefined) throw new Error(`bad test address ${text}`);
  return address;
};
const set = (...specs: RangeSpec[]): RangeSet => canonicalizeRangeSet(specs, 'ranges[0]');
const owner = (containerId: string, ifName = 'eth0'): Owner => ({ containerId, ifName });

/** Allocates repeatedly as a store would, recording each pick; returns the addresses in order. */
function drain(rangeSets: RangeSet[], count: number): string[][] {
  const reservations = new Map<string, Owner>();
  const lastReserved = new Map<number, IpAddress>();
  const out: string[][] = [];
  for (let index = 0; index < count; index += 1) {
    const picks = allocate({ rangeSets, state: { reservations, lastReserved }, owner: owner(`c${index}`), requested: [] });
    for (const pick of picks) {
      reservations.set(formatIp(pick.address), owner(`c${index}`));
      lastReserved.set(pick.setIndex, pick.address);
    }
    out.push(picks.map((pick) => pickToResultIp(pick).address));
  }
  return out;
}

function codeOf(fn: () => unknown): number | undefined {
  try { fn(); return undefined; } catch (error) { return error instanceof CniError ? error.code : -1; }
}

t.test('range canonicalisation as host-local: defaults, limits, errors (code 7)', async (t) => {
  const [range] = set({ subnet: '10.0.0.0/24' });
  t.equal(formatIp(range?.start ?? ip('0.0.0.0')), '10.0.0.1', 'start defaults to network + 1');
  t.equal(formatIp(range?.end ?? ip('0.0.0.0')), '10.0.0.254', 'IPv4 end defaults to broadcast - 1');
  t.equal(formatIp(range?.gateway ?? ip('0.0.0.0')), '10.0.0.1', 'gateway defaults to network + 1');
  const [v6] = set({ subnet: '2001:db8::/64' });
  t.equal(formatIp(v6?.end ?? ip('::')), '2001:db8::ffff:ffff:ffff:ffff', 'IPv6 end is the last address');
  const bad: [string, RangeSpec][] = [
    ['/31 is too small', { subnet: '10.0.0.0/31' }],
    ['/32 is too small', { subnet: '10.0.0.1/32' }],
    ['/127 is too small', { subnet: '2001:db8::/127' }],
    ['/128 is too small', { subnet: '2001:db8::1/128' }],
    ['host bits set', { subnet: '10.0.0.1/24' }],
    ['not CIDR', { subnet: '10.0.0.0' }],
    ['garbage', { subnet: '🙂/24' }],
    ['start outside the subnet', { subnet: '10.0.0.0/24', rangeStart: '10.0.1.5' }],
    ['end outside the subnet', { subnet: '10.0.0.0/24', rangeEnd: '10.0.1.5' }],
    ['start after end', { subnet: '10.0.0.0/24', rangeStart: '10.0.0.50', rangeEnd: '10.0.0.10' }],
    ['gateway of the other family', { subnet: '10.0.0.0/24', gateway: '2001:db8::1' }],
    ['start not an address', { subnet: '10.0.0.0/24', rangeStart: 'ten' }],
  ];
  for (const [label, spec] of bad) t.equal(codeOf(() => set(spec)), 7, label);
  t.equal(codeOf(() => set({ subnet: '10.0.0.0/24' }, { subnet: '2001:db8::/64' })), 7, 'mixed families in one set');
  t.equal(codeOf(() => set({ subnet: '10.0.0.0/24' }, { subnet: '10.0.0.0/25' })), 7, 'overlapping ranges in one set');
});

t.test('a /30 has one allocatable address: .2 (gateway .1, network .0, broadcast .3)', async (t) => {
  const picks = drain([set({ subnet: '10.0.0.0/30' })], 1);
  t.same(picks, [['10.0.0.2/30']]);
  t.equal(codeOf(() => drain([set({ subnet: '10.0.0.0/30' })], 2)), 50, 'the second allocation finds it exhausted (code 50)');
});

t.test('round-robin starts at rangeStart, skips the gateway, continues after the last reservation', async (t) => {
  t.same(drain([set({ subnet: '10.0.0.0/29' })], 5).flat(), ['10.0.0.2/29', '10.0.0.3/29', '10.0.0.4/29', '10.0.0.5/29', '10.0.0.6/29']);
  t.same(drain([set({ subnet: '10.0.0.0/24', rangeStart: '10.0.0.100', rangeEnd: '10.0.0.102' })], 3).flat(),
    ['10.0.0.100/24', '10.0.0.101/24', '10.0.0.102/24']);
  t.same(drain([set({ subnet: '10.0.0.0/24', gateway: '10.0.0.254', rangeStart: '10.0.0.253' })], 1).flat(), ['10.0.0.253/24'],
    'the default end (.254) is the configured gateway and is skipped');
  // After releasing an early address the cursor keeps going forward, and wraps only at the end.
  const rangeSets = [set({ subnet: '10.0.0.0/29' })];
  const reservations = new Map<string, Owner>([['10.0.0.2', owner('a')], ['10.0.0.4', owner('b')]]);
  const state = { reservations, lastReserved: new Map([[0, ip('10.0.0.4')]]) };
  t.same(allocate({ rangeSets, state, owner: owner('n'), requested: [] }).map((pick) => formatIp(pick.address)), ['10.0.0.5']);
  const wrapped = { reservations: new Map([...reservations, ['10.0.0.5', owner('c')], ['10.0.0.6', owner('d')]]), lastReserved: new Map([[0, ip('10.0.0.6')]]) };
  t.same(allocate({ rangeSets, state: wrapped, owner: owner('n'), requested: [] }).map((pick) => formatIp(pick.address)), ['10.0.0.3'], 'wraps to the first free');
});

t.test('a cursor outside the set (config changed) restarts at the first range', async (t) => {
  const state = { reservations: new Map<string, Owner>(), lastReserved: new Map([[0, ip('192.168.1.1')]]) };
  t.same(allocate({ rangeSets: [set({ subnet: '10.0.0.0/24' })], state, owner: owner('x'), requested: [] }).map((p) => formatIp(p.address)), ['10.0.0.2']);
});

t.test('multi-range sets are walked in order and wrap across ranges', async (t) => {
  const rangeSets = [set({ subnet: '10.0.0.0/30' }, { subnet: '10.0.1.0/30' })];
  t.same(drain(rangeSets, 2).flat(), ['10.0.0.2/30', '10.0.1.2/30']);
  t.equal(codeOf(() => drain(rangeSets, 3)), 50);
});

t.test('IPv6 and dual stack: one address per range set', async (t) => {
  t.same(drain([set({ subnet: '10.0.0.0/24' }), set({ subnet: 'fd00:1::/64' })], 2), [
    ['10.0.0.2/24', 'fd00:1::2/64'], ['10.0.0.3/24', 'fd00:1::3/64'],
  ]);
  const big = [set({ subnet: '2001:db8::/32' })];
  t.equal(freeCount(big[0] ?? [], new Map()), (1n << 96n) - 2n, 'an IPv6 /32 has 2^96 - 2 allocatable addresses (network and gateway excluded)');
  t.same(drain(big, 1).flat(), ['2001:db8::2/32']);
});

t.test('an attachment that already holds an address gets it again (ADD is idempotent)', async (t) => {
  const rangeSets = [set({ subnet: '10.0.0.0/24' })];
  const state = { reservations: new Map([['10.0.0.7', owner('c1')]]), lastReserved: new Map([[0, ip('10.0.0.9')]]) };
  const [pick] = allocate({ rangeSets, state, owner: owner('c1'), requested: [] });
  t.equal(formatIp(pick?.address ?? ip('0.0.0.0')), '10.0.0.7');
  t.equal(pick?.fresh, false, 'nothing to write');
  const [other] = allocate({ rangeSets, state, owner: owner('c1', 'eth1'), requested: [] });
  t.equal(formatIp(other?.address ?? ip('0.0.0.0')), '10.0.0.10', 'another interface of the same container gets its own');
});

t.test('requested addresses: honoured, in use (100), outside every range or special (7), per set', async (t) => {
  const rangeSets = [set({ subnet: '10.0.0.0/24', rangeStart: '10.0.0.10', rangeEnd: '10.0.0.20' }), set({ subnet: 'fd00::/64' })];
  const state = { reservations: new Map([['10.0.0.12', owner('other')]]), lastReserved: new Map<number, IpAddress>() };
  const picks = allocate({ rangeSets, state, owner: owner('me'), requested: [ip('10.0.0.15'), ip('fd00::99')] });
  t.same(picks.map((p) => [formatIp(p.address), p.fresh]), [['10.0.0.15', true], ['fd00::99', true]]);
  const cases: [string, string[], number][] = [
    ['held by another container', ['10.0.0.12'], 100],
    ['inside the subnet but outside rangeStart..rangeEnd', ['10.0.0.5'], 7],
    ['in no range at all', ['192.168.0.1'], 7],
    ['two in one set', ['10.0.0.15', '10.0.0.16'], 7],
    ['the gateway', ['fd00::1'], 7],
    ['the network address', ['fd00::'], 7],
  ];
  for (const [label, requested, code] of cases) {
    t.equal(codeOf(() => allocate({ rangeSets, state, owner: owner('me'), requested: requested.map(ip) })), code, `${label}: code ${code}`);
  }
  const holding = { reservations: new Map([['10.0.0.11', owner('me')]]), lastReserved: new Map<number, IpAddress>() };
  t.equal(codeOf(() => allocate({ rangeSets, state: holding, owner: owner('me'), requested: [ip('10.0.0.13')] })), 100,
    'asking for a different address than the one held is refused');
  const same = allocate({ rangeSets, state: holding, owner: owner('me'), requested: [ip('10.0.0.11')] });
  t.equal(same[0]?.fresh, false, 'asking again for the held address is idempotent');
});

t.test('a full range set is exhausted even with reservations for the gateway present', async (t) => {
  const rangeSets = [set({ subnet: '10.0.0.0/29' })];
  const reservations = new Map<string, Owner>(['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5', '10.0.0.6'].map((a) => [a, owner(a)]));
  t.equal(freeCount(rangeSets[0] ?? [], reservations), 0n);
  t.equal(codeOf(() => allocate({ rangeSets, state: { reservations, lastReserved: new Map() }, owner: owner('x'), requested: [] })), 50);
});

t.test('property: drained allocation never repeats and never hands out special addresses', async (t) => {
  for (const subnet of ['10.1.0.0/27', '10.1.0.0/28', 'fd00:9::/123']) {
    const rangeSets = [set({ subnet })];
    const total = Number(freeCount(rangeSets[0] ?? [], new Map()));
    const all = drain(rangeSets, total).flat();
    t.equal(new Set(all).size, total, `${subnet}: ${total} distinct addresses`);
    const hosts = all.map((cidr) => cidr.split('/')[0]);
    const [network, gateway] = subnet.includes(':') ? ['fd00:9::', 'fd00:9::1'] : ['10.1.0.0', '10.1.0.1'];
    t.notOk(hosts.includes(network) || hosts.includes(gateway), `${subnet}: neither network nor gateway`);
    t.equal(codeOf(() => drain(rangeSets, total + 1)), 50, `${subnet}: one more is code 50`);
  }
});
