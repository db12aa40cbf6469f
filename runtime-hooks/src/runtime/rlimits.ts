/** RLIMIT_* names as the runtime-spec writes them, mapped to Linux resource numbers (asm-generic/resource.h). */
const resourceNumbers: Readonly<Record<string, number>> = {
  RLIMIT_CPU: 0, RLIMIT_FSIZE: 1, RLIMIT_DATA: 2, RLIMIT_STACK: 3, RLIMIT_CORE: 4, RLIMIT_RSS: 5, RLIMIT_NPROC: 6,
  RLIMIT_NOFILE: 7, RLIMIT_MEMLOCK: 8, RLIMIT_AS: 9, RLIMIT_LOCKS: 10, RLIMIT_SIGPENDING: 11, RLIMIT_MSGQUEUE: 12,
  RLIMIT_NICE: 13, RLIMIT_RTPRIO: 14, RLIMIT_RTTIME: 15,
};

export function rlimitNumber(type: string): number | undefined {
  return Object.hasOwn(resourceNumbers, type) ? resourceNumbers[type] : undefined;
}

/** RLIM_INFINITY: the spec's "unlimited" is the all-ones 64-bit value. */
export const rlimitInfinity = 0xffff_ffff_ffff_ffffn;
