import { createRequire } from 'node:module';

/** The part of libsodium-wrappers Berth uses (the package ships no type declarations). */
export interface Sodium {
  readonly ready: Promise<void>;
  readonly crypto_aead_xchacha20poly1305_ietf_KEYBYTES: number;
  readonly crypto_aead_xchacha20poly1305_ietf_NPUBBYTES: number;
  readonly crypto_aead_xchacha20poly1305_ietf_ABYTES: number;
  crypto_aead_xchacha20poly1305_ietf_encrypt(message: Uint8Array, additionalData: Uint8Array, secretNonce: null, publicNonce: Uint8Array, key: Uint8Array): Uint8Array;
  crypto_aead_xchacha20poly1305_ietf_decrypt(secretNonce: null, ciphertext: Uint8Array, additionalData: Uint8Array, publicNonce: Uint8Array, key: Uint8Array): Uint8Array;
  crypto_generichash(length: number, message: Uint8Array, key?: Uint8Array | null): Uint8Array;
  memzero(bytes: Uint8Array): void;
}

const sodium = createRequire(import.meta.url)('libsodium-wrappers') as Sodium;
let loaded = false;

/** libsodium (WebAssembly) initialises asynchronously once per process; every crypto call goes through here after. */
export async function loadSodium(): Promise<Sodium> {
  await sodium.ready;
  loaded = true;
  return sodium;
}

export function sodiumLoaded(): Sodium {
  if (!loaded) throw new Error('Assertion failed: libsodium used before loadSodium() resolved');
  return sodium;
}
