/** Server-side HTML of the console: every value that reaches a page goes through `escapeHtml`. */

const escapes: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', '\'': '&#39;' };

export function escapeHtml(value: unknown): string {
  const text = typeof value === 'string' ? value : value === undefined || value === null ? '' : typeof value === 'object' ? JSON.stringify(value) : String(value);
  return text.replace(/[&<>"']/g, (character) => escapes[character] ?? character);
}

const navigation: readonly [string, string][] = [['', 'Reachability'], ['verdicts', 'Verdicts'], ['cluster', 'Cluster'], ['networks', 'Networks'], ['secrets', 'Secrets']];

/** A whole page; `body` is HTML already escaped by its builder. */
export function page(title: string, body: string): string {
  const links = navigation.map(([path, label]) => `<a href="${path === '' ? '/console' : `/console/${path}`}"${label === title ? ' aria-current="page"' : ''}>${label}</a>`).join('');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)} · Berth</title>`
    + '<link rel="stylesheet" href="/console/style.css"><script src="/console/app.js" defer></script></head>'
    + `<body><header><strong>Berth</strong><nav>${links}</nav></header><main><h1>${escapeHtml(title)}</h1>${body}</main></body></html>`;
}

/** A table of records; the columns are given so that no field outside them (a value, say) is ever shown. */
export function table(rows: readonly Record<string, unknown>[], columns: readonly string[], id = ''): string {
  const head = columns.map((column) => `<th>${escapeHtml(column)}</th>`).join('');
  const body = rows.map((row) => `<tr>${columns.map((column) => `<td>${escapeHtml(row[column])}</td>`).join('')}</tr>`).join('');
  return `<table${id === '' ? '' : ` id="${escapeHtml(id)}"`}><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

export function notice(message: string): string {
  return `<p class="notice">${escapeHtml(message)}</p>`;
}
