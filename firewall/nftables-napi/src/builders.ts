import type {
  NftCtExpression, NftCtKey, NftExpression, NftMatchOperator, NftMatchStatement, NftMetaExpression, NftMetaKey,
  NftPayloadExpression,
} from './schema.js';

// Builders for the shapes every compiled rule repeats; everything else is written as plain objects.

/** `{ match: { op, left, right } }`; `op` defaults to `==` (libnftables JSON requires it). */
export function match(left: NftExpression, right: NftExpression, op: NftMatchOperator = '=='): NftMatchStatement {
  return { match: { op, left, right } };
}

/** A packet header field: `payload('ip', 'saddr')`, `payload('tcp', 'dport')`. */
export function payload(protocol: string, field: string): NftPayloadExpression {
  return { payload: { protocol, field } };
}

/** Packet metadata: `meta('iifname')`, `meta('l4proto')`. */
export function meta(key: NftMetaKey): NftMetaExpression {
  return { meta: { key } };
}

/** Conntrack data: `ct('state')`. */
export function ct(key: NftCtKey): NftCtExpression {
  return { ct: { key } };
}

/** A reference to a named set or map, for lookups and verdict maps: `setRef('allowed')` is `"@allowed"`. */
export function setRef(name: string): `@${string}` {
  return `@${name}`;
}
