import t from 'tap';
import { endianness } from 'node:os';
import { attr, decodeIfInfoMsg, encodeIfInfoMsg, nested, parseAttrList, parseAttrs, readCString, u16, u32 } from '../../src/net/codec.js';
import { encodeVlanAfSpec } from '../../src/net/bridge.js';
import { decodeLink, encodeLinkInfo, encodeVxlanData } from '../../src/net/link-model.js';
import { formatMac, parseMac, parseIp } from '../../src/net/index.js';

// The kernel ABI is host-endian; these byte-level expectations are written for little-endian hosts (x86-64, arm64).
const le = endianness() === 'LE';

t.test('attributes are length-prefixed and padded to 4 bytes; NLA_F_NESTED only on request', { skip: !le && 'big-endian host' }, async (t) => {
  t.same([...attr(3, Buffer.from('ab\0'))], [7, 0, 3, 0, 0x61, 0x62, 0, 0]);
  t.same([...nested(12, [attr(4, Buffer.from([1]))], true)], [12, 0, 12, 0x80, 5, 0, 4, 0, 1, 0, 0, 0]);
  t.same([...nested(18, [])], [4, 0, 18, 0]);
});

t.test('bridge VLAN AF_SPEC matches the kernel layout (struct bridge_vlan_info { u16 flags; u16 vid; })', { skip: !le && 'big-endian host' }, async (t) => {
  // IFLA_AF_SPEC(26) { IFLA_BRIDGE_VLAN_INFO(2) { flags PVID|UNTAGGED = 6, vid 10 } }
  t.same([...encodeVlanAfSpec({ vid: 10, pvid: true, untagged: true })], [12, 0, 26, 0, 8, 0, 2, 0, 6, 0, 10, 0]);
  // with self: IFLA_BRIDGE_FLAGS(0) = BRIDGE_FLAGS_SELF(2) first
  t.same([...encodeVlanAfSpec({ vid: 4094, self: true })], [20, 0, 26, 0, 6, 0, 0, 0, 2, 0, 0, 0, 8, 0, 2, 0, 0, 0, 0xfe, 0x0f]);
  t.throws(() => encodeVlanAfSpec({ vid: 0 }), { code: 'EINVAL' });
  t.throws(() => encodeVlanAfSpec({ vid: 4095 }), { code: 'EINVAL' });
});

t.test('parsers survive truncated and hostile input', async (t) => {
  const good = Buffer.concat([attr(1, u32(7)), attr(3, Buffer.from('eth0\0'))]);
  t.same(parseAttrList(good).map((a) => a.type), [1, 3]);
  t.same(parseAttrList(good.subarray(0, good.length - 6)).map((a) => a.type), [1], 'a cut attribute is dropped');
  t.same(parseAttrList(Buffer.from([0, 0, 1, 0, 9, 9, 9, 9])), [], 'a zero length stops the walk');
  t.same(parseAttrList(Buffer.from([0xff, 0xff, 1, 0])), [], 'a length past the end stops the walk');
  t.equal(parseAttrs(Buffer.alloc(0)).size, 0);
  t.equal(readCString(Buffer.from('abc')), 'abc', 'an unterminated string is read to the end');
  t.throws(() => decodeIfInfoMsg(Buffer.alloc(15)), RangeError);
  const link = decodeLink(Buffer.concat([encodeIfInfoMsg({ index: 4, flags: 1 }), attr(3, Buffer.from('x0\0')), attr(18, Buffer.from([1, 2]))]));
  t.equal(link.name, 'x0');
  t.equal(link.kind, undefined, 'a malformed IFLA_LINKINFO yields no kind');
  t.ok(link.up);
});

t.test('link info codecs round-trip through decodeLink', async (t) => {
  const info = encodeLinkInfo('vxlan', encodeVxlanData({ vni: 0xabcdef, local: parseIp('fd00::1'), port: 8472, learning: false, underlayIndex: 3, ttl: 64 }));
  const link = decodeLink(Buffer.concat([encodeIfInfoMsg({ index: 9 }), attr(3, Buffer.from('vx0\0')), attr(1, parseMac('02:00:00:00:00:09')), info]));
  t.equal(link.kind, 'vxlan');
  t.same({ ...link.vxlan, local: undefined }, { vni: 0xabcdef, local: undefined, group: undefined, port: 8472, learning: false, underlayIndex: 3, ttl: 64 });
  t.equal(link.vxlan?.local?.value, 0xfd00n << 112n | 1n);
  t.equal(link.mac, '02:00:00:00:00:09');
  t.same(u16(0x1234).length, 2);
});

t.test('MAC addresses: strict parse, lower-case format', async (t) => {
  t.equal(formatMac(parseMac('AA:bb:0C:dd:ee:FF')), 'aa:bb:0c:dd:ee:ff');
  for (const bad of ['', 'aa:bb:cc:dd:ee', 'aa:bb:cc:dd:ee:ff:00', 'aa-bb-cc-dd-ee-ff', 'aabb.ccdd.eeff', 'gg:bb:cc:dd:ee:ff',
    ' aa:bb:cc:dd:ee:ff', 'aa:bb:cc:dd:ee:f', 'aa:bb:cc:dd:ee:fff']) {
    t.throws(() => parseMac(bad), { name: 'MacParseError', code: 'INVALID_MAC' }, JSON.stringify(bad));
  }
});
