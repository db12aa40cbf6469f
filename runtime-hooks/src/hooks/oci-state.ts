import { isAbsolute } from 'node:path';
import { validateContainerId } from '@berth/cni';
import { HookCode, HookError } from './errors.js';

/** The OCI state a runtime writes on a hook's stdin (runtime-spec "State"). */
export interface OciState {
  readonly id: string;
  /** The container's first process; 0 when the runtime reports none (poststop after the process is gone). */
  readonly pid: number;
  readonly bundle: string;
  readonly status: string;
  readonly annotations: Readonly<Record<string, string>>;
}

/** More than this on stdin is not an OCI state. */
export const ociStateBytesMax = 1024 * 1024;

function invalid(message: string): HookError {
  return new HookError(HookCode.InvalidInput, `Invalid OCI state on stdin: ${message}`);
}

/** Parses and checks the state JSON; anything malformed is INVALID_INPUT naming the field. Pure. */
export function parseOciState(text: string): OciState {
  if (Buffer.byteLength(text) > ociStateBytesMax) throw invalid(`larger than ${ociStateBytesMax} bytes`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw invalid(`not JSON (${(error as Error).message})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid('expected a JSON object');
  const state = value as Record<string, unknown>;
  const id = state['id'];
  if (typeof id !== 'string') throw invalid('"id" must be a string');
  try {
    validateContainerId(id);
  } catch (error) {
    throw invalid(`"id" ${JSON.stringify(id.slice(0, 80))}: ${(error as Error).message}`);
  }
  const pid = state['pid'] ?? 0;
  if (typeof pid !== 'number' || !Number.isSafeInteger(pid) || pid < 0) throw invalid('"pid" must be a non-negative integer');
  const bundle = state['bundle'];
  if (typeof bundle !== 'string' || !isAbsolute(bundle) || bundle.includes('\0')) throw invalid('"bundle" must be an absolute path');
  const status = typeof state['status'] === 'string' ? state['status'] : '';
  const raw = state['annotations'] ?? {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw invalid('"annotations" must be an object');
  const annotations: Record<string, string> = {};
  for (const [key, item] of Object.entries(raw)) {
    if (typeof item !== 'string') throw invalid(`annotation ${JSON.stringify(key)} must be a string`);
    annotations[key] = item;
  }
  return { id, pid, bundle, status, annotations };
}
