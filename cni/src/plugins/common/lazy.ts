import type { CniPlugin, CniRequest } from '../../skel/plugin.js';
import type { CniVersion } from '../../spec/version.js';

/**
 * A plugin whose implementation is loaded on its first call: VERSION (and any error before a call) never pays for
 * loading netlink, the native addons or the plugin's own code. In the bundled executable the dynamic import stays a
 * lazily initialised part of the same file.
 */
export function lazyPlugin(name: string, supportedVersions: readonly CniVersion[], load: () => Promise<CniPlugin>): CniPlugin {
  let loaded: Promise<CniPlugin> | undefined;
  const plugin = (): Promise<CniPlugin> => (loaded ??= load());
  return {
    name,
    supportedVersions,
    add: async (request: CniRequest) => (await plugin()).add(request),
    del: async (request: CniRequest) => (await plugin()).del(request),
    check: async (request: CniRequest) => (await plugin()).check(request),
    status: async (request: CniRequest) => (await plugin()).status?.(request),
    gc: async (request: CniRequest) => (await plugin()).gc?.(request),
  };
}
