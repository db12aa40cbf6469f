/**
 * Where berth-firewall registers endpoints. Without a cluster: the state files under $BERTH_ROOT/firewall and the
 * table in the host namespace (the CLI path, `Firewall`). In a cluster: the host's berthd, which writes the record
 * into the cluster store under its node id and answers once its own engine enforces it; every other host's berthd
 * sees it through its watch. When berthd serves the CNI call in-process it hands the plugin its registry directly;
 * an exec'd plugin reaches the same registry over the local API (`daemonRegistry`).
 *
 * A host in a cluster must never fall back to the state files: a CLI-path transaction would replace the table
 * berthd enforces with one built from local state. So an exec'd plugin on such a host whose berthd does not answer
 * fails the call (CNI code 11, try again later) rather than enforce anything else.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CniCode, CniError, DaemonClientError, callDaemon, socketPathFrom, type CniRequest } from '@berth/cni';
import type { EndpointRecord } from '../state/store.js';
import { defaultRoot } from '../state/store.js';

/** The CNI attachment that owns a record. */
export interface Attachment {
  readonly containerId: string;
  readonly ifName: string;
}

export interface EndpointRegistry {
  /** Registers the record (replacing the pod's earlier one) and resolves once this host enforces it. */
  register(record: EndpointRecord): Promise<void>;
  /** Removes what the attachment registered; absent is fine (DEL is idempotent). */
  unregister(attachment: Attachment): Promise<void>;
  find(attachment: Attachment): Promise<EndpointRecord | undefined>;
  /** CNI GC: drops the network's records of this host whose attachment (`containerId/ifName`) is not in `valid`. */
  collect(network: string, valid: readonly string[]): Promise<void>;
  /** This host's table is in place and follows the store. */
  enforcing(): Promise<boolean>;
}

/** The registry a CNI call uses; undefined: the state files (no cluster). */
export type RegistryFor = (request: CniRequest) => Promise<EndpointRegistry | undefined>;

const daemonCallTimeoutMs = 30_000;

/** berthd's API error codes as CNI codes: bad input is 7, "not now" is 11, anything else 999. */
const daemonCodes: Readonly<Record<string, number>> = {
  REQUEST_INVALID: CniCode.InvalidNetworkConfig, INVALID_DOCUMENT: CniCode.InvalidNetworkConfig, INVALID_ARGUMENT: CniCode.InvalidNetworkConfig,
  STORE_INVALID_KEY: CniCode.InvalidNetworkConfig, STORE_TOO_LARGE: CniCode.InvalidNetworkConfig, UNAVAILABLE: CniCode.TryAgainLater,
  NOT_IN_CLUSTER: CniCode.TryAgainLater,
};

const attachmentPath = (attachment: Attachment): string =>
  `/v1/endpoints/attachments/${encodeURIComponent(attachment.containerId)}/${encodeURIComponent(attachment.ifName)}`;

/** berthd's endpoint registry over its local API socket. */
export function daemonRegistry(socketPath: string): EndpointRegistry {
  const call = async (method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<unknown> => {
    try {
      return await callDaemon({ socketPath, method, path, body, timeoutMs: daemonCallTimeoutMs });
    } catch (error) {
      if (error instanceof DaemonClientError && (error.code === 'UNREACHABLE' || error.code === 'TIMEOUT')) {
        throw new CniError(CniCode.TryAgainLater, `this host is in a cluster and registers endpoints through berthd, which does not answer: ${error.message}`);
      }
      if (!(error instanceof DaemonClientError)) throw error;
      throw new CniError(daemonCodes[error.code] ?? CniCode.Internal, `berthd refused: ${error.message}`);
    }
  };
  return {
    async register(record) {
      await call('POST', '/v1/endpoints', record);
    },
    async unregister(attachment) {
      await call('DELETE', attachmentPath(attachment));
    },
    async find(attachment) {
      const answer = await call('GET', attachmentPath(attachment)) as { endpoint: EndpointRecord | null };
      return answer.endpoint ?? undefined;
    },
    async collect(network, valid) {
      await call('POST', '/v1/endpoints/gc', { network, valid });
    },
    async enforcing() {
      const status = await call('GET', '/v1/policy/status') as { enforcing?: unknown };
      return status.enforcing === true;
    },
  };
}

/**
 * The exec'd plugin's choice: a host that has joined a cluster (its berthd wrote `<root>/cluster/state.json`)
 * registers through berthd; any other host uses the state files, with no socket call at all.
 */
export function execRegistryFor(env: Readonly<Record<string, string | undefined>> = process.env): RegistryFor {
  return async () => (existsSync(join(defaultRoot(env), 'cluster', 'state.json')) ? daemonRegistry(socketPathFrom(env)) : undefined);
}
