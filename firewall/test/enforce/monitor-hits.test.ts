/** Reading the monitor-hit sets as libnftables lists them: keys to hits, tags to chains, ages from the timeout. */
import t from 'tap';
import type { NftSet } from '@berth/nftables-napi';
import { namedHits, parseMonitorHits } from '../../src/enforce/monitor-hits.js';
import { monitorTag } from '../../src/compile/names.js';

const listedSet = (elem: NonNullable<NftSet['elem']>): NftSet => ({ family: 'inet', table: 'berth-firewall', name: 'monitor-hits4', type: 'mark', elem });
const tag = monitorTag('monitor/in/np/x');

t.test('elements become hits, newest first, named by the chain whose tag they carry', async (t) => {
  const hits = parseMonitorHits(listedSet([
    { elem: { val: { concat: [tag, '10.0.0.2', '10.0.0.3', 'tcp', 8443] }, expires: 280 } },
    { elem: { val: { concat: [tag, '10.0.0.4', '10.0.0.3', 'icmp', 55420] }, expires: 299 } },
    { elem: { val: { concat: [monitorTag('monitor/in/np/gone'), '10.0.0.5', '10.0.0.3', 'udp', 53] }, expires: 299 } },
    { elem: { val: { concat: [tag, '10.0.0.6', '10.0.0.3'] }, expires: 1 } },
    '10.0.0.9',
  ]), 4);
  t.equal(hits.length, 3, 'elements not of the key\'s shape are skipped');
  t.same(namedHits(hits, ['drop/in/np/y', 'monitor/in/np/x']), [
    { chain: 'monitor/in/np/x', source: '10.0.0.4', destination: '10.0.0.3', protocol: 'icmp', port: null, secondsAgo: 1 },
    { chain: 'monitor/in/np/x', source: '10.0.0.2', destination: '10.0.0.3', protocol: 'tcp', port: 8443, secondsAgo: 20 },
  ], 'a portless protocol has no port; a chain no longer in the table has no hits');
});

/** Two monitor chain names with the same 32-bit tag: a birthday search, ~80 000 hashes on average. */
function collidingChains(): [string, string] {
  const seen = new Map<number, string>();
  for (let index = 0; index < 2_000_000; index += 1) {
    const chain = `monitor/in/np/n${index}`;
    const other = seen.get(monitorTag(chain));
    if (other !== undefined) return [other, chain];
    seen.set(monitorTag(chain), chain);
  }
  throw new Error('no 32-bit tag collision within 2 000 000 names');
}

t.test('a hit of a tag two chains share names both rather than guess', async (t) => {
  const [first, second] = collidingChains();
  const hits = parseMonitorHits(listedSet([{ elem: { val: { concat: [monitorTag(first), '10.0.0.2', '10.0.0.3', 'tcp', 80] }, expires: 300 } }]), 4);
  t.same(namedHits(hits, [second, 'monitor/in/np/x', first]).map((hit) => hit.chain), [[first, second].sort().join(' or ')]);
  t.same(namedHits(hits, [first, 'monitor/in/np/x']).map((hit) => hit.chain), [first], 'with one of them in the table, that one');
});
