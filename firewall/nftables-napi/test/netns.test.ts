import t from 'tap';
import { execFileSync } from 'node:child_process';
import { readdirSync, readlinkSync } from 'node:fs';
import { Nft, NftErrorCode, listed } from '../src/index.js';
import { createTestNetns, nftCliIn, nftErrorOf, rootTables, uniqueName, type TestNetns } from './helpers.js';

const family = 'inet';
const NETLINK_NETFILTER = 12;
const threadNetns = (): string => readlinkSync('/proc/thread-self/ns/net');

/** Inodes of this process's open sockets. */
function ownSocketInodes(): Set<string> {
  const inodes = new Set<string>();
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`));
      if (match?.[1] !== undefined) inodes.add(match[1]);
    } catch {
      // the fd closed while listing (the directory's own fd, for one)
    }
  }
  return inodes;
}

/** Inodes of this process's NETLINK_NETFILTER sockets that live in `netns` (`/proc/net/netlink` is per netns). */
function ownNetfilterSockets(netns: TestNetns | 'root'): string[] {
  const table = netns === 'root'
    ? execFileSync('cat', ['/proc/net/netlink'], { encoding: 'utf8' })
    : execFileSync('nsenter', [`--net=${netns.path}`, 'cat', '/proc/net/netlink'], { encoding: 'utf8' });
  const own = ownSocketInodes();
  return table.trim().split('\n').slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((columns) => Number(columns[1]) === NETLINK_NETFILTER && own.has(columns.at(-1) ?? ''))
    .map((columns) => columns.at(-1) ?? '');
}

t.test('a netns-bound context writes into its netns and not into the root netns', async (t) => {
  const netns = createTestNetns(t);
  const name = uniqueName('berth-only-here');
  const threadBefore = threadNetns();
  const nft = new Nft({ netns: netns.path });
  t.teardown(() => nft.close());

  nft.run({ add: { table: { family, name } } });
  t.equal(threadNetns(), threadBefore, 'the calling thread is back in its own netns');
  t.match(nftCliIn(netns, ['list', 'tables']), name, 'nft in the test netns shows the table');
  t.notMatch(rootTables(), name, 'nft in the root netns does not');
  t.same(listed(nft.run({ list: { tables: null } }), 'table').map((table) => table.name), [name],
    'the context lists only its own netns');
});

t.test('contexts in two namespaces can be used alternately without crossing', async (t) => {
  const left = createTestNetns(t);
  const right = createTestNetns(t);
  const nftLeft = new Nft({ netns: left.path });
  const nftRight = new Nft({ netns: right.path });
  t.teardown(() => { nftLeft.close(); nftRight.close(); });
  for (let round = 0; round < 3; round += 1) {
    nftLeft.run(`add table ${family} left-${round}`);
    nftRight.run(`add table ${family} right-${round}`);
  }
  t.same(listed(nftLeft.run('list tables'), 'table').map((table) => table.name), ['left-0', 'left-1', 'left-2']);
  t.same(listed(nftRight.run('list tables'), 'table').map((table) => table.name), ['right-0', 'right-1', 'right-2']);
});

// The design rests on how nftables 1.0.6 uses sockets; these two tests pin that behaviour down.
t.test('libnftables opens its netfilter socket once, at context creation, in the bound netns', async (t) => {
  const netns = createTestNetns(t);
  const before = ownSocketInodes();
  const nft = new Nft({ netns: netns.path });
  t.teardown(() => nft.close());
  const created = [...ownSocketInodes()].filter((inode) => !before.has(inode));
  t.equal(created.length, 1, 'creating the context opened one socket');

  // A netlink socket shows in its netns' /proc/net/netlink once bound, which happens at its first send; a
  // socket's netns is fixed when it is created. So: the socket nft_ctx_new() opened is the netfilter socket
  // every run uses, and it was created in the target netns.
  nft.run(`add table ${family} t; list tables`);
  t.same(ownNetfilterSockets(netns), created, 'the socket opened at creation is the netfilter socket, in the target netns');
  t.notOk(ownNetfilterSockets('root').some((inode) => created.includes(inode)), 'it is not in the root netns');
  nft.run(`delete table ${family} t`);
  t.same(ownNetfilterSockets(netns), created, 'later runs reuse it; none is reopened');
  t.same([...ownSocketInodes()].filter((inode) => !before.has(inode)), created, 'runs leave no other socket open');

  nft.close();
  t.notOk(ownSocketInodes().has(created[0] ?? ''), 'close releases it');
});

t.test('interface names resolve in the bound netns on every run', async (t) => {
  // libnftables resolves `meta iif NAME` through a NETLINK_ROUTE socket it opens during the run, in whatever
  // netns the thread is in then; this link exists only in the test netns, so the run must happen there.
  const netns = createTestNetns(t);
  const link = uniqueName('btv').slice(0, 15);
  execFileSync('ip', ['-n', netns.name, 'link', 'add', link, 'type', 'veth', 'peer', 'name', `${link.slice(0, 12)}-p`]);
  const nft = new Nft({ netns: netns.path });
  t.teardown(() => nft.close());

  nft.run(`add table ${family} t; add chain ${family} t c; add rule ${family} t c meta iif "${link}" accept`);
  t.match(nftCliIn(netns, ['list', 'chain', family, 't', 'c']), `iif "${link}" accept`);
  const missing = nftErrorOf(() => nft.run(`add rule ${family} t c meta iif "${uniqueName('btx').slice(0, 15)}" accept`));
  t.match(missing.nftMessage, /Interface does not exist/, 'a name that exists nowhere is still an error');
});

t.test('a closed context gives a clear error; close is idempotent', async (t) => {
  const netns = createTestNetns(t);
  const nft = new Nft({ netns: netns.path });
  nft.run(`add table ${family} t`);
  nft.close();
  t.ok(nft.closed);
  t.doesNotThrow(() => nft.close(), 'closing twice is fine');
  const error = nftErrorOf(() => nft.run({ list: { tables: null } }));
  t.equal(error.code, NftErrorCode.Closed);
  t.equal(error.message, 'Cannot run nft transaction (list tables): the nft context is closed');
  t.match(nftCliIn(netns, ['list', 'tables']), 'table inet t', 'what ran before close stays');
});

t.test('a netns path that does not exist, is not a netns, or is relative gives a clear error', async (t) => {
  const absent = `/run/netns/${uniqueName('bt-nft-absent')}`;
  const notFound = nftErrorOf(() => new Nft({ netns: absent }));
  t.equal(notFound.code, NftErrorCode.Netns);
  t.equal(notFound.message, `Cannot open an nft context in network namespace ${absent}: no such namespace file (open: errno 2)`);

  const notNetns = nftErrorOf(() => new Nft({ netns: '/proc/self/ns/uts' }));
  t.equal(notNetns.code, NftErrorCode.Netns);
  t.match(notNetns.message, /network namespace \/proc\/self\/ns\/uts: not a network namespace/);

  const relative = nftErrorOf(() => new Nft({ netns: 'bt-nft-x' }));
  t.equal(relative.code, NftErrorCode.Netns);
  t.match(relative.message, /expected an absolute path/);
  t.equal(threadNetns(), readlinkSync('/proc/self/ns/net'), 'failed constructions leave the thread where it was');
});

t.test('without netns the context works in the current netns (read-only check in the root netns)', async (t) => {
  const nft = new Nft();
  t.teardown(() => nft.close());
  const output = nft.run({ list: { tables: null } });
  t.match(output.nftables[0], { metainfo: { version: '1.0.6' } });
  t.same(listed(output, 'table').map((table) => table.name).sort(),
    [...rootTables().matchAll(/^table \S+ (\S+)$/gm)].map((found) => found[1]).sort(), 'the same tables the nft CLI lists');
});
