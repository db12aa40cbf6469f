import type { Dns } from '../spec/result.js';

/** Lines past this are ignored: resolv.conf is a handful of lines, a huge file is not one. */
export const resolvConfLinesMax = 4096;

/**
 * resolv.conf as a result's `dns`, as host-local reads it: `nameserver` (one each), `domain`, `search` and
 * `options` (all words). Comments (`#`, `;`), blank lines and other keywords are skipped.
 */
export function parseResolvConf(text: string): Dns {
  const nameservers: string[] = [];
  const search: string[] = [];
  const options: string[] = [];
  let domain = '';
  for (const rawLine of text.split('\n').slice(0, resolvConfLinesMax)) {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const [keyword, ...words] = line.split(/\s+/);
    if (words.length === 0) continue;
    if (keyword === 'nameserver') nameservers.push(words[0] as string);
    else if (keyword === 'domain') domain = words[0] as string;
    else if (keyword === 'search') search.push(...words);
    else if (keyword === 'options') options.push(...words);
  }
  const dns: { nameservers?: string[]; domain?: string; search?: string[]; options?: string[] } = {};
  if (nameservers.length > 0) dns.nameservers = nameservers;
  if (domain !== '') dns.domain = domain;
  if (search.length > 0) dns.search = search;
  if (options.length > 0) dns.options = options;
  return dns;
}
