export { CniServer, httpDecline, httpSwitch, socketFd, type CniServerOptions, type CniServerStats } from './server.js';
export { identifyCaller, ownNamespaces, type CallerNamespaces, type OwnNamespaces } from './caller.js';
export { CNI_UPGRADE_PROTOCOL, decodeAnswer, encodeCall, type CniAnswer, type CniCall } from './frames.js';
export { CallLimiter } from './limiter.js';
export { markServedPhase } from './timing.js';
export { berthSocketDefault, callDaemon, DaemonClientError, socketPathFrom } from './local-api-client.js';
