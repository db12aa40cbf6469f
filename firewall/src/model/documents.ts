/**
 * Reads a kubectl-style file: YAML or JSON, one or many documents (`---`), `kind: List` wrappers included.
 * The whole file is rejected on the first invalid document, so `apply` is all-or-nothing.
 */
import { parseAllDocuments } from 'yaml';
import { FirewallCode, FirewallError } from '../errors.js';
import { adminApiVersion, parseAdminNetworkPolicy, parseBaselineAdminNetworkPolicy } from './admin-policy.js';
import type { RawObject } from './fields.js';
import { parseNamespace } from './namespace.js';
import { parseNetworkPolicy } from './network-policy.js';
import type { PolicyDocument } from './types.js';

export interface ParsedDocument {
  readonly document: PolicyDocument;
  /** The document as written (JSON-compatible), kept so state files stay kubectl documents. */
  readonly raw: RawObject;
}

export interface ParseOptions {
  /** metadata.namespace of NetworkPolicies that do not set one (kubectl's `-n`); default `default`. */
  readonly defaultNamespace?: string;
}

const documentsMax = 100_000;

const kinds: Readonly<Record<string, { apiVersion: string; parse: (raw: RawObject, options: Required<ParseOptions>) => PolicyDocument }>> = {
  NetworkPolicy: { apiVersion: 'networking.k8s.io/v1', parse: (raw, options) => parseNetworkPolicy(raw, options.defaultNamespace) },
  Namespace: { apiVersion: 'v1', parse: (raw) => parseNamespace(raw) },
  AdminNetworkPolicy: { apiVersion: adminApiVersion, parse: (raw) => parseAdminNetworkPolicy(raw) },
  BaselineAdminNetworkPolicy: { apiVersion: adminApiVersion, parse: (raw) => parseBaselineAdminNetworkPolicy(raw) },
};

function describeRaw(raw: unknown): string {
  if (typeof raw !== 'object' || raw === null) return '';
  const object = raw as Record<string, unknown>;
  const metadata = (typeof object['metadata'] === 'object' && object['metadata'] !== null ? object['metadata'] : {}) as Record<string, unknown>;
  const name = typeof metadata['name'] === 'string' ? metadata['name'] : '?';
  const namespace = typeof metadata['namespace'] === 'string' ? `${metadata['namespace']}/` : '';
  return ` (${typeof object['kind'] === 'string' ? object['kind'] : 'unknown kind'} ${namespace}${name})`;
}

function wrap(error: unknown, label: string): FirewallError {
  if (error instanceof FirewallError) {
    return new FirewallError(error.code, `${label}: ${error.message}`, error.field === undefined ? {} : { field: error.field });
  }
  return new FirewallError(FirewallCode.InvalidDocument, `${label}: ${error instanceof Error ? error.message : String(error)}`);
}

function parseOne(raw: unknown, options: Required<ParseOptions>): PolicyDocument {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new FirewallError(FirewallCode.InvalidDocument, 'a document must be an object with apiVersion and kind');
  }
  const object = raw as RawObject;
  const kind = kinds[String(object['kind'])];
  if (kind === undefined) {
    throw new FirewallError(FirewallCode.InvalidDocument,
      `kind: ${JSON.stringify(object['kind'])} is not supported (expected ${Object.keys(kinds).join(', ')} or List)`, { field: 'kind' });
  }
  if (object['apiVersion'] !== kind.apiVersion) {
    throw new FirewallError(FirewallCode.InvalidDocument,
      `apiVersion: ${String(object['kind'])} must be ${kind.apiVersion}, got ${JSON.stringify(object['apiVersion'])}`, { field: 'apiVersion' });
  }
  return kind.parse(object, options);
}

/** Validates one already-decoded document (state files hold them as JSON). */
export function parseDocumentObject(raw: unknown, options: ParseOptions = {}): PolicyDocument {
  try {
    return parseOne(raw, { defaultNamespace: options.defaultNamespace ?? 'default' });
  } catch (error) {
    throw wrap(error, `document${describeRaw(raw)}`);
  }
}

/** Flattens `kind: List` (what `kubectl get -o yaml` prints) into its items. */
function flatten(value: unknown): unknown[] {
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const object = value as Record<string, unknown>;
    if (object['kind'] === 'List' && Array.isArray(object['items'])) return object['items'];
  }
  return [value];
}

export function parseDocuments(text: string, options: ParseOptions = {}): ParsedDocument[] {
  const resolved: Required<ParseOptions> = { defaultNamespace: options.defaultNamespace ?? 'default' };
  const parsed: ParsedDocument[] = [];
  const yamlDocuments = parseAllDocuments(text);
  if (!Array.isArray(yamlDocuments)) return [];
  for (const [index, yamlDocument] of yamlDocuments.entries()) {
    const label = `document ${index + 1}`;
    const yamlError = yamlDocument.errors[0];
    if (yamlError !== undefined) throw wrap(new Error(`invalid YAML: ${yamlError.message.split('\n')[0] ?? ''}`), label);
    const value: unknown = yamlDocument.toJS({ maxAliasCount: 100 });
    if (value === null || value === undefined) continue;
    for (const [itemIndex, item] of flatten(value).entries()) {
      if (parsed.length >= documentsMax) throw wrap(new Error(`more than ${documentsMax} documents`), label);
      const itemLabel = `${label}${flatten(value).length > 1 || item !== value ? ` item ${itemIndex + 1}` : ''}${describeRaw(item)}`;
      try {
        parsed.push({ document: parseOne(item, resolved), raw: item as RawObject });
      } catch (error) {
        throw wrap(error, itemLabel);
      }
    }
  }
  return parsed;
}
