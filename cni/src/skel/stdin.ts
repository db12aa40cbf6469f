import { CniCode, CniError } from '../errors.js';
import { configBytesMax } from '../spec/config.js';

/** stdin as text; more than `limitBytes` is code 6, whether it came from a pipe or over berthd's socket. */
export function decodeStdin(data: Buffer, limitBytes = configBytesMax): string {
  if (data.length > limitBytes) {
    throw new CniError(CniCode.DecodeFailure, `Cannot decode network config: stdin exceeds the limit of ${limitBytes} bytes`);
  }
  return data.toString('utf8');
}
