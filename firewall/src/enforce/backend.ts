/**
 * The enforcer's port to nftables: run one transaction, list the table. The real implementation is a
 * libnftables context (`@berth/nftables-napi`) in the current or a given network namespace; tests may pass
 * another implementation.
 */
import { Nft, NftError, type NftOutput, type NftScript } from '@berth/nftables-napi';

export interface NftBackend {
  /** Runs the script as one kernel transaction; throws when any part is rejected (then nothing applied). */
  run(script: NftScript): NftOutput;
  close(): void;
}

export type NftBackendFactory = (netns: string | undefined) => NftBackend;

export const libnftablesBackend: NftBackendFactory = (netns) => {
  const nft = netns === undefined ? new Nft() : new Nft({ netns });
  return { run: (script) => nft.run(script), close: () => nft.close() };
};

export function isNftError(error: unknown): error is NftError {
  return error instanceof NftError;
}
