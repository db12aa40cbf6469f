import { createRequire } from 'node:module';
import type { PeerCertificate } from 'node:tls';
import type * as Grpc from '@grpc/grpc-js';

/** grpc-js as etcd3 loads it: the same module instance, so its credentials factory is the one etcd3 calls. */
const grpc = createRequire(createRequire(import.meta.url).resolve('etcd3'))('@grpc/grpc-js') as typeof Grpc;

type IdentityListener = (update: { certificate: Buffer; privateKey: Buffer } | null) => void;
type CaListener = (update: { caCertificate: Buffer } | null) => void;

export type ServerIdentityCheck = (hostname: string, certificate: PeerCertificate) => Error | undefined;

/**
 * The client's TLS material for grpc-js, held in memory and replaceable: a renewed certificate is used by every
 * connection made after `update`, while connections already open go on (etcd checks a client certificate at the
 * handshake only). This is grpc-js's certificate-provider interface, the documented way to rotate credentials.
 */
export class TlsIdentity {
  #ca: Buffer;
  #certificate: Buffer;
  #privateKey: Buffer;
  readonly #identityListeners = new Set<IdentityListener>();
  readonly #caListeners = new Set<CaListener>();

  constructor(tls: { caPem: string; certPem: string; keyPem: string }) {
    this.#ca = Buffer.from(tls.caPem);
    this.#certificate = Buffer.from(tls.certPem);
    this.#privateKey = Buffer.from(tls.keyPem);
  }

  update(tls: { certPem: string; keyPem: string }): void {
    this.#certificate = Buffer.from(tls.certPem);
    this.#privateKey = Buffer.from(tls.keyPem);
    for (const listener of this.#identityListeners) listener({ certificate: this.#certificate, privateKey: this.#privateKey });
  }

  addCaCertificateListener(listener: CaListener): void {
    this.#caListeners.add(listener);
    listener({ caCertificate: this.#ca });
  }

  removeCaCertificateListener(listener: CaListener): void {
    this.#caListeners.delete(listener);
  }

  addIdentityCertificateListener(listener: IdentityListener): void {
    this.#identityListeners.add(listener);
    listener({ certificate: this.#certificate, privateKey: this.#privateKey });
  }

  removeIdentityCertificateListener(listener: IdentityListener): void {
    this.#identityListeners.delete(listener);
  }

  channelCredentials(checkServerIdentity: ServerIdentityCheck | undefined): Grpc.ChannelCredentials {
    return grpc.experimental.createCertificateProviderChannelCredentials(this, this, checkServerIdentity === undefined ? {} : { checkServerIdentity });
  }
}

/**
 * Runs `construct` (which builds an etcd3 client) with grpc-js's `createSsl` answering `credentials`: etcd3 builds
 * its channel credentials synchronously in its constructor and takes no verify options or certificate provider of
 * its own. Asserts the substitute was used, so an etcd3 upgrade that builds credentials differently fails loudly.
 */
export function withChannelCredentials<T>(credentials: Grpc.ChannelCredentials, construct: () => T): T {
  const original = grpc.credentials.createSsl;
  let used = false;
  grpc.credentials.createSsl = () => {
    used = true;
    return credentials;
  };
  try {
    const result = construct();
    if (!used) throw new Error('etcd3 did not build its TLS credentials through grpc-js createSsl: cannot apply the server identity check');
    return result;
  } finally {
    grpc.credentials.createSsl = original;
  }
}
