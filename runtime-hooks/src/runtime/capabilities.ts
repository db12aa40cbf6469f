/** Linux capability names (include/uapi/linux/capability.h), index = capability number. */
const capabilityNames = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE', 'CAP_NET_BROADCAST', 'CAP_NET_ADMIN',
  'CAP_NET_RAW', 'CAP_IPC_LOCK', 'CAP_IPC_OWNER', 'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT', 'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE', 'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL', 'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG', 'CAP_WAKE_ALARM', 'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ',
  'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
] as const;

const numberByName = new Map<string, number>(capabilityNames.map((name, index) => [name, index]));

export function isCapabilityName(name: string): boolean {
  return numberByName.has(name);
}

/** The bit mask of a list of (validated) capability names, as the kernel's 64-bit capability sets. */
export function capabilityMask(names: readonly string[]): bigint {
  let mask = 0n;
  for (const name of names) {
    const bit = numberByName.get(name);
    if (bit === undefined) throw new TypeError(`capabilityMask: unknown capability ${name}`);
    mask |= 1n << BigInt(bit);
  }
  return mask;
}

/** The capability names of a mask, lowest first (for reading /proc/PID/status in tests and tools). */
export function capabilityNamesOf(mask: bigint): string[] {
  return capabilityNames.filter((_, index) => (mask >> BigInt(index)) & 1n);
}
