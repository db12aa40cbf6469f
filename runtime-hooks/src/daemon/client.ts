/** berthd's local API client lives in @berth/cni (the exec'd CNI plugins use it too). */
export { berthSocketDefault, callDaemon, DaemonClientError, socketPathFrom } from '@berth/cni';
