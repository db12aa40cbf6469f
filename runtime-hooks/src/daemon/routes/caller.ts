import type { Context } from 'hono';
import type { Socket } from 'node:net';
import { peerCredentials } from '@berth/netns-napi';
import type { Actor } from '@berth/secrets';

/**
 * The local API caller as the audit log names it: this host's node id and the peer's uid from SO_PEERCRED (the
 * socket is 0600, so in practice root; the uid still tells root's tools from a sudo'ed user's).
 */
export function localActor(c: Context, nodeId: string): Actor {
  const socket = (c.env as { incoming?: { socket?: Socket & { _handle?: { fd?: number } } } } | undefined)?.incoming?.socket;
  const fd = socket?._handle?.fd;
  let uid: number | undefined;
  if (typeof fd === 'number' && fd >= 0) {
    try {
      uid = peerCredentials(fd).uid;
    } catch {
      uid = undefined;
    }
  }
  return { node: nodeId, uid };
}
