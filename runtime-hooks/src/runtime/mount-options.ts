/** mount(2) flags (linux/mount.h) and runc's reading of OCI mount options into flags, propagation and data. */
export const MountFlag = {
  readonly: 0x1, nosuid: 0x2, nodev: 0x4, noexec: 0x8, synchronous: 0x10, remount: 0x20, mandlock: 0x40,
  dirsync: 0x80, noatime: 0x400, nodiratime: 0x800, bind: 0x1000, recursive: 0x4000, unbindable: 0x20000,
  private: 0x40000, slave: 0x80000, shared: 0x100000, relatime: 0x200000, strictatime: 0x1000000,
} as const;

const settable: Readonly<Record<string, { readonly clear: boolean; readonly flag: number }>> = {
  ro: { clear: false, flag: MountFlag.readonly }, rw: { clear: true, flag: MountFlag.readonly },
  nosuid: { clear: false, flag: MountFlag.nosuid }, suid: { clear: true, flag: MountFlag.nosuid },
  nodev: { clear: false, flag: MountFlag.nodev }, dev: { clear: true, flag: MountFlag.nodev },
  noexec: { clear: false, flag: MountFlag.noexec }, exec: { clear: true, flag: MountFlag.noexec },
  sync: { clear: false, flag: MountFlag.synchronous }, async: { clear: true, flag: MountFlag.synchronous },
  dirsync: { clear: false, flag: MountFlag.dirsync },
  mand: { clear: false, flag: MountFlag.mandlock }, nomand: { clear: true, flag: MountFlag.mandlock },
  noatime: { clear: false, flag: MountFlag.noatime }, atime: { clear: true, flag: MountFlag.noatime },
  nodiratime: { clear: false, flag: MountFlag.nodiratime }, diratime: { clear: true, flag: MountFlag.nodiratime },
  relatime: { clear: false, flag: MountFlag.relatime }, norelatime: { clear: true, flag: MountFlag.relatime },
  strictatime: { clear: false, flag: MountFlag.strictatime }, nostrictatime: { clear: true, flag: MountFlag.strictatime },
  remount: { clear: false, flag: MountFlag.remount },
  bind: { clear: false, flag: MountFlag.bind }, rbind: { clear: false, flag: MountFlag.bind | MountFlag.recursive },
};

const propagation: Readonly<Record<string, number>> = {
  private: MountFlag.private, rprivate: MountFlag.private | MountFlag.recursive,
  shared: MountFlag.shared, rshared: MountFlag.shared | MountFlag.recursive,
  slave: MountFlag.slave, rslave: MountFlag.slave | MountFlag.recursive,
  unbindable: MountFlag.unbindable, runbindable: MountFlag.unbindable | MountFlag.recursive,
};

/** Options runc understands but that need no flag here (SELinux relabelling, tmpfs copy-up, id mapping). */
const ignored = new Set(['z', 'Z', 'tmpcopyup', 'idmap', 'ridmap']);

export interface MountOptions {
  readonly flags: number;
  readonly propagation: readonly number[];
  readonly data: string;
}

export function parseMountOptions(options: readonly string[]): MountOptions {
  let flags = 0;
  const propagations: number[] = [];
  const data: string[] = [];
  for (const option of options) {
    const known = settable[option];
    if (known !== undefined) {
      flags = known.clear ? flags & ~known.flag : flags | known.flag;
    } else if (propagation[option] !== undefined) {
      propagations.push(propagation[option]);
    } else if (!ignored.has(option)) {
      data.push(option);
    }
  }
  return { flags, propagation: propagations, data: data.join(',') };
}

export function propagationFlags(name: string): number | undefined {
  return propagation[name];
}

export function isBindMount(type: string, options: MountOptions): boolean {
  return type === 'bind' || (options.flags & MountFlag.bind) !== 0;
}

export function hex(value: number | bigint): string {
  return value.toString(16);
}
