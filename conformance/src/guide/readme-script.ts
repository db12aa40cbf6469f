/**
 * The README's walk-through as a shell script: the `sh` code blocks of its sections, in order, so a test can run
 * what a new user would type. Pure: text in, script out.
 */

/** The `sh` fenced blocks of the level-2 section whose title starts with `title` (up to the next `## `), in order. */
export function shellBlocksOfSection(markdown: string, title: string): string[] {
  const lines = markdown.split('\n');
  const start = lines.findIndex((line) => line.startsWith(`## ${title}`));
  if (start < 0) throw new Error(`README has no section "## ${title}…"`);
  const end = lines.findIndex((line, index) => index > start && line.startsWith('## '));
  const blocks: string[] = [];
  let current: string[] | undefined;
  for (const line of lines.slice(start + 1, end < 0 ? undefined : end)) {
    if (current === undefined && line.trim() === '```sh') current = [];
    else if (current !== undefined && line.trim() === '```') {
      blocks.push(current.join('\n'));
      current = undefined;
    } else current?.push(line);
  }
  if (current !== undefined) throw new Error(`README section "${title}" has an unclosed code block`);
  return blocks;
}

/**
 * The Install section (minus `npm run setup`: the suite runs after it, and re-running it would rebuild the
 * executables other tests are running), then every block of Getting started: one script, stopped by the first
 * failing command (`set -e`, pipefail), each command echoed to stderr as it runs.
 */
export function readmeGuideScript(markdown: string, checkout: string): string {
  const install = shellBlocksOfSection(markdown, 'Install').map((block) => block.split('\n').filter((line) => !/^npm run setup\b/.test(line)).join('\n'));
  const tour = shellBlocksOfSection(markdown, 'Getting started');
  if (tour.length === 0) throw new Error('README section "Getting started" has no sh block');
  return ['set -euo pipefail', "PS4='+ '", 'set -x', `cd ${JSON.stringify(checkout)}`, ...install, ...tour, ''].join('\n');
}
