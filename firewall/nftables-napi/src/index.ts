export { Nft, type NftOptions } from './nft.js';
export type { NftInput } from './input.js';
export { NftError, NftErrorCode, type NftErrorCodeValue } from './errors.js';
export { listed } from './output.js';
export { match, payload, meta, ct, setRef } from './builders.js';
export type * from './schema.js';
