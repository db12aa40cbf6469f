import * as x509 from '@peculiar/x509';
import type { Logger } from '@berth/cni';
import type { Store } from '../store/typed-store.js';
import { toRevision, type Revision } from '../store/revision.js';
import type { WatchHandle } from '../store/kv-store.js';
import { loadClusterCa, type ClusterCaPem } from './ca.js';
import { revokedCollection, type RevokedRecord } from './keys.js';
import { signingAlgorithm } from './pki.js';
import { writeFileDurably } from './secure-file.js';

/** A CRL is reissued on every change; its nextUpdate only has to outlive the time between changes. */
const crlLifetimeMs = 365 * 86_400_000;
const startRetryMsInitial = 500;
const startRetryMsMax = 30_000;

/**
 * The cluster CRL listing every serial of every revoked node, PEM with the `X509 CRL` label: Go's (and so etcd 3.4's)
 * CRL parser strips PEM only under that label (peculiar's default `CRL` label makes etcd reject every connection).
 */
export async function buildCrl(ca: ClusterCaPem, records: readonly RevokedRecord[], now = new Date()): Promise<string> {
  const { certificate, signingKey } = await loadClusterCa(ca);
  const crl = await x509.X509CrlGenerator.create({
    issuer: certificate.subjectName,
    thisUpdate: new Date(now.getTime() - 60_000),
    nextUpdate: new Date(now.getTime() + crlLifetimeMs),
    signingAlgorithm,
    signingKey,
    entries: records.flatMap((record) => record.serials.map((serial) => ({ serialNumber: positiveSerial(serial), revocationDate: new Date(record.revokedAt) }))),
  });
  return x509.PemConverter.encode(crl.rawData, 'X509 CRL');
}

/**
 * The serial as the hex of a positive DER INTEGER: whole bytes, and a leading zero byte when the high bit is set
 * (the library writes the hex as given, and `aa01` would otherwise be the negative -0x55ff).
 */
function positiveSerial(serial: string): string {
  const even = serial.length % 2 === 1 ? `0${serial}` : serial;
  return /^[89a-f]/i.test(even) ? `00${even}` : even;
}

/**
 * Keeps a manager's CRL file equal to the denylist in the store. etcd 3.4 reads `--client-crl-file` and
 * `--peer-crl-file` again for every new connection (measured here: a serial added is refused at the next handshake,
 * removed is admitted again, no restart), so rewriting the file atomically is all a change needs. Connections opened
 * before stay up; the revoked node's etcd users are deleted too, which refuses its next request on those.
 */
export class CrlKeeper {
  readonly #store: Store;
  readonly #file: string;
  readonly #loadCa: () => Promise<ClusterCaPem>;
  readonly #logger: Logger;
  #watch: WatchHandle | undefined;
  #writing: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(options: { store: Store; file: string; loadCa: () => Promise<ClusterCaPem>; logger: Logger }) {
    this.#store = options.store;
    this.#file = options.file;
    this.#loadCa = options.loadCa;
    this.#logger = options.logger;
  }

  /** Writes the CRL and starts following the denylist; retried with capped backoff until it works or is closed. */
  async start(): Promise<void> {
    for (let retryMs = startRetryMsInitial; !this.#closed; retryMs = Math.min(startRetryMsMax, retryMs * 2)) {
      try {
        await this.#follow();
        return;
      } catch (error) {
        this.#logger.warn({ err: error instanceof Error ? error.message : String(error), retryMs }, 'cannot read the denylist yet; the CRL follows once it can');
        await new Promise((resolve) => setTimeout(resolve, retryMs).unref());
      }
    }
  }

  async #follow(): Promise<void> {
    const { revision } = await this.refresh();
    if (this.#closed) return;
    this.#watch = this.#store.watch(revokedCollection, {
      fromRevision: toRevision(revision + 1),
      onChanges: () => void this.refresh().catch((error: unknown) => this.#logger.error({ err: String(error) }, 'cannot rewrite the CRL')),
      onResync: () => void this.refresh().catch((error: unknown) => this.#logger.error({ err: String(error) }, 'cannot rewrite the CRL')),
    });
  }

  /**
   * Rewrites the CRL from the store now (serialised with any rewrite under way). Records whose certificates have all
   * expired are left out and deleted (conditionally: any manager may do it, once): an expired certificate is refused
   * anyway, so the CRL only grows with what can still be presented.
   */
  refresh(): Promise<{ revision: Revision }> {
    const run = this.#writing.then(async () => {
      const { revision, entries } = await this.#store.list(revokedCollection);
      const nowMs = Date.now();
      const live = entries.filter((entry) => Date.parse(entry.value.expiresAt) > nowMs);
      await writeFileDurably(this.#file, await buildCrl(await this.#loadCa(), live.map((entry) => entry.value)));
      this.#logger.info({ revoked: live.length }, 'CRL written');
      for (const entry of entries) {
        if (!live.includes(entry)) await this.#store.delete(revokedCollection, entry.id, entry.modRevision).catch(() => undefined);
      }
      return { revision };
    });
    this.#writing = run.then(() => undefined, () => undefined);
    return run;
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#watch?.close();
    await this.#writing;
  }
}
