import type { NftFamily } from '@berth/nftables-napi';

/**
 * A Berth-owned nftables table whose fixed part (chains, rules, set declarations) is created once, and whose named
 * sets and maps hold per-attachment elements, each tagged with its owner in the element comment. The NAT table and
 * the MAC-spoofing table are two of these.
 */
export interface OwnedTableSpec {
  readonly family: NftFamily;
  readonly name: string;
  /** The sets and maps that hold owned elements; nothing else in the table is read or changed per attachment. */
  readonly sets: readonly string[];
  /** nft native script creating the table with `create table` first (so a racing second creator gets EEXIST). */
  baseScript(): string;
}
