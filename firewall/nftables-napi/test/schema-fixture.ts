import { ct, match, meta, payload, setRef, type NftScript } from '../src/index.js';

export const schemaTable = 'berth-schema';
const table = schemaTable;
const family = 'inet';

// Every statement and expression kind in schema.ts, applied to the kernel in one transaction and listed back.
export function schemaScript(): NftScript {
  const ref = { family, table } as const;
  return {
    nftables: [
      { add: { table: { family, name: table } } },
      { add: { set: { ...ref, name: 'allowed', type: ['ipv4_addr', 'inet_service'], flags: ['interval'],
        elem: [{ concat: [{ prefix: { addr: '10.1.0.0', len: 16 } }, { range: [8000, 8080] }] }] } } },
      { add: { set: { ...ref, name: 'recent', type: 'ipv4_addr', flags: ['timeout'], timeout: 60 } } },
      { add: { element: { ...ref, name: 'recent', elem: [{ elem: { val: '192.0.2.7', timeout: 30, comment: 'x' } }] } } },
      // A verdict map's jump target must exist before the map's elements name it.
      { add: { chain: { ...ref, name: 'ssh' } } },
      { add: { map: { ...ref, name: 'by-port', type: 'inet_service', map: 'verdict',
        elem: [[22, { jump: { target: 'ssh' } }], [80, { accept: null }]] } } },
      { add: { chain: { ...ref, name: 'raw', type: 'filter', hook: 'prerouting', prio: -300, policy: 'accept' } } },
      { add: { chain: { ...ref, name: 'forward', type: 'filter', hook: 'forward', prio: 0, policy: 'drop' } } },
      { add: { chain: { ...ref, name: 'postrouting', type: 'nat', hook: 'postrouting', prio: 100, policy: 'accept' } } },
      { add: { chain: { ...ref, name: 'prerouting', type: 'nat', hook: 'prerouting', prio: -100, policy: 'accept' } } },
      { add: { rule: { ...ref, chain: 'raw', expr: [match(payload('udp', 'dport'), 53), { notrack: null }] } } },
      { add: { rule: { ...ref, chain: 'forward', comment: 'owner:conntrack',
        expr: [match(ct('state'), ['established', 'related'], 'in'), { counter: null }, { accept: null }] } } },
      { add: { rule: { ...ref, chain: 'forward', comment: 'owner:lookup',
        expr: [match({ concat: [payload('ip', 'saddr'), payload('tcp', 'dport')] }, setRef('allowed')), { accept: null }] } } },
      { add: { rule: { ...ref, chain: 'forward',
        expr: [match(meta('iifname'), 'bt-veth*'), { vmap: { key: payload('tcp', 'dport'), data: setRef('by-port') } }] } } },
      { add: { rule: { ...ref, chain: 'forward', expr: [{ vmap: { key: meta('l4proto'),
        data: { set: [['icmp', { accept: null }], ['udp', { goto: { target: 'ssh' } }]] } } }] } } },
      { add: { rule: { ...ref, chain: 'forward', expr: [match(payload('ip', 'daddr'), { set: ['192.0.2.1', '192.0.2.2'] }),
        { limit: { rate: 10, per: 'second', burst: 5 } }, { log: { prefix: 'berth-drop ', group: 2 } }, { drop: null }] } } },
      { add: { rule: { ...ref, chain: 'forward', expr: [match({ fib: { result: 'type', flags: ['daddr'] } }, 'local', '!='),
        { reject: { type: 'icmpx', expr: 'admin-prohibited' } }] } } },
      { add: { rule: { ...ref, chain: 'forward', expr: [{ reject: null }] } } },
      { add: { rule: { ...ref, chain: 'ssh', expr: [match(payload('ip', 'saddr'), { range: ['10.0.0.1', '10.0.0.9'] }), { return: null }] } } },
      { add: { rule: { ...ref, chain: 'ssh', expr: [{ counter: null }, { continue: null }] } } },
      { add: { rule: { ...ref, chain: 'postrouting', expr: [match(payload('ip', 'saddr'), { prefix: { addr: '10.88.0.0', len: 16 } }),
        match(meta('oifname'), 'bt-br0', '!='), { masquerade: null }] } } },
      { add: { rule: { ...ref, chain: 'postrouting', expr: [match(meta('oifname'), 'bt-up0'), { snat: { family: 'ip', addr: '198.51.100.1' } }] } } },
      { add: { rule: { ...ref, chain: 'prerouting', expr: [match(payload('tcp', 'dport'), 8080),
        { dnat: { family: 'ip', addr: '10.88.0.2', port: 80 } }] } } },
    ],
  };
}
