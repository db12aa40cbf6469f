/**
 * Netlink attribute (TLV) and rtnetlink header codecs. Pure. Numbers are in host byte order as the kernel expects,
 * except where a field is documented big-endian (ports, VNIs in some places).
 */
import { endianness } from 'node:os';
import { NLA_F_NESTED, NLA_TYPE_MASK } from './constants.js';

const LE = endianness() === 'LE';
const ALIGN = 4;
const align = (length: number): number => (length + ALIGN - 1) & ~(ALIGN - 1);

/** One encoded attribute, padded to 4 bytes. */
export function attr(type: number, payload: Uint8Array): Buffer {
  const length = 4 + payload.length;
  const out = Buffer.alloc(align(length));
  LE ? out.writeUInt16LE(length, 0) : out.writeUInt16BE(length, 0);
  LE ? out.writeUInt16LE(type, 2) : out.writeUInt16BE(type, 2);
  out.set(payload, 4);
  return out;
}

/** A nested attribute. `flagNested` sets NLA_F_NESTED, which a few handlers (bridge IFLA_PROTINFO) require. */
export function nested(type: number, children: readonly Uint8Array[], flagNested = false): Buffer {
  return attr(flagNested ? type | NLA_F_NESTED : type, Buffer.concat(children));
}

export function u8(value: number): Buffer {
  return Buffer.from([value & 0xff]);
}

export function u16(value: number): Buffer {
  const out = Buffer.alloc(2);
  LE ? out.writeUInt16LE(value, 0) : out.writeUInt16BE(value, 0);
  return out;
}

export function u16be(value: number): Buffer {
  const out = Buffer.alloc(2);
  out.writeUInt16BE(value, 0);
  return out;
}

export function u32(value: number): Buffer {
  const out = Buffer.alloc(4);
  LE ? out.writeUInt32LE(value >>> 0, 0) : out.writeUInt32BE(value >>> 0, 0);
  return out;
}

/** A NUL-terminated string. */
export function cstring(value: string): Buffer {
  return Buffer.concat([Buffer.from(value, 'utf8'), Buffer.from([0])]);
}

export interface RawAttr { readonly type: number; readonly data: Buffer }

/** All attributes in order (types masked: NLA_F_NESTED / byte-order bits dropped). Stops at a malformed tail. */
export function parseAttrList(buffer: Buffer): RawAttr[] {
  const out: RawAttr[] = [];
  let offset = 0;
  while (offset + 4 <= buffer.length) {
    const length = LE ? buffer.readUInt16LE(offset) : buffer.readUInt16BE(offset);
    const type = (LE ? buffer.readUInt16LE(offset + 2) : buffer.readUInt16BE(offset + 2)) & NLA_TYPE_MASK;
    if (length < 4 || offset + length > buffer.length) break;
    out.push({ type, data: buffer.subarray(offset + 4, offset + length) });
    offset += align(length);
  }
  return out;
}

/** Attributes by type (the last occurrence wins). */
export function parseAttrs(buffer: Buffer): Map<number, Buffer> {
  return new Map(parseAttrList(buffer).map((a) => [a.type, a.data]));
}

export function readU8(data: Buffer | undefined): number | undefined {
  return data === undefined || data.length < 1 ? undefined : data.readUInt8(0);
}

export function readU16(data: Buffer | undefined): number | undefined {
  if (data === undefined || data.length < 2) return undefined;
  return LE ? data.readUInt16LE(0) : data.readUInt16BE(0);
}

export function readU16be(data: Buffer | undefined): number | undefined {
  return data === undefined || data.length < 2 ? undefined : data.readUInt16BE(0);
}

export function readU32(data: Buffer | undefined): number | undefined {
  if (data === undefined || data.length < 4) return undefined;
  return LE ? data.readUInt32LE(0) : data.readUInt32BE(0);
}

export function readS32(data: Buffer | undefined): number | undefined {
  if (data === undefined || data.length < 4) return undefined;
  return LE ? data.readInt32LE(0) : data.readInt32BE(0);
}

export function readCString(data: Buffer | undefined): string | undefined {
  if (data === undefined) return undefined;
  const end = data.indexOf(0);
  return data.subarray(0, end < 0 ? data.length : end).toString('utf8');
}

/** struct ifinfomsg (16 bytes). */
export interface IfInfoMsg { family: number; type: number; index: number; flags: number; change: number }

export function encodeIfInfoMsg(msg: Partial<IfInfoMsg>): Buffer {
  const out = Buffer.alloc(16);
  out.writeUInt8(msg.family ?? 0, 0);
  LE ? out.writeUInt16LE(msg.type ?? 0, 2) : out.writeUInt16BE(msg.type ?? 0, 2);
  LE ? out.writeInt32LE(msg.index ?? 0, 4) : out.writeInt32BE(msg.index ?? 0, 4);
  LE ? out.writeUInt32LE((msg.flags ?? 0) >>> 0, 8) : out.writeUInt32BE((msg.flags ?? 0) >>> 0, 8);
  LE ? out.writeUInt32LE((msg.change ?? 0) >>> 0, 12) : out.writeUInt32BE((msg.change ?? 0) >>> 0, 12);
  return out;
}

export function decodeIfInfoMsg(data: Buffer): { header: IfInfoMsg; attrs: Buffer } {
  if (data.length < 16) throw new RangeError(`ifinfomsg too short: ${data.length} bytes`);
  const header = {
    family: data.readUInt8(0),
    type: LE ? data.readUInt16LE(2) : data.readUInt16BE(2),
    index: LE ? data.readInt32LE(4) : data.readInt32BE(4),
    flags: LE ? data.readUInt32LE(8) : data.readUInt32BE(8),
    change: LE ? data.readUInt32LE(12) : data.readUInt32BE(12),
  };
  return { header, attrs: data.subarray(16) };
}

/** struct ifaddrmsg (8 bytes). */
export interface IfAddrMsg { family: number; prefixLength: number; flags: number; scope: number; index: number }

export function encodeIfAddrMsg(msg: IfAddrMsg): Buffer {
  const out = Buffer.alloc(8);
  out.writeUInt8(msg.family, 0);
  out.writeUInt8(msg.prefixLength, 1);
  out.writeUInt8(msg.flags & 0xff, 2);
  out.writeUInt8(msg.scope, 3);
  LE ? out.writeUInt32LE(msg.index, 4) : out.writeUInt32BE(msg.index, 4);
  return out;
}

export function decodeIfAddrMsg(data: Buffer): { header: IfAddrMsg; attrs: Buffer } {
  if (data.length < 8) throw new RangeError(`ifaddrmsg too short: ${data.length} bytes`);
  const header = {
    family: data.readUInt8(0), prefixLength: data.readUInt8(1), flags: data.readUInt8(2), scope: data.readUInt8(3),
    index: LE ? data.readUInt32LE(4) : data.readUInt32BE(4),
  };
  return { header, attrs: data.subarray(8) };
}

/** struct rtmsg (12 bytes). */
export interface RtMsg {
  family: number; dstLength: number; srcLength: number; tos: number; table: number; protocol: number; scope: number;
  type: number; flags: number;
}

export function encodeRtMsg(msg: RtMsg): Buffer {
  const out = Buffer.alloc(12);
  [msg.family, msg.dstLength, msg.srcLength, msg.tos, msg.table, msg.protocol, msg.scope, msg.type]
    .forEach((value, offset) => out.writeUInt8(value, offset));
  LE ? out.writeUInt32LE(msg.flags >>> 0, 8) : out.writeUInt32BE(msg.flags >>> 0, 8);
  return out;
}

export function decodeRtMsg(data: Buffer): { header: RtMsg; attrs: Buffer } {
  if (data.length < 12) throw new RangeError(`rtmsg too short: ${data.length} bytes`);
  const header = {
    family: data.readUInt8(0), dstLength: data.readUInt8(1), srcLength: data.readUInt8(2), tos: data.readUInt8(3),
    table: data.readUInt8(4), protocol: data.readUInt8(5), scope: data.readUInt8(6), type: data.readUInt8(7),
    flags: LE ? data.readUInt32LE(8) : data.readUInt32BE(8),
  };
  return { header, attrs: data.subarray(12) };
}

/** struct ndmsg (12 bytes). */
export interface NdMsg { family: number; index: number; state: number; flags: number; type: number }

export function encodeNdMsg(msg: NdMsg): Buffer {
  const out = Buffer.alloc(12);
  out.writeUInt8(msg.family, 0);
  LE ? out.writeInt32LE(msg.index, 4) : out.writeInt32BE(msg.index, 4);
  LE ? out.writeUInt16LE(msg.state, 8) : out.writeUInt16BE(msg.state, 8);
  out.writeUInt8(msg.flags, 10);
  out.writeUInt8(msg.type, 11);
  return out;
}

export function decodeNdMsg(data: Buffer): { header: NdMsg; attrs: Buffer } {
  if (data.length < 12) throw new RangeError(`ndmsg too short: ${data.length} bytes`);
  const header = {
    family: data.readUInt8(0),
    index: LE ? data.readInt32LE(4) : data.readInt32BE(4),
    state: LE ? data.readUInt16LE(8) : data.readUInt16BE(8),
    flags: data.readUInt8(10),
    type: data.readUInt8(11),
  };
  return { header, attrs: data.subarray(12) };
}
