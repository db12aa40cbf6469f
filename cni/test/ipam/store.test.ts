import t from 'tap';
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ReservationStore, parseReservation } from '../../src/ipam/store.js';
import { tryParseIp, type IpAddress } from '../../src/net/ip.js';
import { tempDataDir } from './helpers.js';

const ip = (text: string): IpAddress => tryParseIp(text) as IpAddress;

t.test('reserve writes host-local\'s layout: <ip> holding "id\\r\\nifname" (0600) and last_reserved_ip.<set>', async (t) => {
  const dataDir = tempDataDir(t);
  const store = new ReservationStore(dataDir, 'net1');
  store.ensureDir();
  store.reserve(ip('10.0.0.5'), { containerId: 'c1', ifName: 'eth0' }, 0);
  store.reserve(ip('fd00::5'), { containerId: 'c1', ifName: 'eth0' }, 1);
  store.sync();
  const dir = join(dataDir, 'net1');
  t.equal(readFileSync(join(dir, '10.0.0.5'), 'utf8'), 'c1\r\neth0');
  t.equal(statSync(join(dir, '10.0.0.5')).mode & 0o777, 0o600);
  t.equal(readFileSync(join(dir, 'last_reserved_ip.0'), 'utf8'), '10.0.0.5');
  t.equal(readFileSync(join(dir, 'last_reserved_ip.1'), 'utf8'), 'fd00::5');
  t.same(readdirSync(dir).sort(), ['10.0.0.5', 'fd00::5', 'last_reserved_ip.0', 'last_reserved_ip.1'], 'no temp files remain');
  const snapshot = store.read();
  t.same([...snapshot.reservations], [['10.0.0.5', { containerId: 'c1', ifName: 'eth0' }], ['fd00::5', { containerId: 'c1', ifName: 'eth0' }]]);
  t.same([...snapshot.lastReserved.keys()].sort(), [0, 1]);
  store.release('10.0.0.5');
  store.release('10.0.0.5');
  t.notOk(store.read().reservations.has('10.0.0.5'), 'released, and releasing again is fine');
  t.throws(() => store.release('../lock'), TypeError, 'release refuses anything but a canonical address');
});

t.test('read: a missing directory is empty; junk, old formats and temp files are sorted out', async (t) => {
  const dataDir = tempDataDir(t);
  const store = new ReservationStore(dataDir, 'net1');
  t.same(store.read(), { reservations: new Map(), lastReserved: new Map(), staleTempFiles: [] });
  t.notOk(store.exists());
  store.ensureDir();
  const dir = join(dataDir, 'net1');
  writeFileSync(join(dir, 'lock'), '');
  writeFileSync(join(dir, '10.0.0.7'), 'legacy-id');
  writeFileSync(join(dir, '10.0.0.8'), 'c2\neth1\n');
  writeFileSync(join(dir, '10.0.0.9'), '');
  writeFileSync(join(dir, '10.0.0.10'), 'x'.repeat(10_000));
  writeFileSync(join(dir, 'last_reserved_ip.0'), 'garbage');
  writeFileSync(join(dir, 'last_reserved_ip.x'), '10.0.0.1');
  writeFileSync(join(dir, 'notes.txt'), 'hello');
  writeFileSync(join(dir, '.tmp-10.0.0.11-123-abcd'), 'c3\r\neth0');
  mkdirSync(join(dir, '10.0.0.12'));
  const snapshot = store.read();
  t.same([...snapshot.reservations].sort(), [['10.0.0.7', { containerId: 'legacy-id' }], ['10.0.0.8', { containerId: 'c2', ifName: 'eth1' }]]);
  t.same(snapshot.lastReserved.size, 0);
  t.same(snapshot.staleTempFiles, ['.tmp-10.0.0.11-123-abcd']);
  store.removeStaleTemps(snapshot.staleTempFiles);
  t.notOk(readdirSync(dir).some((name) => name.startsWith('.tmp-')), 'the stale temp file is gone');
});

t.test('parseReservation accepts both line endings and the id-only form', async (t) => {
  t.same(parseReservation('abc\r\neth0'), { containerId: 'abc', ifName: 'eth0' });
  t.same(parseReservation('abc\neth0'), { containerId: 'abc', ifName: 'eth0' });
  t.same(parseReservation(' abc \n'), { containerId: 'abc' });
  t.equal(parseReservation(''), undefined);
});
