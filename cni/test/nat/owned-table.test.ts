import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Nft, NftError, NftErrorCode } from '@berth/nftables-napi';
import { CniError } from '../../src/errors.js';
import { parseCidr, parseIp } from '../../src/net/ip.js';
import {
  NatCode, NatSet, OwnedTable, natTableSpec, masqueradeElements, masqueradeSets, ownerTag, portMappingElements, portMappingSets,
} from '../../src/nat/index.js';
import { makeNetns, nftTableJson, sh, type Netns, type Teardown } from './topology.js';

function natTableIn(t: Teardown, ns: Netns): OwnedTable {
  const nft = new Nft({ netns: ns.path });
  const lockDir = mkdtempSync(join(tmpdir(), 'bt-nat-lock-'));
  t.teardown(() => { nft.close(); rmSync(lockDir, { recursive: true, force: true }); });
  return new OwnedTable(natTableSpec, { nft, lockPath: join(lockDir, 'nat.lock') });
}

const ownerA = ownerTag({ network: 'net1', containerId: 'ctr-a', ifName: 'eth0' });
const ownerB = ownerTag({ network: 'net1', containerId: 'ctr-b', ifName: 'eth0' });
const ownerOther = ownerTag({ network: 'net2', containerId: 'ctr-c', ifName: 'eth0' });

function portsOf(owner: string, address: string, hostPort = 8080, snat = true) {
  return portMappingElements({ owner, containerAddresses: [parseIp(address)], mappings: [{ hostPort, containerPort: 80, protocol: 'tcp' }], snat });
}

/** Owner tags of every element, as `nft -j` (not our own reader) shows them. */
function commentsIn(ns: Netns): string[] {
  const listing = nftTableJson(ns, 'inet', 'berth-nat');
  return JSON.stringify(listing ?? {}).match(/"comment":\s*"[^"]*"/g) ?? [];
}

t.test('first use creates the table; elements carry their owner; the last removal deletes the table', async (t) => {
  const ns = makeNetns(t, 'nat');
  const table = natTableIn(t, ns);
  t.equal(nftTableJson(ns, 'inet', 'berth-nat'), undefined, 'no table before');
  const masq = masqueradeElements(ownerA, [parseCidr('10.88.0.5/16')]);
  const change = await table.sync(ownerA, masqueradeSets, masq);
  t.equal(change.added.length, 2);
  t.match(sh(ns, 'nft list table inet berth-nat'), /10\.88\.0\.5 comment "net1\/ctr-a\/eth0"/);
  t.equal(commentsIn(ns).length, 2, 'both elements tagged');

  const again = await table.sync(ownerA, masqueradeSets, masq);
  t.same([again.added.length, again.removed.length], [0, 0], 'a repeated ADD changes nothing');

  const removed = await table.sync(ownerA, masqueradeSets, []);
  t.equal(removed.removed.length, 2);
  t.ok(removed.tableRemoved, 'the now empty table is gone');
  t.equal(nftTableJson(ns, 'inet', 'berth-nat'), undefined);
  const nothing = await table.sync(ownerA, masqueradeSets, []);
  t.same([nothing.removed.length, nothing.tableRemoved], [0, false], 'DEL of an absent owner succeeds and does nothing');
});

t.test('a table left without elements (a plugin killed after creating it) is removed by the next DEL', async (t) => {
  const ns = makeNetns(t, 'nat');
  const table = natTableIn(t, ns);
  const nft = new Nft({ netns: ns.path });
  t.teardown(() => nft.close());
  nft.run(natTableSpec.baseScript());
  t.same(table.list().elements, [], 'the table exists, empty');
  const removed = await table.sync(ownerA, masqueradeSets, []);
  t.ok(removed.tableRemoved, 'DEL of an owner with nothing there still removes the empty table');
  t.equal(nftTableJson(ns, 'inet', 'berth-nat'), undefined);
});

t.test('removal takes exactly one owner\'s elements of one side, whatever else is there', async (t) => {
  const ns = makeNetns(t, 'nat');
  const table = natTableIn(t, ns);
  await table.sync(ownerA, masqueradeSets, masqueradeElements(ownerA, [parseCidr('10.88.0.5/16'), parseCidr('fd00::5/64')]));
  await table.sync(ownerA, portMappingSets, portsOf(ownerA, '10.88.0.5'));
  await table.sync(ownerB, masqueradeSets, masqueradeElements(ownerB, [parseCidr('10.88.0.6/16')]));
  await table.sync(ownerB, portMappingSets, portsOf(ownerB, '10.88.0.6', 9090));
  const before = table.list().elements.length;

  const change = await table.sync(ownerA, portMappingSets, []);
  t.equal(change.removed.length, 3, 'A\'s port mapping, hairpin and localhost entries');
  t.ok(change.removed.every((element) => element.owner === ownerA));
  const left = table.list().elements;
  t.equal(left.length, before - 3);
  t.equal(left.filter((element) => element.owner === ownerA).length, 4, 'A\'s masquerade stays (the bridge side owns it)');
  t.equal(left.filter((element) => element.owner === ownerB).length, 5, 'B is untouched');
});

t.test('a host port held by another container is refused and nothing changes', async (t) => {
  const ns = makeNetns(t, 'nat');
  const table = natTableIn(t, ns);
  await table.sync(ownerA, portMappingSets, portsOf(ownerA, '10.88.0.5'));
  const before = sh(ns, 'nft list table inet berth-nat');
  let error: unknown;
  try {
    await table.sync(ownerB, portMappingSets, portsOf(ownerB, '10.88.0.6'));
  } catch (caught) {
    error = caught;
  }
  t.ok(error instanceof CniError && error.code === NatCode.PortInUse, 'PortInUse');
  t.match(String(error), /net1\/ctr-a\/eth0 holds it/, 'the message names the holder');
  t.equal(sh(ns, 'nft list table inet berth-nat'), before, 'the table is exactly as before');
});

t.test('an element left by an earlier holder of the same address is taken over, not duplicated', async (t) => {
  const ns = makeNetns(t, 'nat');
  const table = natTableIn(t, ns);
  await table.sync(ownerA, masqueradeSets, masqueradeElements(ownerA, [parseCidr('10.88.0.5/16')]));
  const change = await table.sync(ownerB, masqueradeSets, masqueradeElements(ownerB, [parseCidr('10.88.0.5/16')]));
  t.equal(change.takenOver.length, 2);
  t.same(table.list().elements.map((element) => element.owner), [ownerB, ownerB]);
  await table.sync(ownerA, masqueradeSets, []);
  t.equal(table.list().elements.length, 2, 'the earlier holder\'s DEL no longer touches them');
});

t.test('GC removes orphans of its network only; CHECK reports what is missing', async (t) => {
  const ns = makeNetns(t, 'nat');
  const table = natTableIn(t, ns);
  const a = masqueradeElements(ownerA, [parseCidr('10.88.0.5/16')]);
  await table.sync(ownerA, masqueradeSets, a);
  await table.sync(ownerB, masqueradeSets, masqueradeElements(ownerB, [parseCidr('10.88.0.6/16')]));
  await table.sync(ownerOther, masqueradeSets, masqueradeElements(ownerOther, [parseCidr('10.99.0.6/16')]));
  t.same(table.missing(a), [], 'CHECK of a complete attachment');
  const change = await table.collect('net1', new Set([ownerA]));
  t.same(change.removed.map((element) => element.owner), [ownerB, ownerB]);
  t.same([...new Set(table.list().elements.map((element) => element.owner))].sort(), [ownerA, ownerOther].sort());
  sh(ns, 'nft delete element inet berth-nat masq-v4 { 10.88.0.5 }');
  t.same(table.missing(a).map((element) => element.set), [NatSet.masqueradeV4], 'CHECK names the element removed behind Berth\'s back');
});

t.test('concurrent changes from many callers all land (the lock serializes list-then-change)', async (t) => {
  const ns = makeNetns(t, 'nat');
  const table = natTableIn(t, ns);
  const owners = Array.from({ length: 16 }, (_, index) => ownerTag({ network: 'net1', containerId: `ctr-${index}`, ifName: 'eth0' }));
  await Promise.all(owners.map((owner, index) => table.sync(owner, portMappingSets, portsOf(owner, `10.88.1.${index + 1}`, 8000 + index))));
  t.equal(table.list().elements.length, 16 * 3);
  await Promise.all(owners.map((owner) => table.sync(owner, portMappingSets, [])));
  t.equal(nftTableJson(ns, 'inet', 'berth-nat'), undefined, 'all gone, table removed');
});

t.test('a table damaged by hand is reported, not silently patched', async (t) => {
  const ns = makeNetns(t, 'nat');
  const table = natTableIn(t, ns);
  await table.sync(ownerA, masqueradeSets, masqueradeElements(ownerA, [parseCidr('10.88.0.5/16')]));
  sh(ns, 'nft flush chain inet berth-nat portmap && nft delete map inet berth-nat ports-v4');
  await t.rejects(table.sync(ownerB, portMappingSets, portsOf(ownerB, '10.88.0.6')), { code: NatCode.RulesetDamaged });
});

t.test('a transaction reported failed after the kernel committed it (EINTR) is re-planned, not repeated', async (t) => {
  const ns = makeNetns(t, 'nat');
  const nft = new Nft({ netns: ns.path });
  const lockDir = mkdtempSync(join(tmpdir(), 'bt-nat-lock-'));
  t.teardown(() => { nft.close(); rmSync(lockDir, { recursive: true, force: true }); });
  let interrupted = 0;
  // The real context, except that the first two element transactions report what an interrupted recvmsg reports.
  const flaky = {
    run: (input: Parameters<Nft['run']>[0]) => {
      const output = nft.run(input);
      const isTransaction = typeof input === 'object' && 'nftables' in input;
      if (isTransaction && interrupted < 2) {
        interrupted += 1;
        throw new NftError(NftErrorCode.Failed, 'Cannot run nft transaction: Could not process rule: Interrupted system call');
      }
      return output;
    },
  };
  const table = new OwnedTable(natTableSpec, { nft: flaky, lockPath: join(lockDir, 'nat.lock') });
  const change = await table.sync(ownerA, masqueradeSets, masqueradeElements(ownerA, [parseCidr('10.88.0.5/16')]));
  t.equal(interrupted, 1, 'the add was interrupted once');
  t.equal(change.added.length, 0, 'the retry found everything in place and changed nothing');
  t.equal(table.list().elements.length, 2);
  const removal = await table.sync(ownerA, masqueradeSets, []);
  t.equal(interrupted, 2);
  t.same([removal.removed.length, nftTableJson(ns, 'inet', 'berth-nat')], [0, undefined], 'removal likewise; the table is gone');
});

t.test('a listing torn by the kernel growing a set (one element twice, another missing) is taken again, so DEL removes every element', async (t) => {
  const ns = makeNetns(t, 'nat');
  const nft = new Nft({ netns: ns.path });
  const lockDir = mkdtempSync(join(tmpdir(), 'bt-nat-lock-'));
  t.teardown(() => { nft.close(); rmSync(lockDir, { recursive: true, force: true }); });
  const real = new OwnedTable(natTableSpec, { nft, lockPath: join(lockDir, 'nat.lock') });
  await real.sync(ownerA, masqueradeSets, masqueradeElements(ownerA, [parseCidr('10.88.0.5/16'), parseCidr('10.89.0.5/16')]));
  let torn = 0;
  // The real context, except that the first table listing comes back as a dump racing a rehash does: the first
  // element of a set repeated in place of the second.
  const tearing = {
    run: (input: Parameters<Nft['run']>[0]) => {
      const output = nft.run(input);
      const isListing = typeof input === 'object' && 'list' in input;
      if (!isListing || torn > 0) return output;
      torn += 1;
      return {
        nftables: output.nftables.map((object) => {
          if (!('set' in object) || (object.set.elem?.length ?? 0) < 2) return object;
          const [first, , ...rest] = object.set.elem ?? [];
          return { set: { ...object.set, elem: [first, first, ...rest] } };
        }),
      } as typeof output;
    },
  };
  const table = new OwnedTable(natTableSpec, { nft: tearing, lockPath: join(lockDir, 'nat.lock') });
  const listing = table.list();
  t.equal(torn, 1, 'the first listing was torn');
  t.same(listing.elements.map((element) => JSON.stringify(element)).sort(), real.list().elements.map((element) => JSON.stringify(element)).sort(), 'the listing used is the whole one');
  const removal = await table.sync(ownerA, masqueradeSets, []);
  t.ok(removal.removed.length >= 2, `DEL removed every element (${removal.removed.length})`);
  t.equal(nftTableJson(ns, 'inet', 'berth-nat'), undefined, 'nothing left: the table is gone');
});
