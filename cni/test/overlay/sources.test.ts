import t from 'tap';
import { parseCidr, parseIp } from '../../src/net/ip.js';
import { MemoryPeerSource, watchersMax } from '../../src/overlay/memory-source.js';
import type { OverlayPeer } from '../../src/overlay/peer.js';
import { StaticPeerSource } from '../../src/overlay/static-source.js';

const peerA: OverlayPeer = { address: parseIp('192.168.1.1'), subnet: parseCidr('10.244.1.0/24') };
const peerB: OverlayPeer = { address: parseIp('192.168.1.2'), subnet: parseCidr('10.244.2.0/24') };

t.test('static source: lists the conflist\'s peers, never calls a watcher', async (t) => {
  const input = [peerA];
  const source = new StaticPeerSource(input);
  input.push(peerB);
  t.same(await source.list(), [peerA], 'a copy: later changes to the input do not leak in');
  let calls = 0;
  const stop = source.watch(() => { calls += 1; });
  stop();
  t.equal(calls, 0);
});

t.test('memory source: set notifies every watcher with the whole list; stop removes one', async (t) => {
  const source = new MemoryPeerSource([peerA]);
  const seen: string[][] = [];
  const stopFirst = source.watch((peers) => seen.push(peers.map((peer) => `1:${peer.subnet.prefixLength}`)));
  source.watch((peers) => seen.push(peers.map((peer) => `2:${peer.address.value}`)));
  source.set([peerA, peerB]);
  t.same(await source.list(), [peerA, peerB]);
  t.equal(seen.length, 2, 'both watchers called');
  stopFirst();
  source.set([peerB]);
  t.equal(seen.length, 3, 'only the remaining watcher');
});

t.test('memory source: a throwing watcher does not stop the others, and the error is reported', async (t) => {
  const source = new MemoryPeerSource();
  let called = false;
  source.watch(() => { throw new Error('boom'); });
  source.watch(() => { called = true; });
  t.throws(() => source.set([peerA]), AggregateError);
  t.ok(called, 'the second watcher still ran');
  t.same(await source.list(), [peerA], 'and the list changed');
});

t.test('memory source: the number of watchers is bounded', async (t) => {
  const source = new MemoryPeerSource();
  for (let index = 0; index < watchersMax; index += 1) source.watch(() => undefined);
  t.throws(() => source.watch(() => undefined), RangeError);
});
