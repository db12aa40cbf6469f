import t from 'tap';
import { SpecError } from '../../src/runtime/errors.js';
import { compileSeccomp, encodeFilter, type BpfInstruction } from '../../src/runtime/seccomp-bpf.js';
import { readSeccomp, type SeccompCondition } from '../../src/runtime/seccomp.js';

const archX8664 = 0xc000_003e;

/** A classic-BPF interpreter for the instructions the compiler emits (the kernel's semantics, naively). */
function evaluate(program: readonly BpfInstruction[], data: { nr: number; arch?: number; args?: readonly bigint[] }): number {
  const word = (offset: number): number => {
    if (offset === 0) return data.nr >>> 0;
    if (offset === 4) return (data.arch ?? archX8664) >>> 0;
    const index = Math.floor((offset - 16) / 8);
    const arg = data.args?.[index] ?? 0n;
    return Number((offset - 16) % 8 === 0 ? arg & 0xffff_ffffn : arg >> 32n) >>> 0;
  };
  let accumulator = 0;
  for (let pc = 0, steps = 0; pc < program.length && steps < 10_000; steps += 1) {
    const { code, jt, jf, k } = program[pc] as BpfInstruction;
    switch (code) {
      case 0x20: accumulator = word(k); pc += 1; break;
      case 0x54: accumulator = (accumulator & k) >>> 0; pc += 1; break;
      case 0x15: pc += 1 + (accumulator === k ? jt : jf); break;
      case 0x25: pc += 1 + (accumulator > k ? jt : jf); break;
      case 0x35: pc += 1 + (accumulator >= k ? jt : jf); break;
      case 0x06: return k;
      default: throw new Error(`unexpected instruction ${code}`);
    }
  }
  throw new Error('program fell off its end');
}

const allow = 0x7fff_0000;
const errno = (value: number): number => 0x0005_0000 | value;

t.test('rules by syscall, first match wins, default otherwise; foreign architectures and x32 are killed', async (t) => {
  const profile = readSeccomp({
    defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 38, architectures: ['SCMP_ARCH_X86_64'],
    syscalls: [
      { names: ['read', 'write', 'no_such_call'], action: 'SCMP_ACT_ALLOW' },
      { names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 8, op: 'SCMP_CMP_EQ' }] },
      { names: ['personality'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 },
    ],
  });
  if (profile === undefined) throw new Error('no profile');
  const program = compileSeccomp(profile);
  t.equal(evaluate(program, { nr: 0 }), allow, 'read');
  t.equal(evaluate(program, { nr: 1 }), allow, 'write');
  t.equal(evaluate(program, { nr: 2 }), errno(38), 'open: the default');
  t.equal(evaluate(program, { nr: 135, args: [8n] }), allow, 'personality(8)');
  t.equal(evaluate(program, { nr: 135, args: [0x40000n] }), errno(13), 'personality(other)');
  t.equal(evaluate(program, { nr: 135, args: [8n | (1n << 32n)] }), errno(13), 'the high word counts');
  t.equal(evaluate(program, { nr: 0, arch: 0x4000_0003 }), 0x8000_0000, 'i386 killed');
  t.equal(evaluate(program, { nr: 0x4000_0000 }), 0x8000_0000, 'x32 killed');
  t.match(encodeFilter(program.slice(0, 1)), /^0020000000000004$/);
});

t.test('64-bit comparisons agree with a BigInt reference on edge and random values', async (t) => {
  const interesting = [0n, 1n, 0x7fff_ffffn, 0xffff_ffffn, 0x1_0000_0000n, 0x1_0000_0001n, 0xffff_ffff_0000_0000n, 0xffff_ffff_ffff_ffffn];
  let seed = 12345;
  const random = (): bigint => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    const high = BigInt(seed) << 33n;
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return (high ^ BigInt(seed)) & 0xffff_ffff_ffff_ffffn;
  };
  const values = [...interesting, ...Array.from({ length: 12 }, random)];
  const reference: Record<SeccompCondition['op'], (arg: bigint, value: bigint, valueTwo: bigint) => boolean> = {
    SCMP_CMP_EQ: (a, v) => a === v, SCMP_CMP_NE: (a, v) => a !== v, SCMP_CMP_LT: (a, v) => a < v, SCMP_CMP_LE: (a, v) => a <= v,
    SCMP_CMP_GT: (a, v) => a > v, SCMP_CMP_GE: (a, v) => a >= v, SCMP_CMP_MASKED_EQ: (a, v, w) => (a & v) === w,
  };
  let mismatches = 0;
  let checked = 0;
  for (const op of Object.keys(reference) as SeccompCondition['op'][]) {
    for (const value of values) {
      const valueTwo = value & 0xf0f0_f0f0_f0f0_f0f0n;
      const program = compileSeccomp({ defaultAction: allow, rules: [{ numbers: [7], action: errno(1), conditions: [{ index: 3, op, value, valueTwo }] }] });
      for (const arg of values) {
        checked += 1;
        const denied = evaluate(program, { nr: 7, args: [0n, 0n, 0n, arg] }) === errno(1);
        if (denied !== reference[op](arg, value, valueTwo)) mismatches += 1;
      }
    }
  }
  t.equal(mismatches, 0, `${checked} comparisons, seed 12345`);
});

t.test('profiles berth-runtime cannot enforce exactly are refused, naming the field', async (t) => {
  t.throws(() => readSeccomp({ defaultAction: 'SCMP_ACT_NOTIFY' }), new SpecError('linux.seccomp.defaultAction', '"SCMP_ACT_NOTIFY" is not a seccomp action berth-runtime supports'));
  t.throws(() => readSeccomp({ defaultAction: 'SCMP_ACT_ALLOW', listenerPath: '/x' }), /linux\.seccomp\.listenerPath/);
  t.throws(() => readSeccomp({ defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_AARCH64'] }), /does not include this host's/);
  t.throws(() => readSeccomp({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW', args: [{ index: 6, value: 1, op: 'SCMP_CMP_EQ' }] }] }), /syscalls\[0\]\.args\[0\]\.index/);
  t.throws(() => readSeccomp({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 1, op: 'SCMP_CMP_SIMILAR' }] }] }), /unknown comparison/);
  t.throws(() => readSeccomp({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: [], action: 'SCMP_ACT_ALLOW' }] }), /names: must not be empty/);
});
