import { statSync } from 'node:fs';
import { join } from 'node:path';
import { CniCode, CniError } from '../errors.js';
import { pluginTypeProblem } from '../spec/names.js';

/**
 * The executable for a plugin `type`: the first regular file named so in the CNI_PATH directories, in order.
 * Not found is code 999 with the reference's wording: its invoke package returns a plain error, which skel reports
 * as an internal error.
 */
export function findPlugin(type: string, paths: readonly string[]): string {
  const problem = pluginTypeProblem(type);
  if (problem !== undefined) throw new CniError(CniCode.InvalidNetworkConfig, `Invalid plugin type "${type}": ${problem}`);
  if (paths.length === 0) throw new CniError(CniCode.Internal, `Cannot find plugin "${type}": CNI_PATH is empty`);
  for (const dir of paths) {
    const candidate = join(dir, type);
    try {
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // Not in this directory: try the next one.
    }
  }
  throw new CniError(CniCode.Internal, `Cannot find plugin "${type}" in CNI_PATH ${paths.join(':')}`);
}
