import type { JsonObject } from '@berth/cni';
import { settle } from '../harness/index.js';
import { PluginCallError } from './engine.js';
import {
  attachment, expect, outsideClientAddress, outsideHostAddress, resultAddresses, scenarioBridge, scenarioGateway,
  scenarioNetwork, type ScenarioContext,
} from './context.js';
import { pluginType } from './implementation.js';
import { globalAddresses, linkNames, reservedAddresses, rulesetText } from './inspect.js';
import { askSource, pings, startSourceEchoServer } from './traffic.js';

/** One behaviour checked the same way for every implementation. `run` throws ScenarioFailure, or returns a note. */
export interface CniScenario {
  readonly name: string;
  run(context: ScenarioContext): Promise<string | void>;
}

const bareAddress = (cidr: string): string => cidr.split('/')[0] ?? cidr;

async function expectRefused(context: ScenarioContext, stdin: string, wantedCode: number, netnsPath?: string): Promise<string> {
  const container = await context.container();
  const outcome = await context.engine.call(pluginType(context.implementation, 'bridge'), 'ADD', stdin,
    { containerId: 'refused', netns: netnsPath ?? container.path, ifName: 'eth0' });
  const code = outcome.json?.['code'];
  expect(outcome.code !== 0, `ADD exited 0: ${outcome.stdout}`);
  expect(typeof code === 'number' && typeof outcome.json?.['msg'] === 'string', `no CNI error JSON on stdout: ${outcome.stdout.trim() || '(empty)'}`);
  expect(code === wantedCode, `error code ${String(code)}, the spec's is ${wantedCode}: ${String(outcome.json?.['msg'])}`);
  expect(outcome.json?.['cniVersion'] !== undefined, `the error JSON has no "cniVersion" (spec: the error object carries it): ${outcome.stdout.trim()}`);
  const hostLinks = (await linkNames(context.host)).filter((name) => name !== 'lo');
  expect(hostLinks.length === 0, `left on the host: ${hostLinks.join(', ')}`);
  expect((await linkNames(container)).join() === 'lo', 'left an interface in the container');
  return `code ${code}`;
}

export const cniScenarios: readonly CniScenario[] = [
  {
    name: 'VERSION lists 0.3.0-1.0.0',
    async run(context) {
      const outcome = await context.engine.call(pluginType(context.implementation, 'bridge'), 'VERSION', '{"cniVersion":"1.0.0"}');
      const versions = outcome.json?.['supportedVersions'];
      expect(outcome.code === 0 && Array.isArray(versions), `VERSION printed ${outcome.stdout.trim()}`);
      for (const version of ['0.3.0', '0.3.1', '0.4.0', '1.0.0']) expect(versions.includes(version), `supportedVersions lacks ${version}`);
      return versions.join(' ');
    },
  },
  {
    name: 'ADD x2: addresses, default route, ping peer+gateway',
    async run(context) {
      const network = scenarioNetwork(context);
      const [a, b] = [await context.container(), await context.container()];
      const ra = await context.engine.add(network, attachment('c1', a));
      const rb = await context.engine.add(network, attachment('c2', b));
      const [addressA, addressB] = [resultAddresses(ra)[0] ?? '', resultAddresses(rb)[0] ?? ''];
      expect(addressA !== '' && addressB !== '' && addressA !== addressB, `addresses ${addressA} and ${addressB}`);
      expect((await globalAddresses(a, 'eth0')).includes(addressA), `eth0 of c1 lacks ${addressA}`);
      const route = await a.execChecked(['ip', 'route', 'show', 'default']);
      expect(route.includes(`via ${scenarioGateway}`), `default route: ${route.trim() || 'none'}`);
      expect(await pings(a, bareAddress(addressB)), 'c1 cannot ping c2');
      expect(await pings(b, scenarioGateway), 'c2 cannot ping the gateway');
    },
  },
  {
    name: 'masquerade to outside, not to the bridge',
    async run(context) {
      const network = scenarioNetwork(context, { ipMasq: true });
      const outside = await context.outside();
      const [a, b] = [await context.container(), await context.container()];
      await context.engine.add(network, attachment('c1', a));
      const rb = await context.engine.add(network, attachment('c2', b));
      await startSourceEchoServer(context.registry, outside, 7000);
      await startSourceEchoServer(context.registry, b, 7000);
      const seenOutside = await askSource(a, outsideClientAddress, 7000);
      expect(seenOutside === outsideHostAddress, `the outside saw ${seenOutside ?? 'nothing'}, not the host ${outsideHostAddress}`);
      const seenNeighbour = await askSource(a, bareAddress(resultAddresses(rb)[0] ?? ''), 7000);
      expect(seenNeighbour !== outsideHostAddress && seenNeighbour?.startsWith('10.88.0.') === true, `a neighbour saw ${seenNeighbour ?? 'nothing'}`);
    },
  },
  {
    name: 'CHECK passes on a fresh attachment',
    async run(context) {
      const network = scenarioNetwork(context);
      const a = await context.container();
      const result = await context.engine.add(network, attachment('c1', a)) as JsonObject;
      await context.engine.check(network, attachment('c1', a), result);
    },
  },
  {
    name: 'CHECK fails after the address is removed',
    async run(context) {
      const network = scenarioNetwork(context);
      const a = await context.container();
      const result = await context.engine.add(network, attachment('c1', a)) as JsonObject;
      await a.execChecked(['ip', 'addr', 'del', resultAddresses(result)[0] ?? '', 'dev', 'eth0']);
      try {
        await context.engine.check(network, attachment('c1', a), result);
      } catch (error) {
        if (error instanceof PluginCallError) return `code ${String(error.outcome.json?.['code'])}`;
        throw error;
      }
      throw new Error('CHECK succeeded although the address is gone');
    },
  },
  {
    name: 'DEL, repeated DEL, DEL with empty netns',
    async run(context) {
      const network = scenarioNetwork(context);
      const [a, b] = [await context.container(), await context.container()];
      const ra = await context.engine.add(network, attachment('c1', a)) as JsonObject;
      const rb = await context.engine.add(network, attachment('c2', b)) as JsonObject;
      await context.engine.del(network, attachment('c1', a), ra);
      await context.engine.del(network, attachment('c1', a), ra);
      await b.remove();
      await context.engine.del(network, { containerId: 'c2', netns: '', ifName: 'eth0' }, rb);
      const left = await reservedAddresses(context.dataDir, 'bt-conformance');
      expect(left.length === 0, `reservations left: ${left.join(', ')}`);
      // The second container's pair goes with its netns, which the kernel tears down asynchronously (DEL had no netns).
      const links = await settle(async () => (await linkNames(context.host)).filter((name) => name !== 'lo' && name !== scenarioBridge), (left) => left.length === 0);
      expect(links.length === 0, `host links left: ${links.join(', ')}`);
    },
  },
  {
    name: 'an address is reused after DEL',
    async run(context) {
      const network = scenarioNetwork(context, { rangeStart: '10.88.0.10', rangeEnd: '10.88.0.10' });
      const [a, b] = [await context.container(), await context.container()];
      const ra = await context.engine.add(network, attachment('c1', a)) as JsonObject;
      await context.engine.del(network, attachment('c1', a), ra);
      const rb = await context.engine.add(network, attachment('c2', b));
      expect(resultAddresses(rb)[0] === '10.88.0.10/24', `the second container got ${resultAddresses(rb).join() || 'nothing'}`);
    },
  },
  {
    name: 'a 0.3.1 config gets a 0.3.1 result',
    async run(context) {
      const network = scenarioNetwork(context, { cniVersion: '0.3.1' });
      const result = await context.engine.add(network, attachment('c1', await context.container()));
      expect(result?.['cniVersion'] === '0.3.1', `result cniVersion ${String(result?.['cniVersion'])}`);
      const ips = result?.['ips'] as { version?: string }[] | undefined;
      expect(ips?.[0]?.version === '4', `ips[0].version is ${String(ips?.[0]?.version)} (0.3.x results carry it)`);
    },
  },
  {
    name: 'malformed JSON: code 6, nothing left',
    run: (context) => expectRefused(context, '{"cniVersion":"1.0.0","name":', 6),
  },
  {
    name: 'unknown version: code 1, nothing left',
    run: (context) => expectRefused(context, JSON.stringify({ cniVersion: '9.9.9', name: 'bt-conformance', type: pluginType(context.implementation, 'bridge') }), 1),
  },
  {
    name: 'missing netns: an error, nothing left',
    async run(context) {
      const config = { ...(scenarioNetwork(context)['plugins'] as JsonObject[])[0], cniVersion: '1.0.0', name: 'bt-conformance' };
      const container = await context.container();
      const outcome = await context.engine.call(pluginType(context.implementation, 'bridge'), 'ADD', JSON.stringify(config),
        { containerId: 'nonetns', netns: '/run/netns/bt-no-such-netns', ifName: 'eth0' });
      expect(outcome.code !== 0 && typeof outcome.json?.['code'] === 'number', `ADD printed ${outcome.stdout.trim()}`);
      const hostLinks = (await linkNames(context.host)).filter((name) => name !== 'lo');
      expect(hostLinks.length === 0, `code ${String(outcome.json?.['code'])}, but left on the host: ${hostLinks.join(', ')}`);
      const left = await reservedAddresses(context.dataDir, 'bt-conformance');
      expect(left.length === 0, `reservations left: ${left.join(', ')}`);
      expect((await linkNames(container)).join() === 'lo', 'container touched');
      return `code ${String(outcome.json?.['code'])}`;
    },
  },
  {
    name: '16 parallel ADDs: unique addresses',
    async run(context) {
      const network = scenarioNetwork(context);
      const containers = await Promise.all(Array.from({ length: 16 }, () => context.container()));
      const results = await Promise.allSettled(containers.map((netns, index) => context.engine.add(network, attachment(`p${index}`, netns))));
      const failures = results.filter((result): result is PromiseRejectedResult => result.status === 'rejected');
      expect(failures.length === 0, `${failures.length} of 16 failed, e.g. ${String(failures[0]?.reason)}`);
      const addresses = results.map((result) => resultAddresses((result as PromiseFulfilledResult<JsonObject | undefined>).value)[0]);
      expect(new Set(addresses).size === 16, `addresses not unique: ${addresses.join(' ')}`);
    },
  },
  {
    name: 'bridge+portmap: hostIP:hostPort from outside',
    async run(context) {
      const network = scenarioNetwork(context, { portmap: true });
      const outside = await context.outside();
      const a = await context.container();
      await context.engine.add(network, attachment('c1', a, {
        capabilityArgs: { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp', hostIP: outsideHostAddress }] },
      }));
      await startSourceEchoServer(context.registry, a, 80);
      const seen = await askSource(outside, outsideHostAddress, 8080);
      expect(seen === outsideClientAddress, `through ${outsideHostAddress}:8080 the container saw ${seen ?? 'nothing'}`);
    },
  },
  {
    name: 'nothing left behind after DELs',
    async run(context) {
      const network = scenarioNetwork(context, { portmap: true, ipMasq: true });
      await context.outside();
      const ids = ['leftover-a', 'leftover-b', 'leftover-c'];
      const attached = [];
      for (const [index, id] of ids.entries()) {
        const netns = await context.container();
        const params = attachment(id, netns, { capabilityArgs: { portMappings: [{ hostPort: 9000 + index, containerPort: 80, protocol: 'tcp' }] } });
        attached.push({ netns, params, result: await context.engine.add(network, params) as JsonObject });
      }
      const addresses = attached.map((entry) => bareAddress(resultAddresses(entry.result)[0] ?? ''));
      for (const entry of attached) await context.engine.del(network, entry.params, entry.result);
      const hostLinks = (await linkNames(context.host)).filter((name) => !['lo', scenarioBridge, 'bthout'].includes(name));
      expect(hostLinks.length === 0, `host links left: ${hostLinks.join(', ')}`);
      for (const entry of attached) expect((await linkNames(entry.netns)).join() === 'lo', `links left in ${entry.params.containerId}`);
      const left = await reservedAddresses(context.dataDir, 'bt-conformance');
      expect(left.length === 0, `reservations left: ${left.join(', ')}`);
      const rules = await rulesetText(context.host);
      const mentioned = [...ids, ...addresses].filter((needle) => rules.includes(needle));
      expect(mentioned.length === 0, `rules still mention ${mentioned.join(', ')}`);
    },
  },
];

