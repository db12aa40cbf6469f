/** The report on disk: results.json (everything, read back to merge), results.md (tables, machine, charts embedded), charts/*.png. */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chartSpec, reportCharts } from './charts.js';
import { reportMarkdown, type Report } from './markdown.js';
import { parseReport, type ReportData } from './merge.js';
import { renderPng } from './render.js';

/** The stored results.json of `dir`, or why there is none to merge with. */
export function readReport(dir: string): { report: ReportData } | { error: string } {
  let text: string;
  try {
    text = readFileSync(join(dir, 'results.json'), 'utf8');
  } catch (error) {
    return { error: (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'there is none' : String(error) };
  }
  return parseReport(text);
}

export async function writeReport(dir: string, report: ReportData): Promise<Report> {
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
