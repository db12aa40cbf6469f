/** Ethernet MAC addresses as text ("02:42:ac:11:00:02") and bytes. Pure. */

const MAC_PATTERN = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;

export class MacParseError extends Error {
  readonly code = 'INVALID_MAC' as const;
  constructor(message: string) {
    super(message);
    this.name = 'MacParseError';
  }
}

/** Parses "aa:bb:cc:dd:ee:ff" (either case) to 6 bytes. Throws MacParseError. */
export function parseMac(text: string): Buffer {
  if (typeof text !== 'string' || !MAC_PATTERN.test(text)) {
    throw new MacParseError(`Invalid MAC address ${JSON.stringify(String(text).slice(0, 40))}: expected six hex pairs separated by ":"`);
  }
  return Buffer.from(text.replaceAll(':', ''), 'hex');
}

/** Formats bytes as lower-case colon-separated hex ("" for an empty address). */
export function formatMac(bytes: Uint8Array): string {
  return [...bytes].map((byte) => byte.toString(16).padStart(2, '0')).join(':');
}
