import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { deriveRequestConfig, parseConflist, type AttachmentParameters, type ConflistRequest, type JsonObject } from '@berth/cni';
import type { TestNetns } from '../harness/index.js';
import type { CniImplementation } from './implementation.js';

export type CniCommandName = 'ADD' | 'DEL' | 'CHECK' | 'VERSION' | 'STATUS' | 'GC';

/** What one plugin process did. */
export interface PluginOutcome {
  readonly code: number | null;
  readonly signal: string | null;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout decoded, when it is a JSON object. */
  readonly json: JsonObject | undefined;
}

/** A plugin failed: its error JSON (code, msg) when it printed one. */
export class PluginCallError extends Error {
  readonly outcome: PluginOutcome;
  constructor(what: string, outcome: PluginOutcome) {
    super(`${what} failed (${outcome.code ?? outcome.signal}): ${outcome.stdout.trim() || outcome.stderr.trim()}`);
    this.name = 'PluginCallError';
    this.outcome = outcome;
  }
}

export const pluginCallTimeoutMs = 60_000;

/**
 * Runs plugins exactly as an engine does: one process per call, CNI_* in the environment, the configuration on
 * stdin, CNI_PATH at the implementation's directory, inside the test host's netns (entered with nsenter), so
 * bridges and NAT rules never touch the root netns.
 */
export class CniEngine {
  readonly implementation: CniImplementation;
  readonly host: TestNetns;
  /** Extra environment every plugin gets (e.g. BERTH_ROOT), as an engine's own environment would carry it. */
  readonly env: Readonly<Record<string, string>>;

  constructor(implementation: CniImplementation, host: TestNetns, env: Readonly<Record<string, string>> = {}) {
    this.implementation = implementation;
    this.host = host;
    this.env = env;
  }

  call(type: string, command: CniCommandName, stdin: string, attachment?: Partial<AttachmentParameters>): Promise<PluginOutcome> {
    const env: Record<string, string> = {
      PATH: process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin',
      ...this.implementation.env,
      ...this.env,
      CNI_COMMAND: command,
      CNI_PATH: this.implementation.pluginDir,
    };
    if (attachment?.containerId !== undefined) env['CNI_CONTAINERID'] = attachment.containerId;
    if (attachment?.netns !== undefined) env['CNI_NETNS'] = attachment.netns;
    if (attachment?.ifName !== undefined) env['CNI_IFNAME'] = attachment.ifName;
    if (attachment?.args !== undefined) env['CNI_ARGS'] = attachment.args;
    return new Promise((resolve, reject) => {
      const child = spawn('nsenter', [`--net=${this.host.path}`, '--', join(this.implementation.pluginDir, type)], { env, stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      const timer = setTimeout(() => child.kill('SIGKILL'), pluginCallTimeoutMs);
      child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString('utf8'); });
      child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString('utf8'); });
      child.on('error', (error) => { clearTimeout(timer); reject(error); });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        let json: JsonObject | undefined;
        try {
          const value: unknown = JSON.parse(stdout);
          json = typeof value === 'object' && value !== null && !Array.isArray(value) ? value as JsonObject : undefined;
        } catch {
          json = undefined;
        }
        resolve({ code, signal, stdout, stderr, json });
      });
      child.stdin.on('error', () => undefined);
      child.stdin.end(stdin);
    });
  }

  /** One conflist operation (spec §3): ADD in order chaining results, DEL in reverse, CHECK in order. */
  async network(conflistObject: JsonObject, request: ConflistRequest): Promise<JsonObject | undefined> {
    const conflist = parseConflist(conflistObject);
    const plugins = request.command === 'DEL' ? [...conflist.plugins].reverse() : conflist.plugins;
    let previous: JsonObject | undefined = request.command === 'ADD' ? undefined : request.prevResult;
    for (const plugin of plugins) {
      const stdin = JSON.stringify(deriveRequestConfig(conflist, plugin, request, previous));
      const type = String(plugin['type']);
      const outcome = await this.call(type, request.command as CniCommandName, stdin, request.attachment);
      if (outcome.code !== 0) throw new PluginCallError(`${type} ${request.command}`, outcome);
      if (request.command === 'ADD') previous = outcome.json;
    }
    return request.command === 'ADD' ? previous : undefined;
  }

  add(conflist: JsonObject, attachment: AttachmentParameters): Promise<JsonObject | undefined> {
    return this.network(conflist, { command: 'ADD', attachment });
  }

  async del(conflist: JsonObject, attachment: AttachmentParameters, prevResult?: JsonObject): Promise<void> {
    await this.network(conflist, { command: 'DEL', attachment, ...(prevResult === undefined ? {} : { prevResult }) });
  }

  async check(conflist: JsonObject, attachment: AttachmentParameters, prevResult: JsonObject): Promise<void> {
    await this.network(conflist, { command: 'CHECK', attachment, prevResult });
  }
}
