import type { Nft } from '@berth/nftables-napi';
import { macspoofTableSpec } from '../../nat/macspoof.js';
import { OwnedTable } from '../../nat/owned-table.js';
import { natTableSpec } from '../../nat/ruleset.js';

/**
 * Berth's nftables tables in the plugin's netns (the host's), opened on first use: the addon and libnftables load
 * only for configurations that use NAT or the MAC check.
 */
export class HostTables {
  #nft: Nft | undefined;

  async #context(): Promise<Nft> {
    if (this.#nft === undefined) {
      const { Nft: NftContext } = await import('@berth/nftables-napi');
      this.#nft = new NftContext();
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

/** Runs `fn` with the host tables and closes the nft context afterwards. */
export async function withHostTables<T>(fn: (tables: HostTables) => Promise<T>): Promise<T> {
  const tables = new HostTables();
  try {
    return await fn(tables);
  } finally {
    tables.close();
  }
}
