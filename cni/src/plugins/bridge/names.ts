import { sha256Hex } from '../../hash/sha256.js';
import type { CniRequest } from '../../skel/plugin.js';
import { ownerTag } from '../../nat/owner.js';

/**
 * The host-side veth name of an attachment: `veth` and 11 hex digits of a hash of container ID and interface name.
 * Deterministic, so DEL and CHECK find the host end without asking the container netns (which may be gone), and
 * concurrent ADDs never pick the same name (44 bits: a collision needs millions of attachments on one host).
 */
export function hostVethName(containerId: string, ifName: string): string {
  return `veth${sha256Hex(`${containerId}/${ifName}`).slice(0, 11)}`;
}

/** The owner tag of the request's attachment, as written on its NAT and MAC-check elements. */
export function attachmentTag(request: CniRequest): string {
  return ownerTag({ network: request.config.name, containerId: request.containerId, ifName: request.ifName });
}
