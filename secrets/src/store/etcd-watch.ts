import type { Etcd3, IWatchResponse, Watcher } from 'etcd3';
import type { Logger } from '@berth/cni';
import type { ListResult, WatchHandle, WatchOptions } from './kv-store.js';
import { toRevision, type Revision } from './revision.js';

export const resyncBackoffMsInitial = 100;
export const resyncBackoffMsMax = 2_000;
/**
 * How long close() waits for etcd to confirm a cancel. The etcd3 client's cancel waits for the stream's answer and
 * never settles while the stream is down (a member gone, this node's identity revoked); the client is closed right
 * after anyway, which ends the stream.
 */
export const cancelWaitMsMax = 2_000;

/**
 * A prefix watch that never skips or repeats a revision. The etcd3 client reconnects by itself, but resumes from the
 * response header's revision + 1, which can skip events while a catching-up watcher receives them in chunks; so this
 * keeps its own "delivered up to" revision and sets the resume point from it after every response. When the resume
 * point was compacted, etcd cancels the watch: this lists the prefix (linearizably), hands the snapshot to
 * `onResync`, and watches again from the snapshot's revision + 1.
 */
export class EtcdPrefixWatch implements WatchHandle {
  readonly #client: Etcd3;
  readonly #prefix: string;
  readonly #options: WatchOptions;
  readonly #list: (prefix: string) => Promise<ListResult>;
  readonly #logger: Logger;
  #delivered: Revision;
  #observed: Revision;
  #resyncs = 0;
  #watcher: Watcher | undefined;
  #closed = false;

  constructor(options: { client: Etcd3; prefix: string; watch: WatchOptions; list: (prefix: string) => Promise<ListResult>; logger: Logger }) {
    this.#client = options.client;
    this.#prefix = options.prefix;
    this.#options = options.watch;
    this.#list = options.list;
    this.#logger = options.logger;
    this.#delivered = toRevision(Math.max(0, options.watch.fromRevision - 1));
    this.#observed = this.#delivered;
    this.#attach();
  }

  get deliveredRevision(): Revision { return this.#delivered; }
  get resyncs(): number { return this.#resyncs; }
  get lagRevisions(): number { return Math.max(0, this.#observed - this.#delivered); }

  async close(): Promise<void> {
    this.#closed = true;
    const watcher = this.#watcher;
    this.#watcher = undefined;
    if (watcher === undefined) return;
    let timer: NodeJS.Timeout | undefined;
    const given = new Promise<void>((resolve) => { timer = setTimeout(resolve, cancelWaitMsMax); });
    await Promise.race([watcher.cancel().catch(() => undefined), given]);
    clearTimeout(timer);
  }

  #attach(): void {
    const watcher = this.#client.watch().prefix(this.#prefix).startRevision(String(this.#delivered + 1)).watcher();
    this.#watcher = watcher;
    const resumePoint = (): void => {
      watcher.request.start_revision = String(this.#delivered + 1);
    };
    watcher.on('connected', (response: IWatchResponse) => {
      this.#observe(response);
      resumePoint();
    });
    watcher.on('data', (response: IWatchResponse) => {
      if (this.#watcher !== watcher) return;
      this.#observe(response);
      this.#deliver(response);
      resumePoint();
    });
    watcher.on('error', (error: Error) => {
      if (this.#watcher !== watcher || this.#closed) return;
      this.#watcher = undefined;
      this.#logger.warn({ prefix: this.#prefix, from: this.#delivered + 1, err: error.message }, 'watch canceled; resyncing');
      void this.#resync();
    });
  }

  #observe(response: IWatchResponse): void {
    const revision = Number(response.header.revision);
    if (Number.isSafeInteger(revision) && revision > this.#observed) this.#observed = toRevision(revision);
  }

  #deliver(response: IWatchResponse): void {
    const fresh = response.events
      .map((event) => ({
        kind: event.type === 'Delete' ? 'delete' as const : 'put' as const,
        key: event.kv.key.toString(),
        value: event.type === 'Delete' ? Buffer.alloc(0) : Buffer.from(event.kv.value),
        modRevision: toRevision(event.kv.mod_revision),
      }))
      .filter((event) => event.modRevision > this.#delivered);
    if (response.events.length === 0) {
      // An empty, non-created response is a progress notification, sent only to synced watchers.
      const revision = toRevision(response.header.revision);
      if (revision > this.#delivered) {
        this.#delivered = revision;
        this.#call(() => this.#options.onProgress?.(revision));
      }
      return;
    }
    if (fresh.length === 0) return;
    this.#delivered = fresh.reduce((max, event) => (event.modRevision > max ? event.modRevision : max), this.#delivered);
    this.#call(() => this.#options.onEvents(fresh));
  }

  async #resync(): Promise<void> {
    let backoffMs = resyncBackoffMsInitial;
    while (!this.#closed) {
      try {
        const snapshot = await this.#list(this.#prefix);
        if (this.#closed) return;
        this.#delivered = snapshot.revision;
        if (snapshot.revision > this.#observed) this.#observed = snapshot.revision;
        this.#resyncs += 1;
        this.#call(() => this.#options.onResync(snapshot.kvs, snapshot.revision));
        this.#attach();
        return;
      } catch (error) {
        this.#logger.warn({ prefix: this.#prefix, err: error instanceof Error ? error.message : String(error) }, 'resync list failed; retrying');
        await new Promise((resolve) => setTimeout(resolve, backoffMs));
        backoffMs = Math.min(resyncBackoffMsMax, backoffMs * 2);
      }
    }
  }

  #call(fn: () => void): void {
    try {
      fn();
    } catch (error) {
      this.#logger.error({ prefix: this.#prefix, err: error instanceof Error ? error.message : String(error) }, 'watch handler threw');
    }
  }
}
