import type { SeccompCondition, SeccompProfile } from './seccomp.js';

/** One classic BPF instruction (struct sock_filter). */
export interface BpfInstruction {
  readonly code: number;
  readonly jt: number;
  readonly jf: number;
  readonly k: number;
}

// linux/bpf_common.h
const LD_W_ABS = 0x20;
const ALU_AND_K = 0x54;
const JMP_JEQ_K = 0x15;
const JMP_JGT_K = 0x25;
const JMP_JGE_K = 0x35;
const RET_K = 0x06;

const AUDIT_ARCH_X86_64 = 0xc000_003e;
const X32_SYSCALL_BIT = 0x4000_0000;
const RET_KILL_PROCESS = 0x8000_0000;
const jumpMax = 255;

/** struct seccomp_data offsets: nr, arch, then args[6] as 64-bit little-endian words from 16. */
const offsetNr = 0;
const offsetArch = 4;
const argLow = (index: number): number => 16 + 8 * index;
const argHigh = (index: number): number => 20 + 8 * index;

type Target = number | string; // a label, or 0 for "next instruction"

interface Symbolic {
  readonly code: number;
  readonly k: number;
  readonly jt: Target;
  readonly jf: Target;
}

/** A tiny assembler: instructions with forward jumps to labels, resolved to the 8-bit offsets BPF takes. */
class Program {
  readonly #instructions: Symbolic[] = [];
  readonly #labels = new Map<string, number>();
  #counter = 0;

  label(prefix: string): string {
    this.#counter += 1;
    return `${prefix}${this.#counter}`;
  }

  place(label: string): void {
    this.#labels.set(label, this.#instructions.length);
  }

  load(offset: number): void {
    this.#instructions.push({ code: LD_W_ABS, k: offset, jt: 0, jf: 0 });
  }

  and(mask: number): void {
    this.#instructions.push({ code: ALU_AND_K, k: mask >>> 0, jt: 0, jf: 0 });
  }

  jump(code: number, k: number, jt: Target, jf: Target): void {
    this.#instructions.push({ code, k: k >>> 0, jt, jf });
  }

  ret(value: number): void {
    this.#instructions.push({ code: RET_K, k: value >>> 0, jt: 0, jf: 0 });
  }

  resolve(): BpfInstruction[] {
    return this.#instructions.map((instruction, index) => {
      const offset = (target: Target): number => {
        if (typeof target === 'number') return target;
        const position = this.#labels.get(target);
        if (position === undefined || position <= index) throw new Error(`seccomp: unresolved or backward jump to ${target}`);
        const distance = position - index - 1;
        if (distance > jumpMax) throw new Error(`seccomp: a rule is too long for a BPF jump (${distance} instructions)`);
        return distance;
      };
      return { code: instruction.code, k: instruction.k, jt: offset(instruction.jt), jf: offset(instruction.jf) };
    });
  }
}

const high = (value: bigint): number => Number((value >> 32n) & 0xffff_ffffn);
const low = (value: bigint): number => Number(value & 0xffff_ffffn);

/** Falls through when the 64-bit argument satisfies the condition, jumps to `fail` otherwise. */
function emitCondition(program: Program, condition: SeccompCondition, fail: string): void {
  const { index, value, valueTwo } = condition;
  const pass = program.label('pass');
  const lowWord = program.label('low');
  switch (condition.op) {
    case 'SCMP_CMP_EQ':
    case 'SCMP_CMP_MASKED_EQ': {
      const masked = condition.op === 'SCMP_CMP_MASKED_EQ';
      const expected = masked ? valueTwo : value;
      program.load(argHigh(index));
      if (masked) program.and(high(value));
      program.jump(JMP_JEQ_K, high(expected), 0, fail);
      program.load(argLow(index));
      if (masked) program.and(low(value));
      program.jump(JMP_JEQ_K, low(expected), pass, fail);
      break;
    }
    case 'SCMP_CMP_NE':
      program.load(argHigh(index));
      program.jump(JMP_JEQ_K, high(value), 0, pass);
      program.load(argLow(index));
      program.jump(JMP_JEQ_K, low(value), fail, pass);
      break;
    case 'SCMP_CMP_GT':
    case 'SCMP_CMP_GE':
      program.load(argHigh(index));
      program.jump(JMP_JGT_K, high(value), pass, 0);
      program.jump(JMP_JEQ_K, high(value), lowWord, fail);
      program.place(lowWord);
      program.load(argLow(index));
      program.jump(condition.op === 'SCMP_CMP_GT' ? JMP_JGT_K : JMP_JGE_K, low(value), pass, fail);
      break;
    case 'SCMP_CMP_LT':
    case 'SCMP_CMP_LE':
      program.load(argHigh(index));
      program.jump(JMP_JGE_K, high(value), 0, pass);
      program.jump(JMP_JEQ_K, high(value), lowWord, fail);
      program.place(lowWord);
      program.load(argLow(index));
      program.jump(condition.op === 'SCMP_CMP_LT' ? JMP_JGE_K : JMP_JGT_K, low(value), fail, pass);
      break;
  }
  program.place(pass);
}

/**
 * Compiles a profile to a seccomp filter: other architectures and x32 calls are killed, then each rule in order
 * (one syscall number at a time; its conditions all hold) returns its action, and anything else the default.
 */
export function compileSeccomp(profile: SeccompProfile): BpfInstruction[] {
  const program = new Program();
  const native = program.label('native');
  const notX32 = program.label('notx32');
  program.load(offsetArch);
  program.jump(JMP_JEQ_K, AUDIT_ARCH_X86_64, native, 0);
  program.ret(RET_KILL_PROCESS);
  program.place(native);
  program.load(offsetNr);
  program.jump(JMP_JGE_K, X32_SYSCALL_BIT, 0, notX32);
  program.ret(RET_KILL_PROCESS);
  program.place(notX32);
  for (const rule of profile.rules) {
    for (const number of rule.numbers) {
      const next = program.label('next');
      program.jump(JMP_JEQ_K, number, 0, next);
      for (const condition of rule.conditions) emitCondition(program, condition, next);
      program.ret(rule.action);
      program.place(next);
      if (rule.conditions.length > 0) program.load(offsetNr); // the conditions left an argument in A
    }
  }
  program.ret(profile.defaultAction);
  return program.resolve();
}

/** The filter as the C helper's `seccomp` step reads it: 16 hex digits per instruction (code, jt, jf, k). */
export function encodeFilter(instructions: readonly BpfInstruction[]): string {
  return instructions.map((instruction) =>
    instruction.code.toString(16).padStart(4, '0') + instruction.jt.toString(16).padStart(2, '0')
    + instruction.jf.toString(16).padStart(2, '0') + instruction.k.toString(16).padStart(8, '0')).join('');
}
