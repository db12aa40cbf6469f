/**
 * The container commands (`berth run`, `ps`, …) are on a container's start path: bin/berth.js runs them from their
 * own bundle (cni/dist/bundle/berth-containers.cjs), without loading the other command groups or a tree of ES
 * modules (measured: the full CLI's start-up was 400-500 ms of a `berth run` on a loaded machine).
 */
export const containerCommandNames: ReadonlySet<string> = new Set(['run', 'container-monitor', 'ps', 'inspect', 'logs', 'exec', 'stop', 'rm']);
