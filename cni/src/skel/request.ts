import { parsePluginConfig } from '../spec/config.js';
import { readCniParameters, type CniEnvironment } from '../spec/env.js';
import { SUPPORTED_VERSIONS, type CniVersion } from '../spec/version.js';
import type { CniRequest } from './plugin.js';

/**
 * Builds the request a plugin receives from an environment and stdin text: parameters per the spec's table (code 4),
 * then the configuration (codes 1, 6, 7). VERSION has no request; asking for one is a programmer error.
 */
export function buildRequest(env: CniEnvironment, stdin: string, supportedVersions: readonly CniVersion[] = SUPPORTED_VERSIONS): CniRequest {
  const parameters = readCniParameters(env);
  const { command } = parameters;
  if (command === 'VERSION') throw new TypeError('buildRequest: VERSION has no request');
  const config = parsePluginConfig(stdin, { command, supportedVersions });
  return { ...parameters, command, config, stdin, env };
}
