// The JSON lines a benchmark page prints into #bench-output (our ?bench page, TF.js's page), or
// an error saying why it printed none. Used by scripts/tfjs/compare.mjs and
// scripts/profile-browser.mjs.

/** The figures the page at `url` prints, in a new page of `browser`. */
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
