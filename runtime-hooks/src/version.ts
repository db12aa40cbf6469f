/** Berth's version: the CLI's, berthd's (GET /v1/version) and berth-runtime's. */
export const berthVersion = '0.1.0';
