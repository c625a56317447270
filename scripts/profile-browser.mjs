// Where the time goes in the browser against natively: our ?bench&profile page on the CPU
// backend (the app's wasm, one thread, on the page) in headless Chromium, and the native CLI's
// `bench --profile` (one thread) in the same run, with the same steps and repeats; every phase
// as JSON lines to the file named first on the command line, each side's adapter saying where
// it ran, then the wasm time of each phase over the native time. The native binary is named
// second. Used by scripts/profile-browser.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { launch, ROOT } from '../tests/e2e/browser.mjs';
import { serve } from '../tests/e2e/server.mjs';
import { benchFigures, writeFigures } from './bench-page.mjs';

const [results, binary] = process.argv.slice(2);
const STEPS = 20;
const REPEATS = 20;

const server = await serve(join(ROOT, 'dist'));
const browser = await launch();
const page = `${server.url}/?bench&profile&backend=cpu&steps=${STEPS}&meta_repeats=${REPEATS}`;
const wasm = (await benchFigures(browser, page)).map((l) => ({ ...l, adapter: `${l.adapter}, wasm in headless Chromium` }));
const printed = execFileSync(binary, ['bench', '--profile', '--train-steps', `${STEPS}`, '--meta-repeats', `${REPEATS}`]);
const native = printed.toString().split('\n').filter((l) => l.startsWith('{'))
  .map((l) => JSON.parse(l)).map((l) => ({ ...l, adapter: `${l.adapter}, native` }));

// How many times the native time each phase takes in wasm, where the page's clock can tell:
// Chromium rounds performance.now() to 0.1 ms on a page that is not cross-origin isolated, so
// phases under 1 ms there (ten ticks) get no ratio.
const same = (a, b) => a.bench === b.bench && a.setting === b.setting && a.batch === b.batch;
const ratios = wasm.flatMap((w) => {
  const n = native.find((l) => same(l, w));
  return n && w.value >= 1 ? [{ ...w, backend: 'wasm ÷ native', adapter: 'same phase', value: w.value / n.value, unit: '× the native time' }] : [];
});

writeFigures(results, [...native, ...wasm, ...ratios], browser);
await browser.close();
server.close();
