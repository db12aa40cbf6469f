import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Server as HttpsServer } from 'node:https';
import { rm } from 'node:fs/promises';
import type { CniServer, Logger } from '@berth/cni';
import { ClusterNode } from '@berth/secrets';
import { createLocalApi } from './api.js';
import { startConsoleListener } from './console/listener.js';
import { createCniService } from './cni-service.js';
import { RUN_UPGRADE_PROTOCOL, RunService } from './run-service.js';
import { hostStages } from '../hooks/stage-host.js';
import { claimInstance } from './instance-lock.js';
import { startJoinServer } from './join-server.js';
import type { DaemonOptions } from './options.js';
import { PolicyRuntime } from './policy/runtime.js';
import { listenOnSocket } from './socket-server.js';
import { SecretsRuntime } from './secrets-runtime.js';
import { NetworksRuntime } from './networks-runtime.js';

/**
 * berthd: one per host. Owns the host's cluster membership (and so the etcd member on managers), serves the local
 * API on a unix socket, and on managers the join endpoint on the advertise address. `stop()` is the SIGTERM path:
 * endpoints closed, liveness lease revoked, etcd member stopped.
 */
export class Daemon {
  readonly node: ClusterNode;
  readonly options: DaemonOptions;
  readonly secrets: SecretsRuntime;
  readonly networks: NetworksRuntime;
  readonly policy: PolicyRuntime;
  readonly #logger: Logger;
  readonly #releaseInstance: () => Promise<void>;
  #api: Server | undefined;
  #console: Server | undefined;
  /** With `--console`: the loopback URL with this start's access token (printed on stderr, never logged). */
  consoleUrl: string | undefined;
  #join: HttpsServer | undefined;
  #cni: CniServer | undefined;
  #runs: RunService | undefined;
  #stopping: Promise<void> | undefined;

  private constructor(node: ClusterNode, options: DaemonOptions, logger: Logger, releaseInstance: () => Promise<void>) {
    this.node = node;
    this.options = options;
    this.secrets = new SecretsRuntime(node, { runDir: options.runDir, logger });
    this.networks = new NetworksRuntime(node, { confDir: options.cniConfDir, root: options.root, logger });
    this.policy = new PolicyRuntime(node, { logger, netns: options.firewallNetns });
    this.#logger = logger;
    this.#releaseInstance = releaseInstance;
  }

  static async start(options: DaemonOptions, logger: Logger): Promise<Daemon> {
    const releaseInstance = await claimInstance(options.root);
    const node = await ClusterNode.open({
      root: options.root, advertiseAddress: options.advertiseAddress, joinPort: options.joinPort,
      etcdClientPort: options.etcdClientPort, etcdPeerPort: options.etcdPeerPort, hostname: options.hostname,
      timing: options.timing, leaseTtlSeconds: options.leaseTtlSeconds, certificateValiditySeconds: options.certificateValiditySeconds, logger,
    });
    const daemon = new Daemon(node, options, logger, releaseInstance);
    try {
      await daemon.#syncJoinServer();
      const hooks = { membershipChanged: () => daemon.#syncJoinServer(), cni: () => daemon.#cni };
      const api = createLocalApi(node, hooks, logger, { secrets: daemon.secrets, networks: daemon.networks, policy: daemon.policy });
      daemon.#api = await listenOnSocket(api, options.socketPath);
      if (options.console !== undefined) {
        const listener = await startConsoleListener({ local: api, policy: daemon.policy, root: options.root, logger }, options.console);
        daemon.#console = listener.server;
        daemon.consoleUrl = listener.url;
      }
      const cni = createCniService(options.root, logger, { firewallRegistry: daemon.policy.registryFor });
      const runs = new RunService(options.root, logger);
      hostStages({ firewallRegistry: daemon.policy.registryFor, flushLogEachStage: false });
      daemon.#cni = cni;
      daemon.#runs = runs;
      // The native clients' upgrades: berth's front end (`berth run`) and the CNI shim.
      daemon.#api.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
        if ((request.headers.upgrade ?? '').toLowerCase() === RUN_UPGRADE_PROTOCOL) runs.handleUpgrade(request, socket, head);
        else cni.handleUpgrade(request, socket, head);
      });
    } catch (error) {
      await daemon.stop();
      throw error;
    }
    logger.info({ socket: options.socketPath, root: options.root, role: node.active?.state.role ?? 'none' }, 'berthd ready');
    return daemon;
  }

  /** The join endpoint runs exactly while this host is a manager. */
  async #syncJoinServer(): Promise<void> {
    await this.secrets.sync();
    await this.networks.sync();
    await this.policy.sync();
    const manager = this.node.active?.state.role === 'manager';
    if (manager && this.#join === undefined) this.#join = await startJoinServer(this.node, this.#logger, this.secrets);
    if (!manager && this.#join !== undefined) {
      const server = this.#join;
      this.#join = undefined;
      await closeServer(server);
    }
  }

  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      this.#logger.info('berthd stopping');
      if (this.#join !== undefined) await closeServer(this.#join);
      if (this.#console !== undefined) await closeServer(this.#console);
      await this.#cni?.close();
      await this.#runs?.close();
      await this.secrets.stop();
      await this.networks.stop();
      await this.policy.stop();
      if (this.#api !== undefined) {
        await closeServer(this.#api);
        await rm(this.options.socketPath, { force: true });
      }
      await this.node.close();
      await this.#releaseInstance();
      this.#logger.info('berthd stopped');
    })();
    return this.#stopping;
  }
}

function closeServer(server: Server | HttpsServer): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
