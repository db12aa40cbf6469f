import t from 'tap';
import { CniError } from '../../src/errors.js';
import { configBytesMax, parsePluginConfig } from '../../src/spec/config.js';
import type { CniCommand } from '../../src/spec/env.js';
import { optionalBoolean } from '../../src/spec/fields.js';

const base = { cniVersion: '1.1.0', name: 'net1', type: 'berth-bridge' };

function parse(value: unknown, command: CniCommand = 'ADD') {
  return parsePluginConfig(typeof value === 'string' ? value : JSON.stringify(value), { command });
}

function failure(value: unknown, command: CniCommand = 'ADD'): { code: number; message: string } {
  try {
    parse(value, command);
  } catch (error) {
    if (error instanceof CniError) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error('expected a CniError');
}

t.test('every supported version parses; unknown or missing versions are code 1', async (t) => {
  for (const cniVersion of ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0']) {
    t.equal(parse({ ...base, cniVersion }).cniVersion, cniVersion, `${cniVersion} is accepted`);
  }
  for (const cniVersion of ['0.1.0', '0.2.0', '1.2.0', '2.0.0', 'latest', '1.1']) {
    t.equal(failure({ ...base, cniVersion }).code, 1, `${cniVersion} is code 1`);
  }
  const { cniVersion: _omitted, ...noVersion } = base;
  t.equal(failure(noVersion).code, 1, 'no cniVersion means 0.1.0, which is not supported');
  t.equal(failure({ ...base, cniVersion: 1 }).code, 7, 'a non-string cniVersion is a type error');
});

t.test('CHECK needs 0.4.0, STATUS and GC need 1.1.0 (code 1)', async (t) => {
  t.equal(failure({ ...base, cniVersion: '0.3.1' }, 'CHECK').code, 1);
  t.match(failure({ ...base, cniVersion: '0.3.1' }, 'CHECK').message, /does not allow CHECK/);
  t.equal(parse({ ...base, cniVersion: '0.4.0' }, 'CHECK').cniVersion, '0.4.0');
  for (const command of ['STATUS', 'GC'] as const) {
    t.equal(failure({ ...base, cniVersion: '1.0.0' }, command).code, 1, `${command} on 1.0.0 is code 1`);
    t.equal(parse({ ...base, 'cni.dev/valid-attachments': [] }, command).cniVersion, '1.1.0');
  }
});

t.test('a plugin that supports fewer versions refuses the others', async (t) => {
  t.throws(() => parsePluginConfig(JSON.stringify(base), { command: 'ADD', supportedVersions: ['0.4.0'] }), { code: 1 });
});

t.test('oversized, malformed and non-object stdin is code 6', async (t) => {
  const padding = 'x'.repeat(configBytesMax);
  t.equal(failure({ ...base, padding }).code, 6, 'over the size cap');
  t.equal(failure('{"cniVersion":').code, 6, 'truncated JSON');
  t.equal(failure('').code, 6, 'empty stdin');
  t.equal(failure('[1,2]').code, 6, 'an array');
  t.equal(failure('null').code, 6, 'null');
});

t.test('wrong types are code 7 and the message names the field', async (t) => {
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['name is a number', { ...base, name: 5 }, /"name"/],
    ['name missing', { cniVersion: '1.1.0', type: 'x' }, /"name" is required/],
    ['name with a slash', { ...base, name: 'a/b' }, /"name"/],
    ['type missing', { cniVersion: '1.1.0', name: 'n' }, /"type" is required/],
    ['type is a path', { ...base, type: '../../bin/sh' }, /"type"/],
    ['ipam is a string', { ...base, ipam: 'host-local' }, /"ipam" must be an object/],
    ['ipam.type is a number', { ...base, ipam: { type: 3 } }, /"ipam.type"/],
    ['prevResult is an array', { ...base, prevResult: [] }, /"prevResult" must be an object/],
    ['prevResult ip without address', { ...base, prevResult: { ips: [{ gateway: '10.0.0.1' }] } }, /"prevResult.ips\[0\].address" is required/],
    ['prevResult address not CIDR', { ...base, prevResult: { ips: [{ address: '10.0.0.5' }] } }, /"prevResult.ips\[0\].address"/],
    ['prevResult interface out of range', { ...base, prevResult: { interfaces: [{ name: 'eth0' }], ips: [{ address: '10.0.0.5/24', interface: 1 }] } }, /interface/],
    ['dns.nameservers is a string', { ...base, dns: { nameservers: '1.1.1.1' } }, /"dns.nameservers"/],
    ['portMappings hostPort is a string', { ...base, runtimeConfig: { portMappings: [{ hostPort: '80', containerPort: 80 }] } }, /"runtimeConfig.portMappings\[0\].hostPort"/],
    ['portMappings hostPort out of range', { ...base, runtimeConfig: { portMappings: [{ hostPort: 70000, containerPort: 80 }] } }, /hostPort/],
    ['runtimeConfig.ips not strings', { ...base, runtimeConfig: { ips: [1] } }, /"runtimeConfig.ips\[0\]"/],
    ['ipRanges not a list of lists', { ...base, runtimeConfig: { ipRanges: [{ subnet: '10.0.0.0/24' }] } }, /"runtimeConfig.ipRanges\[0\]"/],
    ['capabilities not booleans', { ...base, capabilities: { portMappings: 'yes' } }, /"capabilities.portMappings"/],
    ['valid-attachments entry without ifname', { ...base, 'cni.dev/valid-attachments': [{ containerID: 'a' }] }, /valid-attachments\[0\].ifname/],
  ];
  for (const [label, value, message] of cases) {
    const { code, message: text } = failure(value);
    t.equal(code, 7, `${label}: code 7`);
    t.match(text, message, `${label}: names the field`);
  }
});

t.test('GC without cni.dev/valid-attachments is refused (code 7), whatever the plugin', async (t) => {
  t.throws(() => parse(base, 'GC'), { code: 7, message: /"cni\.dev\/valid-attachments" is required for GC; nothing was collected/ });
  t.equal(parse({ ...base, 'cni.dev/valid-attachments': [] }, 'GC').validAttachments?.length, 0, 'an empty list is a list');
});

t.test('capability arguments are typed; unknown ones (bandwidth) stay in raw', async (t) => {
  const config = parse({
    ...base,
    runtimeConfig: {
      portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'TCP', hostIP: '127.0.0.1' }, { hostPort: 53, containerPort: 53, protocol: 'udp' }],
      ips: ['10.0.0.5/24'], mac: 'c2:11:22:33:44:55',
      ipRanges: [[{ subnet: '10.1.0.0/24', rangeStart: '10.1.0.10' }]],
      dns: { servers: ['10.0.0.10'], searches: ['corp'] },
      bandwidth: { ingressRate: 1 },
    },
    args: { cni: { ips: ['10.0.0.6'] }, other: true },
  });
  t.same(config.runtimeConfig.portMappings, [
    { hostPort: 8080, containerPort: 80, protocol: 'tcp', hostIP: '127.0.0.1' },
    { hostPort: 53, containerPort: 53, protocol: 'udp' },
  ]);
  t.same(config.runtimeConfig.ips, ['10.0.0.5/24']);
  t.equal(config.runtimeConfig.mac, 'c2:11:22:33:44:55');
  t.same(config.runtimeConfig.ipRanges, [[{ subnet: '10.1.0.0/24', rangeStart: '10.1.0.10' }]]);
  t.same(config.runtimeConfig.dns, { servers: ['10.0.0.10'], searches: ['corp'] });
  t.same(config.runtimeConfig.raw['bandwidth'], { ingressRate: 1 });
  t.same(config.args, { ips: ['10.0.0.6'] });
});

t.test('a 0.4.0 prevResult is upgraded: ips lose "version", the rest is kept', async (t) => {
  const config = parse({
    ...base, cniVersion: '0.4.0',
    prevResult: {
      cniVersion: '0.4.0',
      interfaces: [{ name: 'cni0', mac: '00:11:22:33:44:55' }, { name: 'eth0', sandbox: '/run/netns/x' }],
      ips: [{ version: '4', address: '10.1.0.5/16', gateway: '10.1.0.1', interface: 1 }],
      routes: [{ dst: '0.0.0.0/0' }],
      dns: { nameservers: ['10.1.0.1'] },
    },
  });
  t.same(config.prevResult, {
    interfaces: [{ name: 'cni0', mac: '00:11:22:33:44:55' }, { name: 'eth0', sandbox: '/run/netns/x' }],
    ips: [{ address: '10.1.0.5/16', gateway: '10.1.0.1', interface: 1 }],
    routes: [{ dst: '0.0.0.0/0' }],
    dns: { nameservers: ['10.1.0.1'] },
  });
});

t.test('GC attachments and plugin-specific fields are available', async (t) => {
  const config = parse({ ...base, bridge: 'br0', 'cni.dev/valid-attachments': [{ containerID: 'c1', ifname: 'eth0' }] }, 'GC');
  t.same(config.validAttachments, [{ containerID: 'c1', ifname: 'eth0' }]);
  t.equal(config.raw['bridge'], 'br0');
});

t.test('rejectUnknownFields: code 2 naming the key and its value; protocol and cni.dev/ keys pass', async (t) => {
  const { rejectUnknownFields } = await import('../../src/spec/fields.js');
  const { PROTOCOL_CONFIG_KEYS } = await import('../../src/spec/config.js');
  const allowed = [...PROTOCOL_CONFIG_KEYS, 'bridge'];
  rejectUnknownFields({ ...base, bridge: 'br0', 'cni.dev/valid-attachments': [] }, allowed, '');
  t.throws(() => rejectUnknownFields({ ...base, brigde: 'br0' }, allowed, ''), { code: 2, message: /"brigde" = "br0"/ });
  t.throws(() => rejectUnknownFields({ mtu: 1500, huge: 'x'.repeat(1000) }, ['mtu'], 'ipam'), { code: 2, message: /"ipam.huge" = "x{10}.*…$/ });
});

t.test('keys are matched as Go\'s decoder does: exact, else ignoring case (go-cni sends Go field names)', async (t) => {
  const goCni = parse({
    ...base, IPMasq: true,
    runtimeConfig: {
      portMappings: [{ HostPort: 8080, ContainerPort: 80, Protocol: 'tcp', HostIP: '' }, { HostPort: 53, ContainerPort: 53, Protocol: 'UDP', HostIP: '127.0.0.1' }],
      ipRanges: [[{ Subnet: '10.1.0.0/24', RangeStart: '10.1.0.10', RangeEnd: '10.1.0.20', Gateway: '10.1.0.1' }]],
      bandwidth: { IngressRate: 1000, IngressBurst: 100 },
    },
  });
  t.same(goCni.runtimeConfig.portMappings, [
    { hostPort: 8080, containerPort: 80, protocol: 'tcp' },
    { hostPort: 53, containerPort: 53, protocol: 'udp', hostIP: '127.0.0.1' },
  ]);
  t.same(goCni.runtimeConfig.ipRanges, [[{ subnet: '10.1.0.0/24', rangeStart: '10.1.0.10', rangeEnd: '10.1.0.20', gateway: '10.1.0.1' }]]);
  t.equal(optionalBoolean(goCni.raw, 'ipMasq', ''), true, 'a plugin\'s own key in another case');
  t.equal(optionalBoolean({ ipMasq: false, IPMASQ: true }, 'ipMasq', ''), false, 'an exact match wins');
  t.throws(() => parse({ ...base, runtimeConfig: { portMappings: [{ HOSTPORT: 'x', containerPort: 80 }] } }), { code: 7, message: /portMappings\[0\]\.hostPort/ }, 'a wrong type is still named');
});
