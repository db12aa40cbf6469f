import { readFileSync } from 'node:fs';
import { checkEqual, type Scenario } from '../scenario.js';
import { runSucceeding } from './lifecycle.js';

interface EngineRule {
  readonly names: readonly string[];
  readonly action: string;
  readonly args?: readonly unknown[] | null;
  readonly errnoRet?: number;
  readonly includes?: { readonly arches?: readonly string[]; readonly caps?: readonly string[]; readonly minKernel?: string };
  readonly excludes?: { readonly arches?: readonly string[]; readonly caps?: readonly string[] };
}

/**
 * podman's default profile (containers-common's seccomp.json, an engine format) turned into the OCI profile an
 * engine hands a runtime for an amd64 container with runc's three default capabilities, as podman does.
 */
function podmanDefaultProfile(capabilities: readonly string[]): Record<string, unknown> {
  const engine = JSON.parse(readFileSync('/usr/share/containers/seccomp.json', 'utf8')) as { defaultAction: string; defaultErrnoRet?: number; syscalls: EngineRule[] };
  const applies = (rule: EngineRule): boolean => {
    const arches = rule.includes?.arches ?? [];
    const caps = rule.includes?.caps ?? [];
    return (arches.length === 0 || arches.includes('amd64')) && caps.every((cap) => capabilities.includes(cap))
      && !(rule.excludes?.arches ?? []).includes('amd64') && !(rule.excludes?.caps ?? []).some((cap) => capabilities.includes(cap));
  };
  return {
    defaultAction: engine.defaultAction,
    ...(engine.defaultErrnoRet !== undefined ? { defaultErrnoRet: engine.defaultErrnoRet } : {}),
    architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
    syscalls: engine.syscalls.filter(applies).map((rule) => ({
      names: rule.names, action: rule.action, args: rule.args ?? [], ...(rule.errnoRet !== undefined ? { errnoRet: rule.errnoRet } : {}),
    })),
  };
}

export const seccompScenarios: readonly Scenario[] = [
  {
    name: 'seccomp: podman\'s default profile (deny by default): the container works',
    async run(context) {
      // Everything busybox needs here is on the allow list (personality only for the listed values); the process
      // runs in filter mode (Seccomp: 2). The next scenario shows the denials.
      const script = 'echo alive; mkdir /tmp/d && echo mkdir-ok; linux32 true && echo personality-8-ok; grep "^Seccomp:" /proc/self/status';
      const result = await runSucceeding(context, ['sh', '-c', script], (config) => {
        config.linux['seccomp'] = podmanDefaultProfile(['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE']);
      });
      checkEqual(result.stdout, 'alive\nmkdir-ok\npersonality-8-ok\nSeccomp:\t2\n', 'allowed calls work, in seccomp filter mode');
    },
  },
  {
    name: 'seccomp: a deny list with errno and argument comparisons',
    async run(context) {
      const script = 'mkdir /tmp/d 2>&1 | sed "s/.*: //"; touch /tmp/f; chmod 755 /tmp/f && echo chmod-755-ok; chmod 777 /tmp/f 2>&1 | sed "s/.*: //"; '
        + 'chmod 600 /tmp/f 2>&1 | sed "s/.*: //"; stat -c %a /tmp/f';
      const result = await runSucceeding(context, ['sh', '-c', script], (config) => {
        config.linux['seccomp'] = {
          defaultAction: 'SCMP_ACT_ALLOW',
          architectures: ['SCMP_ARCH_X86_64'],
          syscalls: [
            { names: ['mkdir', 'mkdirat', 'no_such_syscall'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 },
            { names: ['chmod', 'fchmod'], action: 'SCMP_ACT_ERRNO', args: [{ index: 1, value: 0o777, op: 'SCMP_CMP_EQ' }] },
            { names: ['fchmodat'], action: 'SCMP_ACT_ERRNO', args: [{ index: 2, value: 0o777, op: 'SCMP_CMP_EQ' }] },
            { names: ['chmod', 'fchmod'], action: 'SCMP_ACT_ERRNO', errnoRet: 22, args: [{ index: 1, value: 0o700, op: 'SCMP_CMP_LT' }] },
            { names: ['fchmodat'], action: 'SCMP_ACT_ERRNO', errnoRet: 22, args: [{ index: 2, value: 0o700, op: 'SCMP_CMP_LT' }] },
          ],
        };
      });
      checkEqual(result.stdout, 'Permission denied\nchmod-755-ok\nOperation not permitted\nInvalid argument\n755\n', 'denied calls fail with the profile\'s errno');
    },
  },
];
