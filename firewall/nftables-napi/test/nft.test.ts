import t from 'tap';
import {
  Nft, NftErrorCode, ct, listed, match, meta, payload, setRef,
  type NftCommand, type NftOutput, type NftScript,
} from '../src/index.js';
import { createTestNetns, nftCliIn, nftErrorOf } from './helpers.js';
import { schemaScript, schemaTable } from './schema-fixture.js';

const table = 'berth-test';
const family = 'inet';

t.test('creates a table, a base chain, a set and a map, and lists them back', async (t) => {
  const netns = createTestNetns(t);
  const nft = new Nft({ netns: netns.path });
  t.teardown(() => nft.close());

  const created = nft.run({
    nftables: [
      { add: { table: { family, name: table } } },
      { add: { chain: { family, table, name: 'forward', type: 'filter', hook: 'forward', prio: 0, policy: 'drop' } } },
      { add: { chain: { family, table, name: 'policy' } } },
      { add: { set: { family, table, name: 'peers', type: ['ipv4_addr', 'inet_service'], flags: ['interval'] } } },
      { add: { map: { family, table, name: 'dispatch', type: 'ifname', map: 'verdict' } } },
    ],
  });
  t.same(created, { nftables: [] }, 'a run that lists nothing returns an empty result');

  const tables = nft.run({ list: { tables: null } });
  t.same(listed(tables, 'table').map((listedTable) => listedTable.name), [table]);
  t.match(tables.nftables[0], { metainfo: { json_schema_version: 1 } }, 'the first object is the metainfo');

  const forward = listed(nft.run({ list: { chain: { family, table, name: 'forward' } } }), 'chain')[0];
  t.match(forward, { name: 'forward', type: 'filter', hook: 'forward', prio: 0, policy: 'drop' });
  t.type(forward?.handle, 'number', 'listed objects carry their handle');

  const peers = listed(nft.run({ list: { set: { family, table, name: 'peers' } } }), 'set')[0];
  t.same(peers?.type, ['ipv4_addr', 'inet_service'], 'a concatenated type lists as an array');
  t.same(peers?.flags, ['interval']);
  const dispatch = listed(nft.run({ list: { map: { family, table, name: 'dispatch' } } }), 'map')[0];
  t.match(dispatch, { type: 'ifname', map: 'verdict' });

  t.match(nftCliIn(netns, ['list', 'table', family, table]), /chain forward \{[\s\S]*hook forward priority filter; policy drop;/,
    'the nft CLI in the netns sees the same ruleset');
});

t.test('native syntax strings and JSON text strings are both accepted', async (t) => {
  const netns = createTestNetns(t);
  const nft = new Nft({ netns: netns.path });
  t.teardown(() => nft.close());

  nft.run(`add table ${family} ${table}; add set ${family} ${table} s { type ipv4_addr; }`);
  nft.run(JSON.stringify({ nftables: [{ add: { element: { family, table, name: 's', elem: ['192.0.2.1'] } } }] }));
  const output = nft.run(`list set ${family} ${table} s`);
  t.same(listed(output, 'set')[0]?.elem, ['192.0.2.1']);

  const two = nft.run(`list set ${family} ${table} s; list tables`);
  t.equal(two.nftables.filter((object) => 'metainfo' in object).length, 1, 'several list commands merge into one result');
  t.equal(listed(two, 'set').length, 1);
  t.equal(listed(two, 'table').length, 1);
});

t.test('a JSON parse error is reported as invalid JSON, not as an nft syntax error', async (t) => {
  const netns = createTestNetns(t);
  const nft = new Nft({ netns: netns.path });
  t.teardown(() => nft.close());

  const broken = '{"nftables": [{"add": {"table": {"family": "inet", "name": "x"}}]}';
  const error = nftErrorOf(() => nft.run(broken));
  t.equal(error.code, NftErrorCode.InvalidJson);
  t.match(error.message, /invalid JSON/);
  t.notMatch(error.message, /syntax error/);

  const cyclic: Record<string, unknown> = { add: { table: { family, name: 'x' } } };
  cyclic['self'] = cyclic;
  t.equal(nftErrorOf(() => nft.run(cyclic as unknown as NftCommand)).code, NftErrorCode.InvalidJson,
    'an object that cannot be serialized');

  const semantic = nftErrorOf(() => nft.run('{"nftables": [{"frobnicate": {"table": {"family": "inet", "name": "x"}}}]}'));
  t.equal(semantic.code, NftErrorCode.Failed, 'valid JSON that libnftables rejects is its error');
  t.match(semantic.nftMessage, /Error: Parsing command array at index 0 failed/);

  t.equal(nftErrorOf(() => nft.run('add table inet bad\0name')).code, NftErrorCode.InvalidInput, 'a NUL byte');
  t.equal(nftErrorOf(() => nft.run(42 as unknown as string)).code, NftErrorCode.InvalidInput, 'a number');
});

t.test('errors carry libnftables text and a stable code', async (t) => {
  const netns = createTestNetns(t);
  const nft = new Nft({ netns: netns.path });
  t.teardown(() => nft.close());
  nft.run(`add table ${family} ${table}; add chain ${family} ${table} target; add chain ${family} ${table} source`);
  nft.run(`add rule ${family} ${table} source jump target`);

  const missing = nftErrorOf(() => nft.run({ delete: { table: { family, name: 'absent' } } }));
  t.equal(missing.code, NftErrorCode.NotFound);
  t.match(missing.message, /^Cannot run nft transaction \(delete table inet absent\): /, 'the message names the action');
  t.match(missing.nftMessage, /No such file or directory/);

  const exists = nftErrorOf(() => nft.run({ create: { table: { family, name: table } } }));
  t.equal(exists.code, NftErrorCode.Exists);
  t.match(exists.nftMessage, /File exists/);

  const busy = nftErrorOf(() => nft.run({ delete: { chain: { family, table, name: 'target' } } }));
  t.equal(busy.code, NftErrorCode.Busy, 'deleting a chain that is jumped to');
  t.match(busy.nftMessage, /Device or resource busy/);

  const syntax = nftErrorOf(() => nft.run(`add rule ${family} ${table} source tcp dport accept`));
  t.equal(syntax.code, NftErrorCode.Failed);
  t.match(syntax.message, /^Cannot run nft command "add rule inet berth-test source tcp dport accept": syntax error/);
  t.match(syntax.nftMessage, /\^/, 'nftMessage keeps libnftables location markers');
});

t.test('the schema subset Berth emits is accepted by libnftables 1.0.6 and lists back', async (t) => {
  const netns = createTestNetns(t);
  const nft = new Nft({ netns: netns.path });
  t.teardown(() => nft.close());

  nft.run(schemaScript());
  const ruleset: NftOutput = nft.run({ list: { ruleset: null } });
  const rules = listed(ruleset, 'rule');
  t.equal(rules.length, 13, 'every rule is in the kernel');
  t.ok(rules.every((rule) => typeof rule.handle === 'number'), 'every rule has a handle');
  t.same(rules.filter((rule) => rule.comment !== undefined).map((rule) => rule.comment),
    ['owner:conntrack', 'owner:lookup'], 'owner tags round-trip as comments');
  t.same(listed(ruleset, 'chain').map((chain) => chain.name).sort(),
    ['forward', 'postrouting', 'prerouting', 'raw', 'ssh']);
  const byPort = listed(ruleset, 'map')[0];
  t.same(byPort?.elem, [[22, { jump: { target: 'ssh' } }], [80, { accept: null }]], 'verdict map elements round-trip');
  const allowed = listed(ruleset, 'set').find((set) => set.name === 'allowed');
  t.same(allowed?.elem, [{ concat: [{ prefix: { addr: '10.1.0.0', len: 16 } }, { range: [8000, 8080] }] }],
    'concatenated interval elements round-trip');

  // Round trip: what was listed can be deleted and added again from its own listing.
  const forward = rules.filter((rule) => rule.chain === 'forward');
  const first = forward[0];
  if (first?.handle === undefined) throw new Error('listed rule without handle');
  nft.run({ delete: { rule: { family, table: schemaTable, chain: 'forward', handle: first.handle } } });
  nft.run({ insert: { rule: { family, table: schemaTable, chain: 'forward', expr: first.expr, comment: 'owner:conntrack' } } });
  const again = listed(nft.run({ list: { chain: { family, table: schemaTable, name: 'forward' } } }), 'rule');
  t.same(again.map((rule) => rule.expr), forward.map((rule) => rule.expr), 'a listed rule re-applies to the same rule');
});
