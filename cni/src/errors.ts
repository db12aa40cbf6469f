/** Error codes fixed by the CNI 1.1 specification; 100+ are plugin-specific. */
export const CniCode = {
  IncompatibleVersion: 1,
  UnsupportedField: 2,
  UnknownContainer: 3,
  InvalidEnvironment: 4,
  IoFailure: 5,
  DecodeFailure: 6,
  InvalidNetworkConfig: 7,
  TryAgainLater: 11,
  PluginNotAvailable: 50,
  PluginLimitedConnectivity: 51,
  Internal: 999,
} as const;
export type CniCodeValue = (typeof CniCode)[keyof typeof CniCode];

/** The error type at the `@berth/cni` boundary: a spec code and a message a user can act on. */
export class CniError extends Error {
  readonly code: number;
  readonly details: string | undefined;

  constructor(code: number, message: string, details?: string) {
    super(message);
    this.name = 'CniError';
    this.code = code;
    this.details = details;
  }

  /** The spec's error object, as printed on stdout. */
  toJson(cniVersion: string): { cniVersion: string; code: number; msg: string; details?: string } {
    return this.details === undefined
      ? { cniVersion, code: this.code, msg: this.message }
      : { cniVersion, code: this.code, msg: this.message, details: this.details };
  }
}
