/** The console's small browser script and style sheet, served as static text. DOM text is set with textContent only. */

export const consoleScript = String.raw`'use strict';
const $ = (selector) => document.querySelector(selector);

async function explain(cell) {
  const matrix = $('#matrix');
  const query = new URLSearchParams({ from: cell.dataset.from, to: cell.dataset.to, protocol: matrix.dataset.protocol, port: matrix.dataset.port });
  const response = await fetch('/console/api/explain?' + query, { credentials: 'same-origin' });
  const body = await response.json();
  $('#explain').textContent = response.ok
    ? [body.source + ' → ' + body.destination, 'verdict: ' + body.verdict + ' (tier ' + body.tier + ')', 'policy: ' + (body.policy ?? '–'), 'rule: ' + (body.rule ?? '–'), body.reason].join('\n')
    : body.error.message;
}

async function preview(event) {
  event.preventDefault();
  const form = event.target;
  const matrix = $('#matrix');
  for (const cell of document.querySelectorAll('td.changed')) { cell.classList.remove('changed'); cell.removeAttribute('data-after'); }
  const response = await fetch('/console/api/what-if', {
    method: 'POST', credentials: 'same-origin', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ text: form.text.value, namespace: form.namespace.value, protocol: matrix.dataset.protocol, port: matrix.dataset.port === '' ? null : Number(matrix.dataset.port) }),
  });
  const body = await response.json();
  if (!response.ok) { $('#whatif-result').textContent = body.error.message; return; }
  for (const change of body.changes) {
    const cell = [...document.querySelectorAll('td.cell')].find((td) => td.dataset.from === change.from && td.dataset.to === change.to);
    if (cell) { cell.classList.add('changed'); cell.dataset.after = change.after.verdict; }
  }
  $('#whatif-result').textContent = body.changes.length === 0 ? 'No cell would change.'
    : body.changes.map((change) => change.from + ' → ' + change.to + ': ' + change.before.verdict + ' → ' + change.after.verdict + ' (' + (change.after.policy ?? change.after.tier) + ')').join('\n');
}

function live(holder) {
  const source = new EventSource(holder.dataset.live);
  source.addEventListener('end', () => source.close());
  source.onmessage = (event) => {
    const { columns, rows } = JSON.parse(event.data);
    const tbody = holder.querySelector('tbody');
    tbody.replaceChildren(...rows.map((row) => {
      const tr = document.createElement('tr');
      for (const column of columns) { const td = document.createElement('td'); td.textContent = row[column] ?? ''; tr.append(td); }
      return tr;
    }));
  };
}

document.addEventListener('DOMContentLoaded', () => {
  for (const cell of document.querySelectorAll('td.cell')) cell.addEventListener('click', () => explain(cell));
  $('#whatif')?.addEventListener('submit', preview);
  for (const holder of document.querySelectorAll('[data-live]')) live(holder);
});
`;

export const consoleStyle = `body{font:14px system-ui,sans-serif;margin:0;color:#1d232a}
header{display:flex;gap:1.5em;align-items:center;padding:.6em 1em;background:#12324a;color:#fff}
nav a{color:#cfe3f2;margin-right:1em;text-decoration:none}nav a[aria-current]{color:#fff;font-weight:600}
main{padding:1em}table{border-collapse:collapse;margin:.5em 0}th,td{border:1px solid #ccd;padding:.25em .5em;text-align:left}
td.cell{cursor:pointer;font-size:12px;white-space:nowrap}.v-allow{background:#d5f0d5}.v-deny{background:#f6cfcf}.v-monitor{background:#fbe7b5}.v-none{background:#eee}
td.changed{outline:3px solid #2b5fd9;outline-offset:-3px}td.changed::after{content:" → " attr(data-after);font-weight:600}
.legend span{padding:0 .4em}pre{background:#f4f6f8;padding:.6em;white-space:pre-wrap}.notice{color:#6b4e00}
`;
