/** Writes the report: results.json (everything), results.md (tables, machine, charts embedded), charts/*.png. */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chartSpec, reportCharts } from './charts.js';
import { reportMarkdown, type Report } from './markdown.js';
import { renderPng } from './render.js';

export async function writeReport(dir: string, report: Omit<Report, 'charts'>): Promise<Report> {
  const chartsDir = join(dir, 'charts');
  rmSync(chartsDir, { recursive: true, force: true });
  mkdirSync(chartsDir, { recursive: true });
  const charts: { file: string; title: string }[] = [];
  for (const definition of reportCharts) {
    const spec = chartSpec(definition, report.results);
    if (spec === undefined) continue;
    writeFileSync(join(chartsDir, `${definition.file}.png`), await renderPng(spec));
    charts.push({ file: `charts/${definition.file}.png`, title: definition.title });
  }
  const full: Report = { ...report, charts };
  writeFileSync(join(dir, 'results.json'), `${JSON.stringify(full, null, 2)}\n`);
  writeFileSync(join(dir, 'results.md'), reportMarkdown(full));
  return full;
}
