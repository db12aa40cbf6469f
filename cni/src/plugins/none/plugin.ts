import { CniCode, CniError } from '../../errors.js';
import type { CniPlugin, CniRequest } from '../../skel/plugin.js';
import type { Result } from '../../spec/result.js';
import { SUPPORTED_VERSIONS } from '../../spec/version.js';
import { netnsExists, withContainerRtnl } from '../common/netns.js';

export const BERTH_NONE_TYPE = 'berth-none';
const loopback = 'lo';

/** ADD: loopback up, nothing else; the result names the loopback interface and no address. */
async function add(request: CniRequest): Promise<Result> {
  const mac = await withContainerRtnl(request.netns, async (container) => {
    await container.links.setUp(loopback);
    return (await container.links.get(loopback)).mac;
  });
  return { interfaces: [{ name: loopback, sandbox: request.netns, ...(mac === undefined ? {} : { mac }) }] };
}

/** DEL: loopback down again when the netns is still there (as the reference loopback plugin); gone is success. */
async function del(request: CniRequest): Promise<void> {
  if (!netnsExists(request.netns)) return;
  try {
    await withContainerRtnl(request.netns, (container) => container.links.setDown(loopback));
  } catch (error) {
    if (!(error instanceof CniError && error.code === CniCode.InvalidEnvironment)) throw error;
  }
}

async function check(request: CniRequest): Promise<void> {
  const up = await withContainerRtnl(request.netns, async (container) => (await container.links.get(loopback)).up);
  if (!up) throw new CniError(CniCode.Internal, `CHECK failed: loopback is down in ${request.netns}`);
}

/** berth-none: a container with no network but a working loopback (`--network none`). */
export function createBerthNone(): CniPlugin {
  // STATUS: always ready (loopback needs nothing on the host); GC: nothing is kept per attachment.
  return { name: BERTH_NONE_TYPE, supportedVersions: SUPPORTED_VERSIONS, add, del, check, status: async () => undefined, gc: async () => undefined };
}
