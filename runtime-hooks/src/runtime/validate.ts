import { isCapabilityName } from './capabilities.js';
import { SpecError } from './errors.js';
import {
  absolutePathAt, arrayAt, bigIntegerAt, booleanAt, integerAt, isObject, objectAt, optionalInteger, optionalObject,
  optionalString, stringAt, stringsAt, withoutDotDot, type Json,
} from './json-fields.js';
import { rlimitNumber } from './rlimits.js';
import { readResources } from './validate-resources.js';
import { readSeccomp } from './seccomp.js';
import {
  hookKinds, type Capabilities, type Device, type Hook, type Hooks, type IdMapping, type Linux, type Mount, type Namespace,
  type NamespaceType, type Process, type Spec,
} from './spec.js';

const namespaceTypes: readonly NamespaceType[] = ['pid', 'network', 'mount', 'ipc', 'uts', 'user', 'cgroup'];
const capabilitySets = ['bounding', 'effective', 'permitted', 'inheritable', 'ambient'] as const;
const uint32Max = 0xffff_ffff;

/** Parses config.json text into a validated Spec, or throws a SpecError naming the first bad field. */
export function parseSpec(text: string): Spec {
  let raw: Json;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new SpecError('config.json', `invalid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  const config = objectAt(raw, 'config.json');
  const root = objectAt(config['root'], 'root');
  const linux = readLinux(optionalObject(config['linux'], 'linux') ?? {});
  const hostname = optionalString(config['hostname'], 'hostname');
  const spec: Spec = {
    ociVersion: stringAt(config['ociVersion'], 'ociVersion'),
    root: { path: stringAt(root['path'], 'root.path'), readonly: booleanAt(root['readonly'], 'root.readonly', false) },
    process: readProcess(config['process']),
    ...optionalField('hostname', hostname),
    ...optionalField('domainname', optionalString(config['domainname'], 'domainname')),
    mounts: arrayAt(config['mounts'], 'mounts').map((mount, index) => readMount(mount, `mounts[${index}]`)),
    hooks: readHooks(optionalObject(config['hooks'], 'hooks') ?? {}),
    annotations: readStringMap(config['annotations'], 'annotations'),
    linux,
  };
  if (spec.root.path === '') throw new SpecError('root.path', 'must not be empty');
  const hasUts = linux.namespaces.some((namespace) => namespace.type === 'uts');
  if ((spec.hostname ?? '') !== '' && !hasUts) throw new SpecError('hostname', 'needs a private uts namespace (linux.namespaces)');
  return spec;
}

function optionalField<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

function readStringMap(value: Json, field: string): Record<string, string> {
  const object = optionalObject(value, field) ?? {};
  const result: Record<string, string> = {};
  for (const [key, item] of Object.entries(object)) result[key] = stringAt(item, `${field}.${key}`);
  return result;
}

/** A `process` object (config.json's, or the file `exec --process` reads). */
export function readProcess(value: Json): Process {
  if (value === undefined || value === null) throw new SpecError('process', 'must be given (runc: process property must not be empty)');
  const process = objectAt(value, 'process');
  const args = stringsAt(process['args'], 'process.args');
  if (args.length === 0 || args[0] === '') throw new SpecError('process.args', 'must not be empty');
  const user = optionalObject(process['user'], 'process.user') ?? {};
  const cwd = absolutePathAt(process['cwd'] ?? '/', 'process.cwd');
  const env = stringsAt(process['env'], 'process.env');
  env.forEach((entry, index) => {
    if (!entry.includes('=')) throw new SpecError(`process.env[${index}]`, `${JSON.stringify(entry)} is not KEY=VALUE`);
  });
  const consoleSize = optionalObject(process['consoleSize'], 'process.consoleSize');
  const umask = optionalInteger(user['umask'], 'process.user.umask', 0o777);
  return {
    terminal: booleanAt(process['terminal'], 'process.terminal', false),
    ...(consoleSize !== undefined ? {
      consoleSize: {
        height: integerAt(consoleSize['height'], 'process.consoleSize.height', 0xffff),
        width: integerAt(consoleSize['width'], 'process.consoleSize.width', 0xffff),
      },
    } : {}),
    user: {
      uid: integerAt(user['uid'] ?? 0, 'process.user.uid', uint32Max),
      gid: integerAt(user['gid'] ?? 0, 'process.user.gid', uint32Max),
      ...(umask !== undefined ? { umask } : {}),
      additionalGids: arrayAt(user['additionalGids'], 'process.user.additionalGids')
        .map((gid, index) => integerAt(gid, `process.user.additionalGids[${index}]`, uint32Max)),
    },
    args,
    env,
    cwd,
    ...optionalField('capabilities', readCapabilities(process['capabilities'])),
    rlimits: arrayAt(process['rlimits'], 'process.rlimits').map((item, index) => {
      const field = `process.rlimits[${index}]`;
      const rlimit = objectAt(item, field);
      const type = stringAt(rlimit['type'], `${field}.type`);
      if (rlimitNumber(type) === undefined) throw new SpecError(`${field}.type`, `unknown rlimit ${JSON.stringify(type)}`);
      const soft = bigIntegerAt(rlimit['soft'], `${field}.soft`);
      const hard = bigIntegerAt(rlimit['hard'], `${field}.hard`);
      if (soft > hard) throw new SpecError(field, `soft limit ${soft} is above the hard limit ${hard}`);
      return { type, soft, hard };
    }),
    noNewPrivileges: booleanAt(process['noNewPrivileges'], 'process.noNewPrivileges', false),
    ...optionalField('oomScoreAdj', readOomScoreAdj(process['oomScoreAdj'])),
    ...optionalField('apparmorProfile', optionalString(process['apparmorProfile'], 'process.apparmorProfile') || undefined),
    ...optionalField('selinuxLabel', optionalString(process['selinuxLabel'], 'process.selinuxLabel') || undefined),
  };
}

function readOomScoreAdj(value: Json): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < -1000 || value > 1000) {
    throw new SpecError('process.oomScoreAdj', 'must be an integer from -1000 to 1000');
  }
  return value;
}

function readCapabilities(value: Json): Capabilities | undefined {
  const object = optionalObject(value, 'process.capabilities');
  if (object === undefined) return undefined;
  const sets = {} as Record<(typeof capabilitySets)[number], string[]>;
  for (const set of capabilitySets) {
    sets[set] = stringsAt(object[set], `process.capabilities.${set}`);
    sets[set].forEach((name, index) => {
      if (!isCapabilityName(name)) throw new SpecError(`process.capabilities.${set}[${index}]`, `unknown capability ${JSON.stringify(name)}`);
    });
  }
  return sets;
}

function readMount(value: Json, field: string): Mount {
  const mount = objectAt(value, field);
  let destination = stringAt(mount['destination'], `${field}.destination`);
  if (destination === '') throw new SpecError(`${field}.destination`, 'must not be empty');
  // runc accepts a relative destination as relative to the container's root (with a warning); so do we.
  if (!destination.startsWith('/')) destination = `/${destination}`;
  withoutDotDot(destination, `${field}.destination`);
  return {
    destination,
    type: optionalString(mount['type'], `${field}.type`) ?? '',
    source: optionalString(mount['source'], `${field}.source`) ?? '',
    options: stringsAt(mount['options'], `${field}.options`),
  };
}

function readHooks(hooks: Record<string, Json>): Hooks {
  const result = {} as Record<(typeof hookKinds)[number], Hook[]>;
  for (const kind of hookKinds) {
    result[kind] = arrayAt(hooks[kind], `hooks.${kind}`).map((item, index) => {
      const field = `hooks.${kind}[${index}]`;
      const hook = objectAt(item, field);
      const timeout = hook['timeout'];
      if (timeout !== undefined && timeout !== null && (typeof timeout !== 'number' || !Number.isInteger(timeout) || timeout <= 0)) {
        throw new SpecError(`${field}.timeout`, 'must be a positive integer (seconds)');
      }
      return {
        path: absolutePathAt(hook['path'], `${field}.path`),
        args: stringsAt(hook['args'], `${field}.args`),
        env: stringsAt(hook['env'], `${field}.env`),
        ...(typeof timeout === 'number' ? { timeoutSeconds: timeout } : {}),
      };
    });
  }
  return result;
}

function readLinux(linux: Record<string, Json>): Linux {
  const namespaces = arrayAt(linux['namespaces'], 'linux.namespaces').map((item, index): Namespace => {
    const field = `linux.namespaces[${index}]`;
    const namespace = objectAt(item, field);
    const type = stringAt(namespace['type'], `${field}.type`);
    if (!(namespaceTypes as readonly string[]).includes(type)) {
      throw new SpecError(`${field}.type`, `unknown namespace type ${JSON.stringify(type)}`);
    }
    const path = namespace['path'] === undefined || namespace['path'] === '' ? undefined : absolutePathAt(namespace['path'], `${field}.path`);
    return { type: type as NamespaceType, ...(path !== undefined ? { path } : {}) };
  });
  namespaces.forEach((namespace, index) => {
    if (namespaces.findIndex((other) => other.type === namespace.type) !== index) {
      throw new SpecError(`linux.namespaces[${index}]`, `namespace type ${namespace.type} given twice`);
    }
  });
  const uidMappings = readMappings(linux['uidMappings'], 'linux.uidMappings');
  const gidMappings = readMappings(linux['gidMappings'], 'linux.gidMappings');
  const userNamespace = namespaces.find((namespace) => namespace.type === 'user');
  if (userNamespace?.path === undefined && userNamespace !== undefined && (uidMappings.length === 0 || gidMappings.length === 0)) {
    throw new SpecError('linux.uidMappings', 'a new user namespace needs uidMappings and gidMappings');
  }
  if ((userNamespace === undefined || userNamespace.path !== undefined) && (uidMappings.length > 0 || gidMappings.length > 0)) {
    throw new SpecError('linux.uidMappings', 'mappings are only for a new user namespace (linux.namespaces)');
  }
  const mountNamespace = namespaces.find((namespace) => namespace.type === 'mount');
  if (mountNamespace === undefined) throw new SpecError('linux.namespaces', 'berth-runtime needs a mount namespace');
  if (mountNamespace.path !== undefined) throw new SpecError('linux.namespaces', 'joining an existing mount namespace is not supported');
  const rootfsPropagation = optionalString(linux['rootfsPropagation'], 'linux.rootfsPropagation');
  const cgroupsPath = optionalString(linux['cgroupsPath'], 'linux.cgroupsPath');
  if (cgroupsPath !== undefined && cgroupsPath !== '' && cgroupsPath.split('/').every((part) => part === '' || part === '.')) {
    throw new SpecError('linux.cgroupsPath', `${JSON.stringify(cgroupsPath)} is a hierarchy's root, not a container's cgroup`);
  }
  const seccomp = readSeccomp(linux['seccomp']);
  return {
    namespaces,
    uidMappings,
    gidMappings,
    devices: arrayAt(linux['devices'], 'linux.devices').map((item, index) => readDevice(item, `linux.devices[${index}]`)),
    resources: readResources(optionalObject(linux['resources'], 'linux.resources') ?? {}),
    ...(cgroupsPath !== undefined && cgroupsPath !== '' ? { cgroupsPath: withoutDotDot(cgroupsPath, 'linux.cgroupsPath') } : {}),
    sysctl: readStringMap(linux['sysctl'], 'linux.sysctl'),
    maskedPaths: stringsAt(linux['maskedPaths'], 'linux.maskedPaths')
      .map((path, index) => withoutDotDot(absolutePathAt(path, `linux.maskedPaths[${index}]`), `linux.maskedPaths[${index}]`)),
    readonlyPaths: stringsAt(linux['readonlyPaths'], 'linux.readonlyPaths')
      .map((path, index) => withoutDotDot(absolutePathAt(path, `linux.readonlyPaths[${index}]`), `linux.readonlyPaths[${index}]`)),
    ...(rootfsPropagation !== undefined ? { rootfsPropagation } : {}),
    ...(seccomp !== undefined ? { seccomp } : {}),
  };
}

function readMappings(value: Json, field: string): IdMapping[] {
  const mappings = arrayAt(value, field).map((item, index) => {
    const mapping = objectAt(item, `${field}[${index}]`);
    const read = (key: string): number => integerAt(mapping[key], `${field}[${index}].${key}`, uint32Max);
    const result = { containerID: read('containerID'), hostID: read('hostID'), size: read('size') };
    if (result.size === 0) throw new SpecError(`${field}[${index}].size`, 'must be at least 1');
    return result;
  });
  if (mappings.length > 340) throw new SpecError(field, 'the kernel takes at most 340 lines');
  return mappings;
}

function readDevice(value: Json, field: string): Device {
  const device = objectAt(value, field);
  const path = withoutDotDot(absolutePathAt(device['path'], `${field}.path`), `${field}.path`);
  if (!path.startsWith('/dev/')) throw new SpecError(`${field}.path`, `${path} is not under /dev`);
  const type = stringAt(device['type'], `${field}.type`);
  if (type !== 'c' && type !== 'b' && type !== 'u' && type !== 'p') throw new SpecError(`${field}.type`, `unknown device type ${JSON.stringify(type)}`);
  const fileMode = device['fileMode'];
  return {
    path,
    type,
    major: type === 'p' ? 0 : integerAt(device['major'], `${field}.major`, 0xfff),
    minor: type === 'p' ? 0 : integerAt(device['minor'], `${field}.minor`, 0xfffff),
    fileMode: isObject(fileMode) ? 0o666 : integerAt(fileMode ?? 0o666, `${field}.fileMode`, 0o7777),
    uid: integerAt(device['uid'] ?? 0, `${field}.uid`, uint32Max),
    gid: integerAt(device['gid'] ?? 0, `${field}.gid`, uint32Max),
  };
}
