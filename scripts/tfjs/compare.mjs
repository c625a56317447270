// Runs our ?bench page on the CPU backend and TF.js's page (index.html) on each of its
// backends in one headless Chromium, one after another, and writes every figure both measure,
// and how many times faster ours is than TF.js's fastest backend, as JSON lines to the file
// named first on the command line. Each further argument LABEL=DIR names another build of the
// app to measure the same way (its column says LABEL), e.g. the build before a change.
// Used by scripts/bench-browser.
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { launch, ROOT } from '../../tests/e2e/browser.mjs';
import { serve } from '../../tests/e2e/server.mjs';
import { benchFigures, writeFigures } from '../bench-page.mjs';

const [results, ...others] = process.argv.slice(2);
const builds = [['', join(ROOT, 'dist')], ...others.map((arg) => arg.split(/=(.*)/s, 2))];
const STEPS = 10;
const REPEATS = 10;
const TFJS_BACKENDS = ['cpu', 'wasm', 'webgl', 'webgpu'];
const SHARED = ['train_images_per_s', 'forward_latency_ms'];

// One served folder: the app builds under /app0/, /app1/…, the TF.js page under /tfjs/.
const site = mkdtempSync(join(tmpdir(), 'bench-browser-'));
builds.forEach(([, dir], i) => symlinkSync(resolve(ROOT, dir), join(site, `app${i}`)));
symlinkSync(join(ROOT, 'scripts/tfjs'), join(site, 'tfjs'));
const server = await serve(site);
const browser = await launch({ webgpu: true });

/** The JSON lines the page at `path` of the served folder prints. */
const figures = (path) => benchFigures(browser, `${server.url}/${path}`);

const lines = [];
let mine; // this build's figures
for (const [i, [label]] of builds.entries()) {
  const ours = await figures(`app${i}/?bench&backend=cpu&steps=${STEPS}&repeats=${REPEATS}&meta_repeats=1`);
  const adapter = (l) => (label ? `${l.adapter}, ${label}` : l.adapter);
  const shared = ours.filter((l) => SHARED.includes(l.bench)).map((l) => ({ ...l, backend: `Few-Shot Lab ${l.backend}`, adapter: adapter(l) }));
  mine ??= shared;
  lines.push(...shared);
}
for (const backend of TFJS_BACKENDS) {
  try {
    lines.push(...(await figures(`tfjs/index.html?backend=${backend}&steps=${STEPS}&repeats=${REPEATS}`)));
  } catch (error) {
    console.error(`TF.js ${backend}: ${error.message}`);
  }
}

// Ours against TF.js's fastest backend, figure by figure, as a speed ratio: above 1, ours is faster.
for (const ours of mine) {
  const peers = lines.filter((l) => l.backend === 'tfjs' && l.bench === ours.bench && l.batch === ours.batch);
  const higherIsBetter = ours.unit === 'images/s';
  const speedUp = (peer) => (higherIsBetter ? ours.value / peer.value : peer.value / ours.value);
  const best = peers.sort((a, b) => speedUp(a) - speedUp(b))[0];
  if (!best) continue;
  const backend = best.adapter.match(/, (\w+) backend/)[1];
  lines.push({ ...ours, backend: 'ours ÷ TF.js', adapter: 'its fastest backend', value: speedUp(best), unit: `× the speed of TF.js ${backend}` });
}

writeFigures(results, lines, browser);
await browser.close();
server.close();
rmSync(site, { recursive: true });
