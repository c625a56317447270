// Reading benchmark pages and writing their figures: the JSON lines a page prints into
// #bench-output (our ?bench page, TF.js's page), and the results file they go to. Used by
// scripts/tfjs/compare.mjs and scripts/profile-browser.mjs.
import { execSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { ROOT } from '../tests/e2e/browser.mjs';

/** The figures the page at `url` prints, in a new page of `browser`, or an error saying why
 * it printed none. */
export async function benchFigures(browser, url) {
  const page = await browser.newPage();
  try {
    await page.goto(url);
    await page.locator('#bench-output:not([data-state="running"])').waitFor({ timeout: 900_000 });
    const text = (await page.textContent('#bench-output')).trim();
    if ((await page.getAttribute('#bench-output', 'data-state')) !== 'done') throw new Error(text);
    return text.split('\n').map((line) => JSON.parse(line));
  } finally {
    await page.close();
  }
}

/** Writes `lines` to the file `results`, each with the commit, the machine (and `browser`'s
 * version) and the date, and prints them one per line. */
export function writeFigures(results, lines, browser) {
  const commit = execSync('git rev-parse --short HEAD', { cwd: ROOT }).toString().trim();
  const machine = `${cpus()[0].model}, ${cpus().length} cores; headless Chromium ${browser.version()}`;
  const date = new Date().toISOString().slice(0, 10);
  writeFileSync(results, lines.map((l) => JSON.stringify({ ...l, commit, machine, date })).join('\n') + '\n');
  for (const l of lines) {
    const what = l.setting ? `${l.bench} ${l.setting}` : `${l.bench} batch ${l.batch}`;
    console.log(`${what}: ${l.backend} (${l.adapter}) ${l.value.toPrecision(3)} ${l.unit}`);
  }
}
