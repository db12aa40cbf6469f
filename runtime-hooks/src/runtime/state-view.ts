import type { ContainerRecord, StateStore } from './state.js';

/** The state runc's `state` prints (the runtime-spec's state plus runc's rootfs, created and owner). */
export function stateOf(store: StateStore, record: ContainerRecord): Record<string, unknown> {
  const status = store.status(record);
  return {
    ociVersion: record.ociVersion,
    id: record.id,
    pid: status === 'stopped' ? 0 : record.pid,
    status,
    bundle: record.bundle,
    rootfs: record.rootfs,
    created: record.created,
    owner: '',
    ...(Object.keys(record.annotations).length > 0 ? { annotations: record.annotations } : {}),
  };
}
