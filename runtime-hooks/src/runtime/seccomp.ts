import { SpecError } from './errors.js';
import { arrayAt, integerAt, objectAt, optionalObject, stringAt, stringsAt, type Json } from './json-fields.js';
import { syscallNumber } from './syscalls-x86_64.js';

/** linux.seccomp after validation: actions as the kernel's SECCOMP_RET_* values, conditions as 64-bit numbers. */
export interface SeccompCondition {
  readonly index: number;
  readonly op: 'SCMP_CMP_NE' | 'SCMP_CMP_LT' | 'SCMP_CMP_LE' | 'SCMP_CMP_EQ' | 'SCMP_CMP_GE' | 'SCMP_CMP_GT' | 'SCMP_CMP_MASKED_EQ';
  readonly value: bigint;
  readonly valueTwo: bigint;
}

export interface SeccompRule {
  readonly numbers: readonly number[];
  readonly action: number;
  readonly conditions: readonly SeccompCondition[];
}

export interface SeccompProfile {
  readonly defaultAction: number;
  readonly rules: readonly SeccompRule[];
}

const errnoDefault = 1; // EPERM, as runc
const operators = new Set(['SCMP_CMP_NE', 'SCMP_CMP_LT', 'SCMP_CMP_LE', 'SCMP_CMP_EQ', 'SCMP_CMP_GE', 'SCMP_CMP_GT', 'SCMP_CMP_MASKED_EQ']);
const nativeArchitectures = new Set(['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);

/** An action name (with its errnoRet) as the 32-bit value a filter returns. NOTIFY needs a listener: refused. */
function actionValue(name: string, errnoRet: number | undefined, field: string): number {
  const data = (errnoRet ?? errnoDefault) & 0xffff;
  switch (name) {
    case 'SCMP_ACT_KILL': case 'SCMP_ACT_KILL_THREAD': return 0x0000_0000;
    case 'SCMP_ACT_KILL_PROCESS': return 0x8000_0000;
    case 'SCMP_ACT_TRAP': return 0x0003_0000;
    case 'SCMP_ACT_ERRNO': return 0x0005_0000 | data;
    case 'SCMP_ACT_TRACE': return 0x7ff0_0000 | data;
    case 'SCMP_ACT_LOG': return 0x7ffc_0000;
    case 'SCMP_ACT_ALLOW': return 0x7fff_0000;
    default: throw new SpecError(field, `${JSON.stringify(name)} is not a seccomp action berth-runtime supports`);
  }
}

function bigValue(value: Json, field: string): bigint {
  if (value === undefined || value === null) return 0n;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) throw new SpecError(field, 'must be a non-negative integer');
  return BigInt(value) & 0xffff_ffff_ffff_ffffn;
}

/**
 * Reads linux.seccomp. Syscall names this kernel does not know are skipped, as runc (libseccomp) does; the profile
 * is enforced for x86_64 only (any other architecture's calls, x32 included, kill the process).
 */
export function readSeccomp(value: Json): SeccompProfile | undefined {
  const seccomp = optionalObject(value, 'linux.seccomp');
  if (seccomp === undefined) return undefined;
  if (process.arch !== 'x64') throw new SpecError('linux.seccomp', `seccomp profiles are supported on x86_64 only, not ${process.arch}`);
  if (seccomp['listenerPath'] !== undefined) throw new SpecError('linux.seccomp.listenerPath', 'seccomp notification is not supported');
  const architectures = stringsAt(seccomp['architectures'], 'linux.seccomp.architectures');
  if (architectures.length > 0 && !architectures.some((name) => nativeArchitectures.has(name))) {
    throw new SpecError('linux.seccomp.architectures', `${architectures.join(', ')} does not include this host's (SCMP_ARCH_X86_64)`);
  }
  const defaultErrno = seccomp['defaultErrnoRet'] === undefined ? undefined : integerAt(seccomp['defaultErrnoRet'], 'linux.seccomp.defaultErrnoRet', 4095);
  return {
    defaultAction: actionValue(stringAt(seccomp['defaultAction'], 'linux.seccomp.defaultAction'), defaultErrno, 'linux.seccomp.defaultAction'),
    rules: arrayAt(seccomp['syscalls'], 'linux.seccomp.syscalls').map((item, index) => {
      const field = `linux.seccomp.syscalls[${index}]`;
      const rule = objectAt(item, field);
      const errnoRet = rule['errnoRet'] === undefined ? undefined : integerAt(rule['errnoRet'], `${field}.errnoRet`, 4095);
      const names = stringsAt(rule['names'], `${field}.names`);
      if (names.length === 0) throw new SpecError(`${field}.names`, 'must not be empty');
      return {
        numbers: names.flatMap((name) => syscallNumber(name) ?? []),
        action: actionValue(stringAt(rule['action'], `${field}.action`), errnoRet, `${field}.action`),
        conditions: arrayAt(rule['args'], `${field}.args`).map((arg, argIndex): SeccompCondition => {
          const argField = `${field}.args[${argIndex}]`;
          const condition = objectAt(arg, argField);
          const op = stringAt(condition['op'], `${argField}.op`);
          if (!operators.has(op)) throw new SpecError(`${argField}.op`, `unknown comparison ${JSON.stringify(op)}`);
          return {
            index: integerAt(condition['index'], `${argField}.index`, 5),
            op: op as SeccompCondition['op'],
            value: bigValue(condition['value'], `${argField}.value`),
            valueTwo: bigValue(condition['valueTwo'], `${argField}.valueTwo`),
          };
        }),
      };
    }),
  };
}
