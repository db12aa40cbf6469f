/**
 * Golden tests: each `golden/<case>.yaml` holds policy documents plus test-only `kind: TestEndpoint`
 * documents (and optionally `kind: TestSettings` with `monitor: true`); the compiled full-resync transaction
 * must equal `golden/<case>.nft.json`. Regenerate with BERTH_GOLDEN_UPDATE=1 and review the diff.
 */
import { readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { parseAllDocuments } from 'yaml';
import { compile } from '../../src/compile/compile.js';
import { renderFull } from '../../src/compile/render.js';
import { parseDocuments } from '../../src/model/documents.js';
import { parseEndpoint } from '../../src/model/endpoint.js';
import { buildPolicySet } from '../../src/model/policy-set.js';

const directory = join(import.meta.dirname, 'golden');
const update = process.env['BERTH_GOLDEN_UPDATE'] === '1';

function compileCase(text: string): string {
  const raw = parseAllDocuments(text).map((document) => document.toJS() as Record<string, unknown>).filter((value) => value !== null);
  const isTest = (value: Record<string, unknown>): boolean => String(value['apiVersion']) === 'berth.test/v1';
  const endpoints = raw.filter((value) => isTest(value) && value['kind'] === 'TestEndpoint').map((value) => parseEndpoint(value['spec']));
  const settings = raw.find((value) => isTest(value) && value['kind'] === 'TestSettings');
  const policyText = raw.filter((value) => !isTest(value)).map((value) => JSON.stringify(value)).join('\n---\n');
  const { policies, namespaces } = buildPolicySet(parseDocuments(policyText).map((item) => item.document), { monitor: settings?.['monitor'] === true });
  return `${JSON.stringify(renderFull(compile({ policies, namespaces, endpoints }), 1), null, 1)}\n`;
}

const cases = readdirSync(directory).filter((name) => name.endsWith('.yaml')).sort();

t.test('golden cases exist', async (t) => {
  t.ok(cases.length >= 5, `${cases.length} golden cases`);
});

for (const name of cases) {
  t.test(name, async (t) => {
    const actual = compileCase(readFileSync(join(directory, name), 'utf8'));
    const goldenPath = join(directory, name.replace(/\.yaml$/, '.nft.json'));
    if (update) {
      writeFileSync(goldenPath, actual);
      t.comment(`wrote ${goldenPath}`);
    }
    // A missing golden file fails: writing it here would make a new case pass without anyone reviewing its output.
    if (!existsSync(goldenPath)) {
      t.fail(`${goldenPath} is missing: run with BERTH_GOLDEN_UPDATE=1 and review the file`);
      return;
    }
    t.equal(actual, readFileSync(goldenPath, 'utf8'), `${name} compiles to its golden transaction`);
  });
}
