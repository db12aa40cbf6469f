import { mkdtempSync, rmSync } from 'node:fs';
import { tryLockFile } from '@berth/netns-napi';
import { createBerthIpam, type BerthIpamOptions } from '../../src/plugins/ipam/plugin.js';
import type { CniPlugin, CniRequest } from '../../src/skel/plugin.js';
import { buildRequest } from '../../src/skel/request.js';

/** A fresh `/tmp/bt-ipam-<random>` directory, removed in teardown even when the test fails. */
export function tempDataDir(t: { teardown(fn: () => unknown): void }): string {
  const dir = mkdtempSync('/tmp/bt-ipam-');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function ipamPlugin(options: BerthIpamOptions = {}): CniPlugin {
  return createBerthIpam({ tryLock: tryLockFile, ...options });
}

export interface Call {
  readonly command: 'ADD' | 'DEL' | 'CHECK' | 'STATUS' | 'GC';
  readonly containerId?: string;
  readonly ifName?: string;
  readonly config: object;
  readonly env?: Record<string, string>;
}

/** The request an engine's exec would produce, built by the same code the skeleton uses. */
export function request(call: Call): CniRequest {
  const attachment = call.command === 'GC' || call.command === 'STATUS' ? {} : {
    CNI_CONTAINERID: call.containerId ?? 'c1', CNI_IFNAME: call.ifName ?? 'eth0', CNI_NETNS: '/run/netns/none',
  };
  return buildRequest({ CNI_COMMAND: call.command, CNI_PATH: '/nonexistent', ...attachment, ...call.env }, JSON.stringify(call.config));
}

export function conf(dataDir: string, ipam: object = { subnet: '10.77.0.0/24' }, extra: object = {}): object {
  return { cniVersion: '1.1.0', name: 'bt-net', type: 'berth-bridge', ipam: { type: 'berth-ipam', dataDir, ...ipam }, ...extra };
}
