import { IpParseError, parseCidr, type IpCidr } from '../net/ip.js';

/** `parseCidr` of the shared IP module (net/ip.ts), returning undefined instead of throwing on bad input. */
export function tryParseCidr(text: string): IpCidr | undefined {
  try {
    return parseCidr(text);
  } catch (error) {
    if (error instanceof IpParseError) return undefined;
    throw error;
  }
}
