import t from 'tap';
import { formatCidr, parseCidr } from '../../src/net/ip.js';
import { chooseHostSubnet, hostPrefixLengthFor, hostSubnetCandidates, hostSubnetsMax } from '../../src/overlay/host-subnets.js';

/** A seeded generator (mulberry32): every run draws the same numbers, printed with the seed on failure. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let x = Math.imul(state ^ (state >>> 15), 1 | state);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 2 ** 32;
  };
}

t.test('host prefix lengths follow Flannel: /24 per host, two bits more below a /22, too many or too small refused', async (t) => {
  const cases: Array<[string, number | RegExp]> = [
    ['10.244.0.0/16', 24], ['10.0.0.0/8', 24], ['10.244.0.0/22', 24], ['10.244.0.0/23', 25], ['10.244.0.0/26', 28], ['10.244.0.0/28', 30],
    ['10.244.0.0/29', /too small/], ['10.0.0.0/7', new RegExp(`more than ${hostSubnetsMax}`)],
  ];
  for (const [range, expected] of cases) {
    if (typeof expected === 'number') t.equal(hostPrefixLengthFor(parseCidr(range)), expected, `${range} → /${expected}`);
    else t.throws(() => hostPrefixLengthFor(parseCidr(range)), expected, `${range} refused`);
  }
});

t.test('candidates: every host subnet of the range but the first, in order', async (t) => {
  t.same(hostSubnetCandidates(parseCidr('10.244.0.0/22'), 24).map(formatCidr), ['10.244.1.0/24', '10.244.2.0/24', '10.244.3.0/24']);
  t.equal(hostSubnetCandidates(parseCidr('10.0.0.0/8'), 24).length, hostSubnetsMax - 1);
  t.throws(() => hostSubnetCandidates(parseCidr('10.244.0.0/16'), 12), /do not fit/);
});

t.test('the preferred subnet is kept while free; else a free one; undefined when every subnet is taken', async (t) => {
  const range = parseCidr('10.244.0.0/22');
  const random = seeded(7);
  const taken = [parseCidr('10.244.1.0/24'), parseCidr('10.244.3.0/24')];
  t.equal(formatCidr(chooseHostSubnet({ range, hostPrefixLength: 24, taken: [], preferred: parseCidr('10.244.3.0/24'), random }) ?? parseCidr('0.0.0.0/0')), '10.244.3.0/24', 'preferred kept');
  t.equal(formatCidr(chooseHostSubnet({ range, hostPrefixLength: 24, taken, preferred: parseCidr('10.244.3.0/24'), random }) ?? parseCidr('0.0.0.0/0')), '10.244.2.0/24', 'preferred taken: the one free subnet');
  t.equal(formatCidr(chooseHostSubnet({ range, hostPrefixLength: 24, taken, preferred: parseCidr('10.9.0.0/24'), random }) ?? parseCidr('0.0.0.0/0')), '10.244.2.0/24', 'a preferred subnet outside the range is ignored');
  t.equal(chooseHostSubnet({ range, hostPrefixLength: 24, taken: [...taken, parseCidr('10.244.2.0/24')], random }), undefined, 'exhausted');
  t.equal(chooseHostSubnet({ range, hostPrefixLength: 24, taken: [parseCidr('10.244.0.0/22')], random }), undefined, 'an overlapping wider claim takes everything');
});

t.test('property: over many seeded draws a choice is always a free, aligned subnet inside the range, never the first', async (t) => {
  const seed = 20_261_203;
  const random = seeded(seed);
  const range = parseCidr('10.244.0.0/20');
  const candidates = hostSubnetCandidates(range, 24);
  for (let round = 0; round < 500; round += 1) {
    const taken = candidates.filter(() => random() < 0.6);
    const chosen = chooseHostSubnet({ range, hostPrefixLength: 24, taken, random });
    const free = candidates.filter((candidate) => !taken.some((other) => formatCidr(other) === formatCidr(candidate)));
    if (chosen === undefined) {
      t.equal(free.length, 0, `seed ${seed} round ${round}: undefined only when nothing is free`);
      continue;
    }
    if (!free.some((candidate) => formatCidr(candidate) === formatCidr(chosen))) t.fail(`seed ${seed} round ${round}: ${formatCidr(chosen)} is not free`);
  }
  t.pass(`500 rounds checked (seed ${seed})`);
});
