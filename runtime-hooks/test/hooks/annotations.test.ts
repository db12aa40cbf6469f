import t from 'tap';
import { parseContainerSpec } from '../../src/hooks/annotations.js';
import { HookError } from '../../src/hooks/errors.js';
import { parseOciState } from '../../src/hooks/oci-state.js';

function problem(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return error instanceof HookError ? `${error.code}: ${error.message}` : `not a HookError: ${String(error)}`;
  }
  return undefined;
}

t.test('annotations: what each berth.* annotation becomes', async (t) => {
  const spec = parseContainerSpec({
    'berth.network': 'web', 'berth.service': 'shop', 'berth.namespace': 'prod', 'berth.name': 'web-1',
    'berth.ports': JSON.stringify([{ hostPort: 8080, containerPort: 80 }, { HostPort: 5353, ContainerPort: 53, Protocol: 'UDP', HostIP: '127.0.0.1' }]),
    'berth.labels': JSON.stringify({ app: 'web', 'example.com/tier': 'front' }),
    'berth.ips': JSON.stringify(['10.89.0.7', 'fd00::7/64']), 'berth.secrets': JSON.stringify(['db.password']),
    'org.example.other': 'ignored',
  });
  t.same(spec, {
    network: { kind: 'cni', name: 'web' }, service: 'shop', namespace: 'prod', name: 'web-1',
    portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }, { hostPort: 5353, containerPort: 53, protocol: 'udp', hostIP: '127.0.0.1' }],
    labels: { app: 'web', 'example.com/tier': 'front' }, ips: ['10.89.0.7', 'fd00::7/64'], secrets: ['db.password'],
  });
  t.same(parseContainerSpec({}), { network: { kind: 'absent' }, service: undefined, namespace: 'default', name: undefined, portMappings: [], ips: [], labels: {}, secrets: [] }, 'no annotation: nothing to do');
  t.same(parseContainerSpec({ 'berth.network': 'none' }).network, { kind: 'none' });
  t.same(parseContainerSpec({ 'berth.network': 'host' }).network, { kind: 'host' });
});

t.test('annotations: hostile or malformed values are refused with the annotation named', async (t) => {
  const cases: [string, Record<string, string>, RegExp][] = [
    ['network with a slash', { 'berth.network': '../etc/passwd' }, /berth\.network: .* is not a network name/],
    ['ports not JSON', { 'berth.network': 'n', 'berth.ports': '8080:80' }, /berth\.ports: not JSON/],
    ['port out of range', { 'berth.network': 'n', 'berth.ports': '[{"hostPort":70000,"containerPort":80}]' }, /hostPort must be an integer 1-65535/],
    ['port protocol', { 'berth.network': 'n', 'berth.ports': '[{"hostPort":1,"containerPort":1,"protocol":"icmp"}]' }, /protocol "icmp"/],
    ['port host IP', { 'berth.network': 'n', 'berth.ports': '[{"hostPort":1,"containerPort":1,"hostIP":"x; rm"}]' }, /hostIP .* is not an IP address/],
    ['ports without a network', { 'berth.ports': '[{"hostPort":1,"containerPort":1}]' }, /needs a CNI network/],
    ['ports on none', { 'berth.network': 'none', 'berth.ports': '[{"hostPort":1,"containerPort":1}]' }, /needs a CNI network/],
    ['too many ports', { 'berth.network': 'n', 'berth.ports': JSON.stringify(Array.from({ length: 257 }, () => ({ hostPort: 1, containerPort: 1 }))) }, /at most 256/],
    ['labels a list', { 'berth.labels': '["a"]' }, /berth\.labels: expected a JSON object/],
    ['label value not a string', { 'berth.labels': '{"a":1}' }, /value of a must be a label value/],
    ['label key bad', { 'berth.labels': '{"-a":"b"}' }, /key "-a" is not a valid label key/],
    ['ips garbage', { 'berth.network': 'n', 'berth.ips': '["10.0.0.300"]' }, /berth\.ips: .* is not an IP address/],
    ['service name', { 'berth.service': 'a b' }, /berth\.service: .* is not a service name/],
    ['namespace', { 'berth.namespace': 'Prod_1' }, /berth\.namespace: .* is not a namespace name/],
    ['endpoint name', { 'berth.name': 'Web_1' }, /berth\.name: "Web_1" is not an endpoint name/],
    ['endpoint name with an empty label', { 'berth.name': 'web..1' }, /berth\.name: "web\.\.1" is not an endpoint name/],
    ['secret name', { 'berth.service': 's', 'berth.secrets': '["../x"]' }, /berth\.secrets: "\.\.\/x" is not a secret name/],
    ['secrets without service', { 'berth.secrets': '["x"]' }, /set berth\.service too/],
  ];
  for (const [name, annotations, expected] of cases) {
    t.match(problem(() => parseContainerSpec(annotations)), new RegExp(`^INVALID_ANNOTATION: Invalid annotation (berth\\.\\w+: .*)?${expected.source}`), name);
  }
});

t.test('OCI state: the runtime\'s JSON is checked before anything is done', async (t) => {
  const good = { ociVersion: '1.0.2', id: 'abc-1', status: 'created', pid: 42, bundle: '/var/lib/b', annotations: { 'berth.network': 'n' } };
  t.same(parseOciState(JSON.stringify(good)), { id: 'abc-1', pid: 42, bundle: '/var/lib/b', status: 'created', annotations: { 'berth.network': 'n' } });
  t.equal(parseOciState(JSON.stringify({ ...good, pid: undefined })).pid, 0, 'no pid (poststop) is 0');
  const cases: [string, string, RegExp][] = [
    ['not JSON', '{', /not JSON/],
    ['an array', '[]', /expected a JSON object/],
    ['id with a slash', JSON.stringify({ ...good, id: '../../etc' }), /"id"/],
    ['id too long', JSON.stringify({ ...good, id: 'a'.repeat(2000) }), /"id"/],
    ['negative pid', JSON.stringify({ ...good, pid: -1 }), /"pid"/],
    ['relative bundle', JSON.stringify({ ...good, bundle: 'rel' }), /"bundle"/],
    ['annotation not a string', JSON.stringify({ ...good, annotations: { a: 1 } }), /annotation "a"/],
    ['too large', JSON.stringify({ ...good, pad: 'x'.repeat(1024 * 1024) }), /larger than/],
  ];
  for (const [name, text, expected] of cases) t.match(problem(() => parseOciState(text)), new RegExp(`^INVALID_INPUT: Invalid OCI state on stdin: .*${expected.source}`), name);
});
