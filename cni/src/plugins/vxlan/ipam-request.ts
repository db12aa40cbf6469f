import { formatCidr, formatIp, type IpAddress, type IpCidr } from '../../net/ip.js';
import type { CniRequest } from '../../skel/plugin.js';
import { parsePluginConfig } from '../../spec/config.js';
import { fieldValue, type JsonObject } from '../../spec/fields.js';

/** True when the `ipam` section names its own ranges (then it is passed on as written). */
export function ipamHasRanges(request: CniRequest): boolean {
  const ipam = request.config.ipam?.raw ?? {};
  const subnet = fieldValue(ipam, 'subnet');
  return fieldValue(ipam, 'ranges') !== undefined || (subnet !== undefined && subnet !== '');
}

/**
 * The request the IPAM plugin gets: the same, with `ipam.ranges` set to this host's subnet and gateway when the
 * section names no ranges of its own (one conflist then serves every host, each allocating from its own subnet, as
 * flannel does with host-local). The IPAM sees the rewritten configuration on stdin too, whether it runs in-process
 * or as its own executable.
 */
export function ipamRequestFor(request: CniRequest, subnet: IpCidr, gateway: IpAddress | undefined): CniRequest {
  if (ipamHasRanges(request) || request.config.ipam === undefined) return request;
  const range: Record<string, string> = { subnet: formatCidr(subnet) };
  if (gateway !== undefined) range['gateway'] = formatIp(gateway);
  const raw: JsonObject = { ...request.config.raw, ipam: { ...request.config.ipam.raw, ranges: [[range]] } };
  const stdin = JSON.stringify(raw);
  return { ...request, stdin, config: parsePluginConfig(stdin, { command: request.command }) };
}
