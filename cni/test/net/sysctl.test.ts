import t from 'tap';
import { readFileSync } from 'node:fs';
import { readSysctl, sysctlPath, withRtnl, writeSysctl } from '../../src/net/index.js';
import { runIn, testNetns } from './helpers.js';

t.test('read and write sysctls of a test netns without touching the root netns', async (t) => {
  const ns = testNetns(t, 'sys');
  const rootBefore = readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8'); // read-only look at the root netns
  t.equal(readSysctl(ns.path, 'net.ipv4.ip_forward'), '0', 'a new netns does not forward');
  writeSysctl(ns.path, 'net.ipv4.ip_forward', '1');
  t.equal(readSysctl(ns.path, 'net.ipv4.ip_forward'), '1');
  t.equal(runIn(ns, 'cat', ['/proc/sys/net/ipv4/ip_forward']).stdout.trim(), '1', 'seen from inside the netns');
  t.equal(readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8'), rootBefore, 'the root netns is unchanged');

  await withRtnl(ns.path, (rtnl) => rtnl.links.createBridge({ name: 'br.100' }));
  writeSysctl(ns.path, 'net/ipv6/conf/br.100/disable_ipv6', '1');
  t.equal(readSysctl(ns.path, 'net/ipv6/conf/br.100/disable_ipv6'), '1', 'a "/" key keeps dotted interface names whole');
  t.throws(() => readSysctl(ns.path, 'net.ipv4.conf.nope0.forwarding'), { name: 'NetlinkError', code: 'ENOENT' });
});

t.test('sysctl keys are checked before any file is opened', async (t) => {
  t.equal(sysctlPath('net.ipv4.ip_forward'), '/proc/sys/net/ipv4/ip_forward');
  t.equal(sysctlPath('net/ipv4/conf/eth0.100/rp_filter'), '/proc/sys/net/ipv4/conf/eth0.100/rp_filter');
  for (const key of ['', 'net', '../../etc/passwd', 'net/../../etc/shadow', 'net..ipv4', '/net/ipv4/ip_forward',
    'net/ipv4/', 'net.ipv4.ip forward', 'net/ipv4/\0', 'a'.repeat(100) + '.x']) {
    t.throws(() => sysctlPath(key), { code: 'EINVAL' }, JSON.stringify(key.slice(0, 30)));
  }
  const ns = testNetns(t, 'sysv');
  t.throws(() => writeSysctl(ns.path, 'net.ipv4.ip_forward', '1\n0'), { code: 'EINVAL' });
  t.throws(() => readSysctl('/run/netns/bt-net-missing', 'net.ipv4.ip_forward'), { code: 'ENOENT' });
});
