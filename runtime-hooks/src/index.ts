export { callDaemon, DaemonClientError } from './daemon/client.js';
