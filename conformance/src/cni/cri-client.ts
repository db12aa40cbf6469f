import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, loadPackageDefinition, type Client, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { criProto } from './cri-proto.js';

export interface PodPortMapping { readonly protocol: 'TCP' | 'UDP'; readonly containerPort: number; readonly hostPort: number; readonly hostIp?: string }

export interface PodSandboxConfig {
  readonly metadata: { readonly name: string; readonly uid: string; readonly namespace: string; readonly attempt?: number };
  readonly hostname?: string;
  readonly logDirectory?: string;
  readonly dnsConfig?: { readonly servers?: readonly string[]; readonly searches?: readonly string[]; readonly options?: readonly string[] };
  readonly portMappings?: readonly PodPortMapping[];
  readonly labels?: Readonly<Record<string, string>>;
}

export interface PodSandboxStatus {
  readonly id: string;
  readonly state: 'SANDBOX_READY' | 'SANDBOX_NOTREADY';
  readonly network?: { readonly ip: string };
}

/** A call that takes longer fails (a hung engine must not hang the suite). */
export const criCallTimeoutMs = 120_000;

type Unary = (request: object, options: { deadline: Date }, callback: (error: ServiceError | null, response: unknown) => void) => void;

function loadRuntimeService(): new (address: string, creds: ReturnType<typeof credentials.createInsecure>) => Client {
  const dir = mkdtempSync(join(tmpdir(), 'bt-cri-proto-'));
  try {
    const file = join(dir, 'cri.proto');
    writeFileSync(file, criProto);
    const definition = loadSync(file, { keepCase: false, enums: String, defaults: true, longs: String });
    const loaded = loadPackageDefinition(definition) as unknown as { runtime: { v1: { RuntimeService: new (address: string, creds: ReturnType<typeof credentials.createInsecure>) => Client } } };
    return loaded.runtime.v1.RuntimeService;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The CRI RuntimeService over a unix socket, as the kubelet talks to containerd (sandbox calls only). */
export class CriClient {
  readonly #client: Client;

  constructor(socketPath: string) {
    const RuntimeService = loadRuntimeService();
    this.#client = new RuntimeService(`unix://${socketPath}`, credentials.createInsecure());
  }

  #call<T>(method: string, request: object): Promise<T> {
    const unary = (this.#client as unknown as Record<string, Unary>)[method];
    if (unary === undefined) throw new TypeError(`CriClient: no method ${method}`);
    return new Promise((resolve, reject) => {
      unary.call(this.#client, request, { deadline: new Date(Date.now() + criCallTimeoutMs) }, (error, response) => {
        if (error !== null) reject(new Error(`CRI ${method} failed: ${error.details || error.message}`, { cause: error }));
        else resolve(response as T);
      });
    });
  }

  async version(): Promise<{ runtimeName: string; runtimeVersion: string; runtimeApiVersion: string }> {
    return this.#call('Version', { version: 'v1' });
  }

  async runPodSandbox(config: PodSandboxConfig): Promise<string> {
    return (await this.#call<{ podSandboxId: string }>('RunPodSandbox', { config })).podSandboxId;
  }

  /** The status, and the verbose info (containerd's JSON, which names the netns path). */
  async podSandboxStatus(id: string): Promise<{ status: PodSandboxStatus; info: Record<string, string> }> {
    return this.#call('PodSandboxStatus', { podSandboxId: id, verbose: true });
  }

  async stopPodSandbox(id: string): Promise<void> {
    await this.#call('StopPodSandbox', { podSandboxId: id });
  }

  async removePodSandbox(id: string): Promise<void> {
    await this.#call('RemovePodSandbox', { podSandboxId: id });
  }

  close(): void {
    this.#client.close();
  }
}
