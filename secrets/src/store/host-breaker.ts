/** Limits of the per-member circuit breaker. */
export const hostBreakerLimits = { consecutiveFailuresMax: 2, openMs: 2_000 } as const;

/**
 * A per-member circuit breaker for the etcd3 client's connection pool: after consecutive *connection* failures
 * (refused, dropped, no transport) the member is skipped for a while, so calls go to the others. Answers from etcd
 * itself ("etcdserver: …", e.g. an unhealthy-cluster refusal) and deadlines (a reachable member waiting out an
 * election) never trip it: the client's stock breaker counts those too, and then refuses every call to a
 * single-endpoint client for seconds after a leader change.
 * When open it throws without calling `fn`, which makes the pool try the next member.
 */
export class HostBreaker {
  #failures = 0;
  #openUntilMs = 0;

  async execute<T>(fn: (context: object) => PromiseLike<T> | T): Promise<T> {
    if (Date.now() < this.#openUntilMs) throw new Error('etcd member skipped: recent connection failures');
    try {
      const result = await fn({});
      this.#failures = 0;
      return result;
    } catch (error) {
      if (isTransportFailure(error)) {
        this.#failures += 1;
        if (this.#failures >= hostBreakerLimits.consecutiveFailuresMax) {
          this.#openUntilMs = Date.now() + hostBreakerLimits.openMs;
          this.#failures = 0;
        }
      }
      throw error;
    }
  }
}

function isTransportFailure(error: unknown): boolean {
  const message = error instanceof Error ? error.message : String(error);
  return !message.includes('etcdserver:') && /ECONNREFUSED|EHOSTUNREACH|No connection established|Connection dropped/i.test(message);
}
