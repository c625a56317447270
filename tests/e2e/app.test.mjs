// End-to-end tests: the built app (dist/) served on 127.0.0.1, driven in headless Chromium.
//
// Run by scripts/test after `trunk build --release`. WebGPU runs on Chromium's software
// adapter (SwiftShader), so everything is kept small: a few hundred training images.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { serve } from './server.mjs';
import { OUTPUT, ROOT, catalogueReady, circle, collectErrors, finishedRuns, launch, line, stroke } from './browser.mjs';

const QUICK_RUN = '?page=train&epochs=1&epoch_images=320&test_images=500';

let server;
let webgpuBrowser;
let plainBrowser;

before(async () => {
  mkdirSync(OUTPUT, { recursive: true });
  rmSync(join(OUTPUT, 'long-tasks.jsonl'), { force: true });
  server = await serve(join(ROOT, 'dist'));
  webgpuBrowser = await launch({ webgpu: true });
  plainBrowser = await launch();
});

after(async () => {
  // Shards still held back (a failed test) would keep the server from closing.
  server?.releaseShards();
  await webgpuBrowser?.close();
  await plainBrowser?.close();
  server?.close();
});

/** Opens `path` in a new page; collects console errors and uncaught exceptions. */
async function open(browser, path, { withoutWebGpu = false, withoutWorkers = false } = {}) {
  const context = await browser.newContext({ viewport: { width: 1200, height: 1000 } });
  if (withoutWebGpu) {
    // As in a browser without WebGPU: no navigator.gpu at all.
    await context.addInitScript(() => {
      Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined });
    });
  }
  if (withoutWorkers) {
    // As in a browser that cannot start module workers.
    await context.addInitScript(() => {
      window.Worker = function Worker() {
        throw new TypeError('module workers are not supported');
      };
    });
  }
  const page = await context.newPage();
  const errors = collectErrors(page);
  await page.goto(server.url + '/' + path);
  return { page, errors, context };
}

const text = async (page, selector) => (await page.textContent(selector)).trim();

/** Waits for the weights catalogue, then loads the Shapes sample set (six classes). */
async function loadShapes(page) {
  await catalogueReady(page);
  await page.click('#sample-shapes');
  await page.locator('.class-row').nth(5).waitFor({ timeout: 60_000 });
}

/** The page still runs on WebGPU, and shows no notice of a fallback to the CPU. */
async function assertStillOnWebGpu(page) {
  assert.equal(await page.getAttribute('#backend', 'data-backend'), 'webgpu', 'still on WebGPU');
  assert.equal(await page.locator('#backend-notice').count(), 0);
}

/** Clicks Train once shards are in, waits for the run to finish, returns the figures shown. */
async function trainQuickly(page, { pauseOnce = false } = {}) {
  await page.locator('#train-button:enabled').waitFor({ timeout: 120_000 });
  await page.click('#train-button');
  if (pauseOnce) {
    // Pause after a couple of steps. The step in flight still completes (and is shown);
    // after it, the step count must hold still until Resume.
    await page.waitForFunction(() => Number(document.querySelector('#step').textContent) >= 2);
    await page.click('#pause-button');
    await page.locator('#status[data-status="paused"]').waitFor();
    await page.waitForTimeout(3_000);
    const pausedAt = await text(page, '#step');
    await page.waitForTimeout(3_000);
    assert.equal(await text(page, '#step'), pausedAt, 'training went on while paused');
    await page.click('#resume-button');
  }
  await page.locator('#status[data-status="finished"], #status[data-status="failed"]').waitFor({ timeout: 300_000 });
  return {
    status: await page.getAttribute('#status', 'data-status'),
    backend: await page.getAttribute('#backend', 'data-backend'),
    imagesSeen: Number(await text(page, '#images-seen')),
    firstLoss: Number(await text(page, '#first-loss')),
    lastLoss: Number(await text(page, '#last-loss')),
    testAccuracy: Number(await page.getAttribute('#test-accuracy', 'data-value')),
  };
}

test('WebGPU forward pass matches the CPU backend and training steps lower the loss', async () => {
  const { page, errors, context } = await open(webgpuBrowser, '?selftest&backend=webgpu');
  const json = await page.locator('#selftest-result').textContent({ timeout: 180_000 });
  const result = JSON.parse(json);
  console.log('selftest:', json);
  assert.equal(result.error, undefined, result.error);
  assert.equal(result.backend, 'webgpu');
  // A NaN or missing logit serialises as null: demand a number.
  assert.equal(typeof result.max_abs_logit_diff, 'number', json);
  assert.ok(result.max_abs_logit_diff < 1e-4, `logits differ by ${result.max_abs_logit_diff}`);
  assert.equal(result.losses.length, 6);
  assert.ok(result.losses.at(-1) < result.losses[0] * 0.8, `losses ${result.losses}`);
  assert.deepEqual(errors, []);
  await context.close();
});

test('the Train page trains on WebGPU, pauses and resumes: loss falls, accuracy beats chance', async () => {
  const { page, errors, context } = await open(webgpuBrowser, `${QUICK_RUN}&backend=webgpu`);
  const figures = await trainQuickly(page, { pauseOnce: true });
  console.log('webgpu run:', JSON.stringify(figures));
  await page.screenshot({ path: join(OUTPUT, 'train-webgpu.png'), fullPage: true });
  assert.equal(figures.status, 'finished');
  assert.equal(figures.backend, 'webgpu');
  assert.equal(figures.imagesSeen, 320);
  assert.ok(figures.lastLoss < figures.firstLoss, `loss ${figures.firstLoss} -> ${figures.lastLoss}`);
  // 320 images, one epoch: well above chance (0.1), which a broken network would not leave.
  assert.ok(figures.testAccuracy > 0.3, `test accuracy ${figures.testAccuracy}`);
  assert.match(await page.textContent('#data-progress'), /14\/14 shards/);
  assert.deepEqual(errors, []);
  await context.close();
});

test('a software WebGPU adapter is measured against the CPU, and the faster one is used', async () => {
  const { page, errors, context } = await open(webgpuBrowser, '?page=train&epochs=1&epoch_images=64');
  await page.locator('#backend-notice').waitFor({ timeout: 120_000 });
  const notice = await page.textContent('#backend-notice');
  console.log('backend choice:', notice);
  assert.equal(await page.getAttribute('#backend', 'data-backend'), 'cpu');
  assert.match(notice, /software emulation, and a test forward pass took \d+ ms on it against \d+ ms on the CPU/);
  // The verdict is remembered for this adapter: a reload does not probe again.
  await page.reload();
  await page.locator('#backend-notice').waitFor({ timeout: 30_000 });
  assert.equal(await page.textContent('#backend-notice'), notice);
  assert.deepEqual(errors, []);
  await context.close();
});

test('without WebGPU the page says why and trains on the CPU backend', async () => {
  const { page, errors, context } = await open(plainBrowser, QUICK_RUN, { withoutWebGpu: true });
  await page.locator('#backend-notice').waitFor({ timeout: 60_000 });
  assert.match(await page.textContent('#backend-notice'), /navigator\.gpu/);
  await watchLongTasks(page);
  const figures = await trainQuickly(page);
  console.log('cpu run:', JSON.stringify(figures));
  // Training runs in the compute worker, so the page's main thread stays free.
  const runner = await page.getAttribute('#status', 'data-runner');
  assert.equal(runner, 'worker');
  const msPerStep = Number(await page.getAttribute('#step', 'data-ms-per-step'));
  assert.ok(msPerStep > 0, 'steps were timed');
  const longest = Math.round(await page.evaluate(() => window.longestTask));
  console.log(`training on the CPU in the worker: ${msPerStep} ms per step; longest main-thread task ${longest} ms`);
  appendTaskLine(page, { work: 'training', backend: 'cpu', runner, ms_per_step: msPerStep, longest_task_ms: longest });
  await page.screenshot({ path: join(OUTPUT, 'train-cpu-fallback.png'), fullPage: true });
  assert.equal(figures.status, 'finished');
  assert.equal(figures.backend, 'cpu');
  assert.ok(figures.lastLoss < figures.firstLoss, `loss ${figures.firstLoss} -> ${figures.lastLoss}`);
  // 320 images, one epoch: well above chance (0.1), which a broken network would not leave.
  assert.ok(figures.testAccuracy > 0.3, `test accuracy ${figures.testAccuracy}`);
  assert.deepEqual(errors, []);
  await context.close();
});

test('shards that arrive while the Train page trains join its epoch in the worker', async () => {
  // The server holds every shard but the first train and test shard until released.
  const { page, errors, context } = await open(
    plainBrowser,
    '?page=train&backend=cpu&data=held-mnist&epochs=1&epoch_images=6000&test_images=500&batch=8',
  );
  await page.locator('#train-button:enabled').waitFor({ timeout: 120_000 });
  assert.match(await page.textContent('#data-progress'), /2\/14 shards/);
  await page.click('#train-button');
  await page.waitForFunction(() => Number(document.querySelector('#step').textContent) >= 1, null, { timeout: 60_000 });
  server.releaseShards();
  // 6,000 images need the second train shard, which arrived after the worker started.
  await page.locator('#status[data-status="finished"], #status[data-status="failed"]').waitFor({ timeout: 300_000 });
  assert.equal(await page.getAttribute('#status', 'data-status'), 'finished');
  assert.equal(await text(page, '#images-seen'), '6000');
  assert.equal(await page.getAttribute('#status', 'data-runner'), 'worker');
  assert.deepEqual(errors, []);
  await context.close();
});

test('a browser that cannot compile the WebAssembly (no SIMD) is told why, not shown a blank page', async () => {
  const context = await plainBrowser.newContext();
  await context.addInitScript(() => {
    const refuse = () => Promise.reject(new WebAssembly.CompileError('SIMD unsupported'));
    WebAssembly.instantiateStreaming = refuse;
    WebAssembly.instantiate = refuse;
  });
  const page = await context.newPage();
  await page.goto(server.url + '/?backend=cpu');
  const note = page.locator('#unsupported-browser');
  await note.waitFor({ timeout: 60_000 });
  assert.match(await note.textContent(), /needs WebAssembly SIMD \(Chrome or Edge 91, Firefox 89, Safari 16\.4/);
  await context.close();
});

test('a corrupt shard is reported by name and training cannot start on it', async () => {
  const { page, context } = await open(plainBrowser, '?page=train&backend=cpu&data=corrupt-mnist');
  const message = await page.locator('#data-error').textContent({ timeout: 60_000 });
  assert.match(message, /shard train-000\.shard: SHA-256/);
  assert.equal(await page.isDisabled('#train-button'), true);
  await page.screenshot({ path: join(OUTPUT, 'corrupt-shard.png') });
  await context.close();
});

test('the ?bench page prints throughput, latency, meta-step and adaptation times as JSON lines', async () => {
  // profile=0 asks for these benchmarks, not the profile.
  const { page, context } = await open(webgpuBrowser, '?bench&profile=0&backend=webgpu&steps=3&repeats=3&meta_repeats=1');
  await page.locator('#bench-output[data-state="done"]').waitFor({ timeout: 600_000 });
  const lines = (await page.textContent('#bench-output')).trim().split('\n').map((l) => JSON.parse(l));
  for (const line of lines) console.log('bench:', JSON.stringify(line));
  assert.deepEqual(lines.map((l) => l.bench), [
    'train_images_per_s', 'forward_latency_ms', 'forward_latency_ms',
    'protonet_meta_step_ms', 'fomaml_meta_step_ms', 'maml_meta_step_ms',
    'adapt_latency_ms', 'adapt_latency_ms', 'adapt_latency_ms', 'adapt_latency_ms',
  ]);
  assert.ok(lines.every((l) => l.backend === 'webgpu' && l.value > 0));
  // Each way's two adaptation figures differ in where the head steps run, host then device.
  const places = lines.filter((l) => l.bench === 'adapt_latency_ms').map((l) => l.setting.match(/steps on the (\w+)/)[1]);
  assert.deepEqual(places, ['host', 'device', 'host', 'device']);
  await context.close();
});

test('?bench&profile prints where the time goes: training phases, forward layers, adaptation phases', async () => {
  const { page, context } = await open(plainBrowser, '?bench&profile&backend=cpu&steps=1&meta_repeats=1');
  await page.locator('#bench-output[data-state="done"]').waitFor({ timeout: 600_000 });
  const lines = (await page.textContent('#bench-output')).trim().split('\n').map((l) => JSON.parse(l));
  const benches = [...new Set(lines.map((l) => l.bench))];
  assert.deepEqual(benches, ['train_step_phase_ms', 'forward_layer_ms', 'adapt_phase_ms']);
  const layers = lines.filter((l) => l.bench === 'forward_layer_ms').map((l) => l.setting);
  assert.deepEqual(layers.slice(1, 7), [
    'standardise and convolve', 'ReLU after the convolution', 'max-pool',
    'hidden dense layer', 'ReLU after the dense layer', 'output layer',
  ]);
  assert.ok(lines.every((l) => l.backend === 'cpu' && l.value >= 0));
  await context.close();
  // WebGPU cannot wait for the device on a page: a clear refusal, not a hang.
  const gpu = await open(webgpuBrowser, '?bench&profile&backend=webgpu');
  await gpu.page.locator('#bench-output[data-state="failed"]').waitFor({ timeout: 120_000 });
  assert.match(await gpu.page.textContent('#bench-output'), /error: the profile waits for the device .* backend=cpu/);
  await gpu.context.close();
});

test('the 1-shot challenge on a sample set compares three networks that differ only in their features', async () => {
  const { page, errors, context } = await open(webgpuBrowser, '?backend=webgpu');
  // A new visitor is told what to do, not that their (empty) drawing is too small.
  assert.match(await page.textContent('#drawing-status'), /Draw one symbol/);
  await loadShapes(page);
  assert.equal(await page.locator('.class-row').count(), 6);
  await page.click('#challenge-button');
  const runs = await finishedRuns(page, 3);
  for (const run of runs) console.log('challenge:', JSON.stringify(run));
  await page.screenshot({ path: join(OUTPUT, 'playground-challenge.png'), fullPage: true });
  assert.match(runs[0].label, /^meta-trained features/);
  assert.match(runs[1].label, /^random features/);
  assert.match(runs[2].label, /^digit-classifier features/);
  assert.ok(runs.every((r) => r.procedure === runs[0].procedure), 'one adaptation procedure for all');
  assert.ok(runs.every((r) => r.ms > 0), 'each network is timed on its own');
  assert.ok(runs.every((r) => r.testAccuracy !== undefined));
  // Six classes: chance is 1/6. The meta-trained features must do far better, and better
  // than random features adapted the same way.
  assert.ok(runs[0].testAccuracy > 0.5, `meta-trained: ${runs[0].testAccuracy}`);
  assert.ok(runs[0].testAccuracy > runs[1].testAccuracy, 'meta-trained features beat random ones');
  assert.match(await text(page, '#challenge-summary'), /tested on the other 54 examples/);

  // A ring drawn by a person: every network answers, side by side, labelled.
  await stroke(page, circle(120, 150, 70));
  await page.click('#predict-button');
  await page.locator('#predictions .bars').nth(2).waitFor({ timeout: 60_000 });
  await page.screenshot({ path: join(OUTPUT, 'playground-predict.png'), fullPage: true });
  const titles = await page.locator('#predictions .bars').evaluateAll((panels) => panels.map((p) => p.dataset.title));
  assert.deepEqual(titles, runs.map((r) => r.label));
  assert.equal(await page.getAttribute('#panel-0', 'data-predicted'), '●');

  await page.reload();
  await page.locator('.class-row').nth(5).waitFor();
  assert.equal(await page.locator('.class-row').count(), 6, 'the gallery survives a reload');
  assert.deepEqual(errors, []);
  await context.close();
});

/** Class index → three varied drawings of it (each a list of strokes). */
const SYMBOLS = [
  [[line(40, 140, 240, 140)], [line(60, 100, 220, 104)], [line(30, 190, 200, 186)]], // ★: a dash
  [[circle(140, 140, 90)], [circle(120, 150, 60)], [circle(160, 120, 75)]], // ●: a ring
  [[line(140, 30, 140, 250)], [line(100, 60, 104, 220)], [line(190, 40, 186, 200)]], // ▲: a bar
];

test('the playground learns drawn symbols from the keyboard and pad, and predicts a new drawing', async () => {
  const { page, errors, context } = await open(plainBrowser, '?backend=cpu');
  await catalogueReady(page);
  assert.equal(await page.isDisabled('#adapt-button'), true, 'Adapt needs an example of each class');
  assert.match(await text(page, '#adapt-hint'), /Draw at least one example of: ★, ●, ▲/);
  assert.equal(await page.isDisabled('#add-button'), true);
  await stroke(page, line(10, 10, 60, 20));
  await page.keyboard.press('u');
  assert.match(await text(page, '#drawing-status'), /Draw one symbol/);
  for (const [index, drawings] of SYMBOLS.entries()) {
    await page.keyboard.press(String(index + 1)); // pick the class from the keyboard
    for (const [n, strokes] of drawings.entries()) {
      for (const s of strokes) await stroke(page, s);
      if (n === 0) await page.click('#add-button');
      else await page.keyboard.press('Enter');
    }
  }
  const counts = await page.locator('.class-row').evaluateAll((rows) => rows.map((r) => r.dataset.count));
  assert.deepEqual(counts, ['3', '3', '3']);
  await page.screenshot({ path: join(OUTPUT, 'playground-gallery.png'), fullPage: true });
  await page.keyboard.press('a');
  // P while adapting is refused, like the disabled Predict button, and says why.
  await page.keyboard.press('p');
  await page.locator('#playground-message', { hasText: 'Wait for the adaptation to finish' }).waitFor();
  assert.equal(await page.locator('#predictions').count(), 0, 'no prediction from a half-adapted network');
  const runs = await finishedRuns(page, 3);
  await stroke(page, circle(110, 170, 50));
  console.log('drawn symbols:', JSON.stringify(runs));
  assert.match(runs[0].status, /support accuracy 100 %/);
  await page.keyboard.press('p');
  await page.locator('#predictions .bars').nth(2).waitFor({ timeout: 60_000 });
  assert.equal(await page.getAttribute('#panel-0', 'data-predicted'), '●');
  assert.deepEqual(errors, []);
  await context.close();
});

test('no click crashes the playground or loses work', async () => {
  const { page, errors, context } = await open(plainBrowser, '?backend=cpu&steps=abc&inner_lr=-1');
  // Bad URL values are clamped or replaced, and the page says so.
  const notes = await text(page, '.setting-notes');
  assert.match(notes, /steps = "abc" is not a number/);
  assert.match(notes, /inner_lr = -1 is outside/);
  await catalogueReady(page);

  // Removing a class is undoable (until the next change).
  await page.locator('.class-row').nth(2).locator('.remove-class').click();
  await page.locator('.notice', { hasText: 'Removed the class ▲' }).waitFor();
  await page.click('#undo-change');
  assert.equal(await page.locator('.class-row').count(), 3);
  // Removing the selected class, then drawing, once crashed the app.
  await page.keyboard.press('3');
  await page.locator('.class-row').nth(2).locator('.remove-class').click();
  await stroke(page, circle(140, 140, 80));
  await page.keyboard.press('Enter');
  assert.deepEqual(await page.locator('.class-row').evaluateAll((rows) => rows.map((r) => r.dataset.count)), ['0', '1']);
  assert.equal(await page.locator('#undo-change').count(), 0, 'Undo would now throw the drawing away');

  // Switching mode during an adaptation cancels it: nothing of it reaches the other mode.
  await page.click('#sample-arrows');
  await page.locator('.class-row').nth(4).waitFor({ timeout: 60_000 });
  await page.click('#adapt-button');
  await page.click('#mode-digits');
  await page.waitForTimeout(3_000);
  assert.equal(await page.locator('#runs .run').count(), 0, 'the cancelled comparison left nothing');
  await page.click('#mode-symbols');
  await page.waitForTimeout(2_000);
  assert.equal(await page.locator('#runs .run').count(), 0);

  // Start over is undoable.
  await page.click('#new-gallery-button');
  assert.equal(await page.locator('.class-row').count(), 3);
  await page.click('#undo-change');
  assert.equal(await page.locator('.class-row').count(), 5, 'the arrows are back');

  // An import of the other mode's gallery goes to that mode; a failed save stays visible.
  await page.evaluate(() => {
    Storage.prototype.setItem = () => { throw new DOMException('full', 'QuotaExceededError'); };
  });
  const blank = Array(784).fill(0);
  const digits = {
    format: 'fewshot-lab.gallery.v1', kind: 'digits', selected: 0,
    classes: Array.from({ length: 10 }, (_, d) => ({ name: String(d), examples: d < 3 ? [blank] : [], active: d < 3 })),
  };
  await page.setInputFiles('#import-file', { name: 'mine.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(digits)) });
  await page.locator('.notice', { hasText: 'Imported a digits gallery of 3 classes' }).waitFor();
  assert.equal(await page.getAttribute('#mode-digits', 'aria-selected'), 'true');
  assert.match(await text(page, '#save-error'), /Not saved/);
  // A broken import is refused and changes nothing.
  await page.setInputFiles('#import-file', { name: 'broken.json', mimeType: 'application/json', buffer: Buffer.from('{"format": "nope"') });
  await page.locator('#playground-message', { hasText: 'Import failed' }).waitFor();
  assert.deepEqual(await page.locator('.class-name.digit').allTextContents(), ['0', '1', '2']);
  assert.match(await text(page, '#save-error'), /Not saved/, 'the save failure is still shown');
  await page.screenshot({ path: join(OUTPUT, 'playground-errors.png'), fullPage: true });
  assert.deepEqual(errors, []);
  await context.close();
});

test('the playground adapts a sample set on the CPU in the worker and predicts twice, its longest main-thread task measured', async () => {
  const { page, errors, context } = await open(plainBrowser, '?backend=cpu');
  await loadShapes(page);
  await watchLongTasks(page);
  await page.click('#adapt-button');
  const runs = await finishedRuns(page, 3);
  await stroke(page, circle(120, 150, 70));
  await page.click('#predict-button');
  await page.locator('#predictions .bars').nth(2).waitFor({ timeout: 60_000 });
  // A second drawing gets predictions from every adapted network (the second Predict once
  // found none and showed nothing).
  await page.keyboard.press('c');
  await stroke(page, [[70, 70], [210, 70], [210, 210], [70, 210], [70, 70]]);
  await page.click('#predict-button');
  await page.waitForFunction(() => document.querySelectorAll('#predictions .bars').length === 3, null, { timeout: 60_000 });
  const predicted = await page.locator('#predictions .bars').evaluateAll((panels) => panels.map((p) => p.dataset.predicted));
  const names = ['●', '▲', '■', '★', '✕', '♡'];
  assert.ok(predicted.every((p) => names.includes(p)), `every network names a class: ${predicted}`);
  assert.ok(runs.every((r) => r.ms > 0), 'each network is timed on its own');
  assert.ok(runs.every((r) => /support accuracy/.test(r.status)), JSON.stringify(runs));
  await recordAdaptation(page, 'adaptation', runs);
  assert.deepEqual(errors, []);
  await context.close();
});

test('a weights download that fails is reported as such, not as a GPU failure', async () => {
  const { page, context } = await open(webgpuBrowser, 'missing-weights/?backend=webgpu');
  await loadShapes(page);
  await page.click('#adapt-button');
  const runs = await finishedRuns(page, 3);
  assert.match(runs[0].status, /could not be loaded/);
  assert.match(runs[0].status, /404/);
  await assertStillOnWebGpu(page);
  await context.close();
});

test('a worker that crashes while predicting is reported as such, not as a GPU failure; Adapt starts a new one', async () => {
  const { page, context } = await open(webgpuBrowser, '?backend=webgpu');
  await loadShapes(page);
  // Adapt twice while the worker starts: the second request replaces the first.
  await page.dblclick('#adapt-button');
  await finishedRuns(page, 3);
  // Predict twice at once: the second is refused while the first is answered.
  await stroke(page, circle(120, 150, 70));
  await page.evaluate(() => { const b = document.querySelector('#predict-button'); b.click(); b.click(); });
  await page.locator('#predictions .bars').nth(2).waitFor({ timeout: 120_000 });
  assert.equal(await page.locator('#predictions .bars').count(), 3);

  // The worker now fails on its next message, as a panic in its wasm would. Every worker the
  // page lists: the one that lost the double click's start-up race may not have left the list.
  await Promise.allSettled(page.workers().map((worker) =>
    worker.evaluate(() => { self.onmessage = () => { throw new Error('test crash'); }; })));
  await page.click('#predict-button');
  const message = page.locator('#playground-message', { hasText: 'compute worker stopped' });
  await message.waitFor({ timeout: 60_000 });
  assert.match(await message.textContent(), /test crash/);
  await assertStillOnWebGpu(page);
  // Its adapted networks are gone: Predict waits for an adaptation (it once showed empty panels),
  // and so are their earlier predictions (they once stayed on the page).
  assert.ok(await page.locator('#predict-button').isDisabled());
  assert.equal(await page.locator('#predictions .bars').count(), 0);
  assert.equal(await page.locator('.class-row').count(), 6, 'the gallery is kept');

  await page.click('#adapt-button');
  await page.waitForFunction(() => !document.querySelector('#runs .run[data-ms]'));
  await finishedRuns(page, 3);
  await page.click('#predict-button');
  await page.locator('#predictions .bars').nth(2).waitFor({ timeout: 120_000 });
  await page.screenshot({ path: join(OUTPUT, 'playground-worker-crash.png'), fullPage: true });

  // A worker that fails between requests, with no request listening, is reported at once (it
  // once went unseen until the next click), its networks with it; the next Adapt replaces it
  // (it once got the stale failure, and adapted nothing).
  await page.workers().at(-1).evaluate(() => { setTimeout(() => { throw new Error('idle crash'); }); });
  const idle = page.locator('#playground-message', { hasText: 'idle crash' });
  await idle.waitFor({ timeout: 60_000 });
  assert.match(await idle.textContent(), /compute worker stopped/);
  assert.ok(await page.locator('#predict-button').isDisabled());
  assert.equal(await page.locator('#predictions .bars').count(), 0, 'predictions of the lost networks are gone');
  await page.screenshot({ path: join(OUTPUT, 'playground-worker-idle-crash.png'), fullPage: true });
  await page.click('#adapt-button');
  await page.waitForFunction(() => !document.querySelector('#runs .run[data-ms]'));
  await Promise.race([
    finishedRuns(page, 3),
    message.waitFor({ timeout: 120_000 }).then(async () => assert.fail(await message.textContent())),
  ]);
  await context.close();
});

test('the episode page shows plain MAML changing its predictions step by step, beside the prototype head', async () => {
  const { page, errors, context } = await open(webgpuBrowser, '?page=episode&backend=webgpu');
  const right = (index, column) =>
    page.locator(`#episode-trace-${index} tbody tr td:nth-child(${column}).right`).count();
  // Three episodes: plain MAML's learned output layer knows nothing of a task before its steps,
  // so after the steps it was meta-trained for, more queries are right than at the start (summed
  // over the episodes; one 15-query episode alone can go either way). The prototype head starts
  // from the support set and is right far above chance (3 of 15 per episode).
  let [mamlStart, mamlTrained, protoEnd, changed] = [0, 0, 0, 0];
  for (let episode = 0; episode < 3; episode += 1) {
    await page.locator('#episode-button:enabled').waitFor({ timeout: 120_000 });
    await page.click('#episode-button');
    await page.locator('#episode-button:disabled').waitFor({ timeout: 10_000 });
    await page.locator('#episode-button:enabled').waitFor({ timeout: 300_000 });
    assert.equal(await page.locator('#episode-support figure').count(), 5, '5-way 1-shot');
    for (const index of [0, 1]) {
      const table = `#episode-trace-${index}`;
      assert.equal(await page.locator(`${table} tbody tr`).count(), 15, '3 queries per class');
      assert.equal(await page.locator(`${table} td.right, ${table} td.wrong`).count(), 15 * 6);
    }
    const title = await page.locator('.trace-block h3').first().textContent();
    const trained = Number(title.match(/meta-trained for (\d+) step/)[1]);
    const columns = await page.locator('#episode-trace-0 tbody tr').evaluateAll((rows) =>
      rows.map((r) => [...r.querySelectorAll('td.right, td.wrong')].map((c) => c.textContent)));
    changed += columns.filter((row) => row[0] !== row[trained]).length;
    mamlStart += await right(0, 3);
    mamlTrained += await right(0, 3 + trained);
    protoEnd += await right(1, 8);
  }
  await page.screenshot({ path: join(OUTPUT, 'episode.png'), fullPage: true });
  console.log(`episodes: plain MAML changed ${changed} of 45 predictions, right ${mamlStart} -> ${mamlTrained}; prototype head ${protoEnd}`);
  assert.ok(changed > 0, 'the inner steps change predictions');
  assert.ok(mamlTrained >= mamlStart + 6, `adapting helps plain MAML: ${mamlStart} -> ${mamlTrained} of 45`);
  assert.ok(protoEnd >= 27, `prototype head: ${protoEnd} of 45 right (chance: 9)`);
  assert.deepEqual(errors, []);
  await context.close();
});

test('"My handwriting" compares the classifier as it is, fine-tuned, and meta-trained for handwriting', async () => {
  const { page, errors, context } = await open(plainBrowser, '?backend=cpu');
  await catalogueReady(page);
  await page.click('#mode-digits');
  // Teach three digits only: untick the other seven (their drawings would be kept).
  for (const digit of [2, 3, 4, 5, 6, 8, 9]) {
    await page.locator('.digit-choice', { hasText: String(digit) }).locator('input').uncheck();
  }
  const names = await page.locator('.class-name.digit').allTextContents();
  assert.deepEqual(names, ['0', '1', '7']);
  const digits = [
    [[circle(140, 140, 70)], [circle(130, 150, 60)]], // 0
    [[line(140, 40, 140, 240)], [line(120, 50, 128, 230)]], // 1
    [[line(60, 50, 220, 50), line(220, 50, 110, 240)], [line(70, 60, 210, 60), line(210, 60, 120, 230)]], // 7
  ];
  for (const [index, drawings] of digits.entries()) {
    await page.keyboard.press(String(index + 1));
    for (const strokes of drawings) {
      for (const s of strokes) await stroke(page, s);
      await page.keyboard.press('Enter');
    }
  }
  await watchLongTasks(page);
  await page.click('#adapt-button');
  const runs = await finishedRuns(page, 3);
  console.log('handwriting:', JSON.stringify(runs));
  assert.match(runs[0].label, /classifier \(conv4\), no adaptation/);
  assert.match(runs[1].label, /fine-tuned on your digits/);
  assert.match(runs[2].label, /meta-trained for handwriting/);
  for (const s of [line(70, 50, 210, 50), line(210, 50, 130, 235)]) await stroke(page, s);
  await page.click('#predict-button');
  await page.locator('#predictions .bars').nth(2).waitFor({ timeout: 60_000 });
  await page.screenshot({ path: join(OUTPUT, 'playground-handwriting.png'), fullPage: true });
  for (const index of [0, 1, 2]) {
    assert.equal(await page.locator(`#panel-${index} .bar-row`).count(), 3, 'every network scores the taught digits');
  }
  assert.equal(await page.getAttribute('#panel-1', 'data-predicted'), '7');
  // Fine-tuning takes Adam steps on every layer: in the worker, not on the page.
  await recordAdaptation(page, 'whole-network adaptation', runs.slice(1, 2));
  assert.deepEqual(errors, []);
  await context.close();
});

test('URL settings out of range are clamped with a message, and ?data= stays on this site', async () => {
  const bench = await open(plainBrowser, '?bench&backend=cpu&steps=1&repeats=0&meta_repeats=1');
  await bench.page.locator('#bench-output[data-state="done"]').waitFor({ timeout: 300_000 });
  assert.match(await bench.page.textContent('.setting-notes'), /repeats = 0 is outside 1–1000; using 1/);
  await bench.context.close();
  const train = await open(plainBrowser, '?page=train&backend=cpu&epochs=0&data=https://example.invalid/mnist');
  assert.match(await train.page.textContent('.setting-notes'), /epochs = 0 is outside/);
  const message = await train.page.locator('#data-error').textContent({ timeout: 30_000 });
  assert.match(message, /another site/);
  await train.context.close();
});

/**
 * Clicks goals in the Meta-RL page's first arena, checks each is adapted to and drawn, and
 * returns the meta-trained policy's summed return before adaptation and after one update.
 */
async function adaptToGoals(page, goals) {
  let [before, after] = [0, 0];
  await page.locator('#rl-status', { hasText: 'Click in an arena' }).waitFor({ timeout: 120_000 });
  for (const [x, y] of goals) {
    await page.locator('#arena-0 canvas').click({ position: { x, y } });
    await page.waitForFunction(
      () => [0, 1, 2].every((i) => document.querySelector(`#arena-${i}`)?.dataset.rounds === '4'),
      null,
      { timeout: 300_000 },
    );
    const returns = (await page.getAttribute('#arena-0', 'data-returns')).split(',').map(Number);
    console.log(`meta-RL goal at (${x}, ${y}): meta-trained returns ${returns.map((r) => r.toFixed(1)).join(' -> ')}`);
    assert.equal(returns.length, 4);
    assert.ok(returns.every(Number.isFinite), `returns ${returns}`);
    before += returns[0];
    after += returns[1];
    // The blue trajectories (after one update) are on the canvas.
    const blue = await page.locator('#arena-0 canvas').evaluate((canvas) => {
      const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
      let count = 0;
      for (let i = 0; i < data.length; i += 4) {
        if (Math.abs(data[i] - 0x1c) < 30 && Math.abs(data[i + 1] - 0x7e) < 30 && Math.abs(data[i + 2] - 0xd6) < 30) count++;
      }
      return count;
    });
    assert.ok(blue > 50, `${blue} blue pixels`);
  }
  return { before, after };
}

// One update raises the meta-trained policy's return on average over goals (see the README's
// table), not on every single goal: the tests sum over their clicks.

test('the meta-RL page adapts three policies to clicked goals and draws their trajectories', async () => {
  const { page, errors, context } = await open(plainBrowser, '?page=rl&backend=cpu');
  const { before, after } = await adaptToGoals(page, [[200, 60], [50, 190]]);
  assert.ok(after > before, `one update improves the meta-trained policy: ${before} -> ${after}`);
  await page.locator('#bandit-regret[data-series="3"]').waitFor({ timeout: 120_000 });
  assert.doesNotMatch(await page.textContent('#bandit-status'), /Not shown/);
  // Meta-training on the page puts its policy in the first arena, adapted to the current goal.
  const shipped = await page.getAttribute('#arena-0', 'data-returns');
  await page.click('#rl-train-button');
  await page.locator('#arena-0 figcaption', { hasText: 'meta-trained here' }).waitFor({ timeout: 300_000 });
  await page.waitForFunction(
    (old) => {
      const arena = document.querySelector('#arena-0');
      return arena?.dataset.rounds === '4' && arena.dataset.returns !== old;
    },
    shipped,
    { timeout: 120_000 },
  );
  assert.equal(await page.locator('#rl-train-error').count(), 0);
  await page.screenshot({ path: join(OUTPUT, 'rl.png'), fullPage: true });
  assert.deepEqual(errors, []);
  await context.close();
});

test('the meta-RL page works on WebGPU', async () => {
  const { page, errors, context } = await open(webgpuBrowser, '?page=rl&backend=webgpu');
  const { before, after } = await adaptToGoals(page, [[180, 200]]);
  assert.ok(after > before, `one update improves the meta-trained policy: ${before} -> ${after}`);
  assert.equal(await page.getAttribute('#backend', 'data-backend'), 'webgpu');
  await page.screenshot({ path: join(OUTPUT, 'rl-webgpu.png'), fullPage: true });
  assert.deepEqual(errors, []);
  await context.close();
});

/** Types `value` into the number field `selector` and commits it, as a person would. */
async function setNumber(page, selector, value) {
  await page.fill(selector, String(value));
  await page.press(selector, 'Tab');
}

test('the evolution page shows the command-line search and runs, pauses and resets one here', async () => {
  const { page, errors, context } = await open(plainBrowser, '?page=evolve&backend=cpu');
  await page.waitForFunction(() => Number(document.querySelector('#committed-search')?.dataset.measured) >= 8, null, {
    timeout: 60_000,
  });
  assert.ok((await page.locator('#committed-search ol.lineage li').count()) >= 1);
  const command = await page.textContent('#committed-search pre.command');
  assert.match(command, /^fewshot-lab meta-train --algo \S+ .*--backbone \S+.* --protocol p2$/);
  assert.equal(command.match(/--backbone/g).length, 1, command);
  assert.match(await page.getAttribute('#committed-search a.meta-train-link', 'href'), /^\.\/\?page=meta-train&protocol=p2&algo=/);
  await setNumber(page, '#evolve-population', 2);
  await setNumber(page, '#evolve-generations', 2);
  await setNumber(page, '#evolve-budget', 40);
  await setNumber(page, '#evolve-val', 5);
  await page.locator('#evolve-start:enabled').waitFor({ timeout: 120_000 });
  await page.click('#evolve-start');
  await page.locator('#evolve-status', { hasText: 'meta-step' }).waitFor({ timeout: 60_000 });
  // Paused, the search makes no progress; resumed, it goes on.
  assert.equal(await page.getAttribute('#evolve-status', 'data-runner'), 'worker');
  await page.click('#evolve-pause');
  // The worker finishes the meta-step under way, then says it holds.
  await page.locator('#evolve-status[data-phase="paused"][data-held="true"]').waitFor();
  const paused = await page.textContent('#evolve-status');
  await page.waitForTimeout(1500);
  assert.equal(await page.textContent('#evolve-status'), paused);
  await page.click('#evolve-pause');
  await page.locator('#evolve-status[data-phase="done"]').waitFor({ timeout: 300_000 });
  // Two defaults in the first generation, one child in the second (one elite carried over).
  assert.equal(await page.getAttribute('#search-here', 'data-measured'), '3');
  assert.equal(await page.locator('.evolve .error').count(), 0);
  await page.screenshot({ path: join(OUTPUT, 'evolve.png'), fullPage: true });
  await page.click('#evolve-reset');
  assert.equal(await page.getAttribute('#search-here', 'data-measured'), '0');
  assert.deepEqual(errors, []);
  await context.close();
});

test('the evolution page draws the command-line search on WebGPU', async () => {
  const { page, errors, context } = await open(webgpuBrowser, '?page=evolve&backend=webgpu');
  await page.waitForFunction(() => Number(document.querySelector('#committed-search')?.dataset.measured) >= 8, null, {
    timeout: 60_000,
  });
  assert.equal(await page.getAttribute('#backend', 'data-backend'), 'webgpu');
  await page.locator('#evolve-start:enabled').waitFor({ timeout: 120_000 });
  await page.screenshot({ path: join(OUTPUT, 'evolve-webgpu.png'), fullPage: true });
  assert.deepEqual(errors, []);
  await context.close();
});

test('the meta-train page trains in a worker, pauses, resumes, offers the network and puts it in the Playground', async () => {
  const { page, errors, context } = await open(
    plainBrowser,
    '?page=meta-train&backend=cpu&algo=protonet&meta_batch=2&steps=100&inner_steps=0',
  );
  assert.match(await page.textContent('.setting-notes'), /inner_steps = 0 is outside/);
  await setNumber(page, '#mt-validate-every', 50);
  await setNumber(page, '#mt-val', 5);
  await page.locator('#mt-start:enabled').waitFor({ timeout: 120_000 });
  await page.click('#mt-start');
  await page.waitForFunction(() => Number(document.querySelector('#mt-status')?.dataset.steps) >= 1, null, { timeout: 60_000 });
  await page.click('#mt-pause');
  // The worker finishes the meta-step under way, then says it holds.
  await page.locator('#mt-status[data-phase="paused"][data-held="true"]').waitFor();
  const steps = await page.getAttribute('#mt-status', 'data-steps');
  await page.waitForTimeout(1500);
  assert.equal(await page.getAttribute('#mt-status', 'data-steps'), steps, 'no meta-step while paused');
  await page.click('#mt-pause');
  await page.locator('#mt-status[data-phase="done"]').waitFor({ timeout: 120_000 });
  assert.equal(await page.getAttribute('#mt-status', 'data-steps'), '100');
  assert.equal(await page.getAttribute('#mt-status', 'data-validations'), '2');
  assert.equal(await page.locator('.meta-train .error').count(), 0);
  assert.match(await page.textContent('#mt-long-tasks'), /main-thread task/);
  // Meta-training runs in the compute worker: the page's main thread never holds a task as long
  // as one meta-step (on the page itself, the longest task was at least one step).
  assert.equal(await page.getAttribute('#mt-status', 'data-runner'), 'worker');
  assert.match(await page.textContent('#mt-long-tasks'), /background worker/);
  await recordLongestTask(page, 'cpu');
  // What the outer loop learned: 64 first-layer filters before, and after (they moved).
  await page.locator('#filters-before[data-filters="64"]').waitFor();
  await page.locator('#filters-after[data-filters="64"]').waitFor();
  const [before, after] = await Promise.all(
    ['#filters-before', '#filters-after'].map((id) => page.locator(id).evaluate((c) => c.toDataURL())),
  );
  assert.notEqual(before, after);
  await page.screenshot({ path: join(OUTPUT, 'meta-train.png'), fullPage: true });
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#mt-download')]);
  assert.equal(download.suggestedFilename(), 'p2-protonet.bpk');
  // "Use in the Playground": the network is kept in the browser and chosen in the Playground,
  // which adapts it to a sample set beside the same baselines as the shipped networks.
  await page.click('#mt-use');
  await page.waitForURL(/\?net=browser:p2-protonet/);
  await catalogueReady(page);
  assert.equal(await page.inputValue('#checkpoint'), 'browser:p2-protonet');
  await page.click('#sample-shapes');
  await page.locator('.class-row').nth(5).waitFor({ timeout: 60_000 });
  await page.click('#challenge-button');
  const runs = await finishedRuns(page, 3);
  assert.match(runs[0].label, /^meta-trained features \(protonet/);
  assert.ok(runs.every((r) => r.testAccuracy !== undefined));
  console.log('the network meta-trained in the page, in the Playground:', JSON.stringify(runs[0]));
  assert.deepEqual(errors, []);
  await context.close();
});

/** Starts recording the page's longest main-thread task (Long Tasks API) in `window.longestTask`. */
async function watchLongTasks(page) {
  await page.evaluate(() => {
    window.longestTask = 0;
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) window.longestTask = Math.max(window.longestTask, entry.duration);
    }).observe({ type: 'longtask' });
  });
}

/**
 * Checks that the Playground adapted in the worker, and appends the first of `runs`' time and
 * the longest main-thread task since `watchLongTasks` to tests/e2e/output/long-tasks.jsonl.
 */
async function recordAdaptation(page, work, runs) {
  const longest = Math.round(await page.evaluate(() => window.longestTask));
  console.log(`${work} on the CPU: ${JSON.stringify(runs)}; longest main-thread task ${longest} ms`);
  const runner = await page.getAttribute('#runs', 'data-runner');
  assert.equal(runner, 'worker');
  appendTaskLine(page, { work, backend: 'cpu', runner, ms_per_step: runs[0].ms, longest_task_ms: longest });
}

/**
 * Appends `line` (work, backend, runner, ms_per_step, longest_task_ms) with the browser's version
 * to tests/e2e/output/long-tasks.jsonl (scripts/long-tasks keeps them).
 */
function appendTaskLine(page, line) {
  const browser = `headless Chromium ${page.context().browser().version()}`;
  appendFileSync(join(OUTPUT, 'long-tasks.jsonl'), `${JSON.stringify({ ...line, browser })}\n`);
}

/**
 * Checks that the page's longest main-thread task during meta-training was shorter than one
 * meta-step, and appends both to tests/e2e/output/long-tasks.jsonl (scripts/long-tasks keeps them).
 */
async function recordLongestTask(page, backend) {
  const longest = Number(await page.getAttribute('#mt-long-tasks', 'data-longest'));
  const msPerStep = Number(await page.getAttribute('#mt-status', 'data-ms-per-step'));
  console.log(`meta-training on ${backend} in the worker: ${msPerStep} ms per meta-step; longest main-thread task ${longest} ms`);
  assert.ok(msPerStep > 0, 'steps were timed');
  assert.ok(longest < msPerStep, `longest main-thread task ${longest} ms < one meta-step ${msPerStep} ms`);
  const runner = await page.getAttribute('#mt-status', 'data-runner');
  appendTaskLine(page, { work: 'meta-training', backend, runner, ms_per_step: msPerStep, longest_task_ms: longest });
}

/** Runs the meta-train page's settings from the URL, validating every 2 steps on 5 tasks, to the end. */
async function metaTrainBriefly(page) {
  await setNumber(page, '#mt-validate-every', 2);
  await setNumber(page, '#mt-val', 5);
  await page.locator('#mt-start:enabled').waitFor({ timeout: 120_000 });
  await page.click('#mt-start');
  await page.locator('#mt-status[data-phase="done"]').waitFor({ timeout: 300_000 });
}

test('the meta-train page meta-trains on WebGPU and resets', async () => {
  const { page, errors, context } = await open(webgpuBrowser, '?page=meta-train&backend=webgpu&algo=protonet&meta_batch=1&steps=4');
  await metaTrainBriefly(page);
  assert.equal(await page.getAttribute('#backend', 'data-backend'), 'webgpu');
  assert.equal(await page.getAttribute('#mt-status', 'data-validations'), '2');
  assert.equal(await page.locator('.meta-train .error').count(), 0);
  assert.equal(await page.getAttribute('#mt-status', 'data-runner'), 'worker');
  assert.equal(await page.locator('.meta-train .notice').count(), 0, 'the worker meta-trains on WebGPU too');
  await recordLongestTask(page, 'webgpu');
  await page.click('#mt-reset');
  await page.locator('#mt-status[data-phase="idle"]').waitFor();
  assert.equal(await page.getAttribute('#mt-status', 'data-steps'), '0');
  await page.screenshot({ path: join(OUTPUT, 'meta-train-webgpu.png'), fullPage: true });
  assert.deepEqual(errors, []);
  await context.close();
});

test('where no worker can start, the meta-train page runs on the page itself and says so; a resized network with spatial features goes to the Playground', async () => {
  const { page, errors, context } = await open(
    plainBrowser,
    '?page=meta-train&backend=cpu&algo=protonet&meta_batch=1&steps=4&channels=16&spatial=1',
    { withoutWorkers: true },
  );
  assert.equal(await page.inputValue('#mt-channels'), '16');
  assert.ok(await page.isChecked('#mt-spatial'));
  await metaTrainBriefly(page);
  assert.equal(await page.getAttribute('#mt-status', 'data-runner'), 'page');
  assert.match(await page.textContent('.meta-train .notice'), /could not start a worker \(.*module workers are not supported/);
  assert.equal(await page.getAttribute('#mt-status', 'data-validations'), '2');
  assert.equal(await page.locator('.meta-train .error').count(), 0);
  // A network of other layer sizes goes to the Playground with its sizes, and is compared only
  // with random features of the same sizes (the shipped classifier has 64 channels).
  await page.click('#mt-use');
  await page.waitForURL(/\?net=browser:p2-protonet/);
  await loadShapes(page);
  await page.click('#challenge-button');
  const runs = await finishedRuns(page, 2);
  assert.deepEqual(
    runs.map((r) => r.label),
    [
      'meta-trained features (protonet, conv4 (16 channels, 3×3 features))',
      'random features (conv4 (16 channels, 3×3 features), no training)',
    ],
  );
  // The Playground, too, adapts on the page and says so.
  assert.equal(await page.getAttribute('#runs', 'data-runner'), 'page');
  assert.match(await page.textContent('#adapt-notice'), /could not start a worker .*the networks adapt on the page itself/);
  assert.deepEqual(errors, []);
  await context.close();
});

test('the meta-train page meta-trains a reference CNN of chosen sizes and charts the rates Meta-SGD learned', async () => {
  const { page, errors, context } = await open(
    plainBrowser,
    '?page=meta-train&backend=cpu&algo=meta-sgd&meta_batch=1&steps=2&inner_steps=1&backbone=reference&channels=2&hidden=32&spatial=1',
  );
  // The backbone and its sizes come from the URL; a width out of range is clamped, and spatial
  // features, Conv-4's alone, are ignored, each with a note.
  assert.equal(await page.inputValue('#mt-backbone'), 'reference');
  assert.equal(await page.inputValue('#mt-hidden'), '32');
  const notes = await page.textContent('.setting-notes');
  assert.match(notes, /channels = 2 is outside 4–128/);
  assert.match(notes, /spatial = 1 applies to conv4 only .*; ignored/);
  await metaTrainBriefly(page);
  const rates = page.locator('canvas[aria-label^="Meta-SGD\'s learned inner rates"]');
  await rates.waitFor();
  // Its title is also a visible caption above it, the words its accessible name says.
  const caption = page.locator('figure.chart-figure', { has: rates }).locator('.chart-title');
  assert.ok(await caption.isVisible());
  assert.equal(await caption.textContent(), await rates.getAttribute('aria-label'));
  // Its legend sits below the plot, one entry per line, so it never covers a line.
  const legend = page.locator('figure.chart-figure', { has: rates }).locator('.chart-legend li');
  assert.deepEqual(await legend.allTextContents(), ['mean learned rate', 'starting rate']);
  const [plot, entry] = [await rates.boundingBox(), await legend.first().boundingBox()];
  assert.ok(entry.y >= plot.y + plot.height, `legend at ${entry.y}, plot ends at ${plot.y + plot.height}`);
  await page.locator('#filters-after[data-filters="4"]').waitFor();
  assert.equal(await page.locator('.meta-train .error').count(), 0);
  assert.deepEqual(errors, []);
  await context.close();
});
