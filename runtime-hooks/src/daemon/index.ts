export { Daemon } from './daemon.js';
export { parseDaemonOptions, defaultAdvertiseAddress, berthRootDefault, berthSocketDefault, type DaemonOptions } from './options.js';
export { callDaemon, socketPathFrom, DaemonClientError } from './client.js';
export { createLocalApi } from './api.js';
export { renderPrometheus, collectMetrics } from './metrics.js';
