import type { Nft } from '@berth/nftables-napi';
import { macspoofTableSpec } from '../../nat/macspoof.js';
import { OwnedTable } from '../../nat/owned-table.js';
import { natTableSpec } from '../../nat/ruleset.js';

/**
 * Berth's nftables tables in the host netns, opened on first use: the addon and libnftables load only for
 * configurations that use NAT or the MAC check.
 */
export class HostTables {
  readonly #netns: string | undefined;
  #nft: Nft | undefined;

  /** `netns`: a path naming the host's netns; undefined: this process's. */
  constructor(netns?: string) {
    this.#netns = netns;
  }

  async #context(): Promise<Nft> {
    if (this.#nft === undefined) {
      const { Nft: NftContext } = await import('@berth/nftables-napi');
      this.#nft = new NftContext(this.#netns === undefined ? {} : { netns: this.#netns });
    }
    return this.#nft;
  }

  async nat(): Promise<OwnedTable> {
    return new OwnedTable(natTableSpec, { nft: await this.#context() });
  }

  async macspoof(): Promise<OwnedTable> {
    return new OwnedTable(macspoofTableSpec, { nft: await this.#context() });
  }

  close(): void {
    this.#nft?.close();
    this.#nft = undefined;
  }
}

/**
 * The tables of this process's own netns, kept open for the process's life: a long-lived server (berthd) reuses one
 * libnftables context instead of making one per call. Transactions are synchronous, so calls never interleave in it.
 */
let ownNetnsTables: HostTables | undefined;

/**
 * Runs `fn` with the host tables of `hostNetns` (undefined: this process's netns, whose context stays open for the
 * next call); a context for another netns is closed afterwards.
 */
export async function withHostTables<T>(hostNetns: string | undefined, fn: (tables: HostTables) => Promise<T>): Promise<T> {
  if (hostNetns === undefined) return fn(ownNetnsTables ??= new HostTables());
  const tables = new HostTables(hostNetns);
  try {
    return await fn(tables);
  } finally {
    tables.close();
  }
}
