/** Kubernetes labels and metav1.LabelSelector: validation (apimachinery's rules) and matching. */
import { isDnsSubdomain } from '@berth/cni';
import { arrayAt, fieldPath, invalid, isAbsent, itemPath, objectAt, stringAt } from './fields.js';
import type { LabelSelector, Labels, SelectorOperator, SelectorRequirement } from './types.js';

const namePattern = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

/** Why a label key is invalid, or null when it is valid (`[prefix/]name`). */
export function labelKeyProblem(key: string): string | null {
  const parts = key.split('/');
  if (parts.length > 2) return 'a label key has at most one "/"';
  const name = parts[parts.length - 1] ?? '';
  if (parts.length === 2 && !isDnsSubdomain(parts[0] ?? '')) return 'the prefix of a label key must be a DNS subdomain';
  if (name.length === 0 || name.length > 63 || !namePattern.test(name)) {
    return 'a label name must be 1-63 characters of [A-Za-z0-9-_.], starting and ending alphanumeric';
  }
  return null;
}

export function labelValueProblem(value: string): string | null {
  if (value === '') return null;
  if (value.length > 63 || !namePattern.test(value)) {
    return 'a label value must be empty or 1-63 characters of [A-Za-z0-9-_.], starting and ending alphanumeric';
  }
  return null;
}

/** A `labels:` map (metadata.labels, matchLabels). */
export function parseLabels(value: unknown, path: string): Labels {
  if (isAbsent(value)) return {};
  if (typeof value !== 'object' || Array.isArray(value)) invalid(path, 'must be a map of label keys to values');
  const labels: Record<string, string> = {};
  for (const [key, raw] of Object.entries(value as Record<string, unknown>)) {
    const keyProblem = labelKeyProblem(key);
    if (keyProblem !== null) invalid(fieldPath(path, key), `invalid label key: ${keyProblem}`);
    // YAML turns `app: 1` or `on: true` into numbers and booleans; kubectl would reject them too.
    const text = stringAt(raw, fieldPath(path, key));
    const valueProblem = labelValueProblem(text);
    if (valueProblem !== null) invalid(fieldPath(path, key), `invalid label value ${JSON.stringify(text)}: ${valueProblem}`);
    labels[key] = text;
  }
  return labels;
}

const operators: readonly SelectorOperator[] = ['In', 'NotIn', 'Exists', 'DoesNotExist'];

function parseRequirement(value: unknown, path: string): SelectorRequirement {
  const object = objectAt(value, path, ['key', 'operator', 'values']);
  const key = stringAt(object['key'], fieldPath(path, 'key'));
  const keyProblem = labelKeyProblem(key);
  if (keyProblem !== null) invalid(fieldPath(path, 'key'), `invalid label key: ${keyProblem}`);
  const operator = stringAt(object['operator'], fieldPath(path, 'operator'));
  if (!operators.includes(operator as SelectorOperator)) {
    invalid(fieldPath(path, 'operator'), `must be one of ${operators.join(', ')}, got ${JSON.stringify(operator)}`);
  }
  const valuesPath = fieldPath(path, 'values');
  const values = isAbsent(object['values']) ? [] : arrayAt(object['values'], valuesPath).map((item, index) => {
    const text = stringAt(item, itemPath(valuesPath, index));
    const problem = labelValueProblem(text);
    if (problem !== null) invalid(itemPath(valuesPath, index), problem);
    return text;
  });
  if ((operator === 'In' || operator === 'NotIn') && values.length === 0) {
    invalid(valuesPath, `must be non-empty when operator is ${operator}`);
  }
  if ((operator === 'Exists' || operator === 'DoesNotExist') && values.length > 0) {
    invalid(valuesPath, `must be empty when operator is ${operator}`);
  }
  return { key, operator: operator as SelectorOperator, values };
}

export function parseSelector(value: unknown, path: string): LabelSelector {
  const object = objectAt(value, path, ['matchLabels', 'matchExpressions']);
  const matchLabels = parseLabels(object['matchLabels'], fieldPath(path, 'matchLabels'));
  const expressionsPath = fieldPath(path, 'matchExpressions');
  const matchExpressions = isAbsent(object['matchExpressions'])
    ? []
    : arrayAt(object['matchExpressions'], expressionsPath).map((item, index) => parseRequirement(item, itemPath(expressionsPath, index)));
  return { matchLabels, matchExpressions };
}

export function selectorMatches(selector: LabelSelector, labels: Labels): boolean {
  for (const [key, value] of Object.entries(selector.matchLabels)) {
    if (labels[key] !== value) return false;
  }
  for (const requirement of selector.matchExpressions) {
    const value = Object.hasOwn(labels, requirement.key) ? labels[requirement.key] : undefined;
    switch (requirement.operator) {
      case 'In':
        if (value === undefined || !requirement.values.includes(value)) return false;
        break;
      case 'NotIn':
        if (value !== undefined && requirement.values.includes(value)) return false;
        break;
      case 'Exists':
        if (value === undefined) return false;
        break;
      case 'DoesNotExist':
        if (value !== undefined) return false;
        break;
    }
  }
  return true;
}

/** kubectl-style text: `app=web,tier in (a,b),!debug`; `<all>` for the empty selector. */
export function formatSelector(selector: LabelSelector): string {
  const parts = Object.entries(selector.matchLabels).map(([key, value]) => `${key}=${value}`);
  for (const requirement of selector.matchExpressions) {
    const values = requirement.values.join(',');
    if (requirement.operator === 'In') parts.push(`${requirement.key} in (${values})`);
    if (requirement.operator === 'NotIn') parts.push(`${requirement.key} notin (${values})`);
    if (requirement.operator === 'Exists') parts.push(requirement.key);
    if (requirement.operator === 'DoesNotExist') parts.push(`!${requirement.key}`);
  }
  return parts.length === 0 ? '<all>' : parts.join(',');
}
