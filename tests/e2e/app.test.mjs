// End-to-end tests: the built app (dist/) served on 127.0.0.1, driven in headless Chromium.
//
// Run by scripts/test after `trunk build --release`. WebGPU runs on Chromium's software
// adapter (SwiftShader), so everything is kept small: a few hundred training images.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { serve } from './server.mjs';

const ROOT = new URL('../..', import.meta.url).pathname;
const OUTPUT = join(ROOT, 'tests/e2e/output');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const FLAGS = [
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];
const QUICK_RUN = '?page=train&epochs=1&epoch_images=320&test_images=500';

let server;
let webgpuBrowser;
let plainBrowser;

before(async () => {
  mkdirSync(OUTPUT, { recursive: true });
  server = await serve(join(ROOT, 'dist'));
  webgpuBrowser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [...FLAGS, '--enable-unsafe-webgpu'],
  });
  plainBrowser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
});

after(async () => {
  await webgpuBrowser?.close();
  await plainBrowser?.close();
  server?.close();
});

/** Opens `path` in a new page; collects console errors and uncaught exceptions. */
async function open(browser, path, { withoutWebGpu = false } = {}) {
  const context = await browser.newContext({ viewport: { width: 1200, height: 1000 } });
  if (withoutWebGpu) {
    // As in a browser without WebGPU: no navigator.gpu at all.
    await context.addInitScript(() => {
      Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined });
    });
  }
  const page = await context.newPage();
  const errors = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(String(error)));
  await page.goto(server.url + '/' + path);
  return { page, errors, context };
}

const text = async (page, selector) => (await page.textContent(selector)).trim();

/** Clicks Train once shards are in, waits for the run to finish, returns the figures shown. */
async function trainQuickly(page, { pauseOnce = false } = {}) {
  await page.locator('#train-button:enabled').waitFor({ timeout: 120_000 });
  await page.click('#train-button');
  if (pauseOnce) {
    // Pause after a couple of steps. The step in flight still completes (and is shown);
    // after it, the step count must hold still until Resume.
    await page.waitForFunction(() => Number(document.querySelector('#step').textContent) >= 2);
    await page.click('#pause-button');
    await page.locator('#status', { hasText: 'paused' }).waitFor();
    await page.waitForTimeout(3_000);
    const pausedAt = await text(page, '#step');
    await page.waitForTimeout(3_000);
    assert.equal(await text(page, '#step'), pausedAt, 'training went on while paused');
    await page.click('#resume-button');
  }
  await page.locator('#status', { hasText: /finished|failed/ }).waitFor({ timeout: 300_000 });
  return {
    status: await text(page, '#status'),
    backend: await page.getAttribute('#backend', 'data-backend'),
    imagesSeen: Number(await text(page, '#images-seen')),
    firstLoss: Number(await text(page, '#first-loss')),
    lastLoss: Number(await text(page, '#last-loss')),
    testAccuracy: Number(await page.getAttribute('#test-accuracy', 'data-value')),
  };
}

test('WebGPU forward pass matches the CPU backend and training steps lower the loss', async () => {
  const { page, errors, context } = await open(webgpuBrowser, '?selftest');
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
  const { page, errors, context } = await open(webgpuBrowser, QUICK_RUN);
  const figures = await trainQuickly(page, { pauseOnce: true });
  console.log('webgpu run:', JSON.stringify(figures));
  await page.screenshot({ path: join(OUTPUT, 'train-webgpu.png'), fullPage: true });
  assert.equal(figures.status, 'finished');
  assert.equal(figures.backend, 'webgpu');
  assert.equal(figures.imagesSeen, 320);
  assert.ok(figures.lastLoss < figures.firstLoss, `loss ${figures.firstLoss} -> ${figures.lastLoss}`);
  assert.ok(figures.testAccuracy > 0.1, `test accuracy ${figures.testAccuracy}`);
  assert.match(await page.textContent('#data-progress'), /14\/14 shards/);
  assert.deepEqual(errors, []);
  await context.close();
});

test('without WebGPU the page says why and trains on the CPU backend', async () => {
  const { page, errors, context } = await open(plainBrowser, QUICK_RUN, { withoutWebGpu: true });
  await page.locator('#backend-notice').waitFor({ timeout: 60_000 });
  assert.match(await page.textContent('#backend-notice'), /navigator\.gpu/);
  const figures = await trainQuickly(page);
  console.log('cpu run:', JSON.stringify(figures));
  await page.screenshot({ path: join(OUTPUT, 'train-cpu-fallback.png'), fullPage: true });
  assert.equal(figures.status, 'finished');
  assert.equal(figures.backend, 'cpu');
  assert.ok(figures.lastLoss < figures.firstLoss, `loss ${figures.firstLoss} -> ${figures.lastLoss}`);
  assert.ok(figures.testAccuracy > 0.1, `test accuracy ${figures.testAccuracy}`);
  assert.deepEqual(errors, []);
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
  const { page, context } = await open(webgpuBrowser, '?bench&steps=3&repeats=3&meta_repeats=1');
  await page.locator('#bench-output[data-state="done"]').waitFor({ timeout: 600_000 });
  const lines = (await page.textContent('#bench-output')).trim().split('\n').map((l) => JSON.parse(l));
  for (const line of lines) console.log('bench:', JSON.stringify(line));
  assert.deepEqual(lines.map((l) => l.bench), [
    'train_images_per_s', 'forward_latency_ms', 'forward_latency_ms',
    'protonet_meta_step_ms', 'fomaml_meta_step_ms', 'maml_meta_step_ms',
    'adapt_latency_ms', 'adapt_latency_ms',
  ]);
  assert.ok(lines.every((l) => l.backend === 'webgpu' && l.value > 0));
  await context.close();
});

/** Draws one stroke through `points` (pad coordinates, 0–280) with real pointer input. */
async function stroke(page, points) {
  await page.locator('#pad').scrollIntoViewIfNeeded();
  const box = await page.locator('#pad').boundingBox();
  const at = ([x, y]) => [box.x + (x * box.width) / 280, box.y + (y * box.height) / 280];
  await page.mouse.move(...at(points[0]));
  await page.mouse.down();
  for (const point of points.slice(1)) await page.mouse.move(...at(point), { steps: 2 });
  await page.mouse.up();
}

const line = (x0, y0, x1, y1) => [0, 0.25, 0.5, 0.75, 1].map((t) => [x0 + t * (x1 - x0), y0 + t * (y1 - y0)]);
const circle = (cx, cy, r) => Array.from({ length: 25 }, (_, i) => [cx + r * Math.cos((i / 24) * 2 * Math.PI), cy + r * Math.sin((i / 24) * 2 * Math.PI)]);

/** Class index → three varied drawings of it (each a list of strokes). */
const SYMBOLS = [
  [[line(40, 140, 240, 140)], [line(60, 100, 220, 104)], [line(30, 190, 200, 186)]], // ★: a dash
  [[circle(140, 140, 90)], [circle(120, 150, 60)], [circle(160, 120, 75)]], // ●: a ring
  [[line(140, 30, 140, 250)], [line(100, 60, 104, 220)], [line(190, 40, 186, 200)]], // ▲: a bar
];

test('the playground learns three drawn symbols, predicts a new drawing, and keeps the drawings', async () => {
  const { page, errors, context } = await open(webgpuBrowser, '');
  await page.locator('#weights-status', { hasText: 'Loaded' }).waitFor({ timeout: 120_000 });
  assert.equal(await page.isDisabled('#adapt-button'), true, 'Adapt needs an example of each class');
  assert.match(await text(page, '#adapt-hint'), /Draw at least one example of: ★, ●, ▲/);

  // An empty pad cannot be added; a stray stroke can be undone from the keyboard.
  assert.equal(await page.isDisabled('#add-button'), true);
  await stroke(page, line(10, 10, 60, 20));
  await page.keyboard.press('u');
  assert.match(await text(page, '#drawing-status'), /empty/);

  for (const [index, drawings] of SYMBOLS.entries()) {
    await page.keyboard.press(String(index + 1)); // pick the class from the keyboard
    for (const [n, strokes] of drawings.entries()) {
      for (const s of strokes) await stroke(page, s);
      if (n === 0) await page.click('#add-button');
      else await page.keyboard.press('Enter');
    }
  }
  await page.screenshot({ path: join(OUTPUT, 'playground-gallery.png'), fullPage: true });
  const counts = await page.locator('.class-row').evaluateAll((rows) => rows.map((r) => r.dataset.count));
  assert.deepEqual(counts, ['3', '3', '3']);

  await page.click('#adapt-button');
  await page.locator('#adapt-status', { hasText: 'adapted in' }).waitFor({ timeout: 180_000 });
  const status = await text(page, '#adapt-status');
  console.log('playground:', status);
  assert.match(status, /support accuracy 100 %/);

  // A new ring, smaller and off-centre: both networks answer, the meta-learned one rightly.
  await stroke(page, circle(110, 170, 50));
  await page.click('#predict-button');
  await page.locator('#left-panel').waitFor({ timeout: 60_000 });
  await page.screenshot({ path: join(OUTPUT, 'playground-predict.png'), fullPage: true });
  assert.equal(await page.getAttribute('#left-panel', 'data-predicted'), '●');
  assert.ok(['★', '●', '▲'].includes(await page.getAttribute('#right-panel', 'data-predicted')));

  // A bad import is refused and changes nothing.
  await page.setInputFiles('#import-file', { name: 'broken.json', mimeType: 'application/json', buffer: Buffer.from('{"format": "nope"') });
  await page.locator('#playground-message', { hasText: 'Import failed' }).waitFor();

  await page.reload();
  await page.locator('.class-row').first().waitFor();
  const after = await page.locator('.class-row').evaluateAll((rows) => rows.map((r) => r.dataset.count));
  assert.deepEqual(after, ['3', '3', '3'], 'the drawings survive a reload');
  assert.deepEqual(errors, []);
  await context.close();
});

test('the episode page shows support, queries and predictions before and after each inner step', async () => {
  const { page, errors, context } = await open(webgpuBrowser, '?page=episode');
  await page.locator('#episode-button:enabled').waitFor({ timeout: 120_000 });
  await page.click('#episode-button');
  await page.locator('#episode-trace th', { hasText: 'step 5' }).waitFor({ timeout: 180_000 });
  await page.locator('#episode-button:enabled').waitFor({ timeout: 60_000 });
  await page.screenshot({ path: join(OUTPUT, 'episode.png'), fullPage: true });
  assert.equal(await page.locator('#episode-support figure').count(), 5, '5-way 1-shot');
  assert.equal(await page.locator('#episode-trace tbody tr').count(), 15, '3 queries per class');
  const cells = await page.locator('#episode-trace td.right, #episode-trace td.wrong').count();
  assert.equal(cells, 15 * 6, 'a prediction per query before and after each of 5 steps');
  const right = await page.locator('#episode-trace td.right').count();
  assert.ok(right > 45, `${right} of 90 right: expected well above chance (18)`);
  assert.deepEqual(errors, []);
  await context.close();
});

test('"My handwriting" compares the plain MNIST classifier with the adapted network on taught digits', async () => {
  const { page, errors, context } = await open(webgpuBrowser, '');
  await page.locator('#weights-status', { hasText: 'Loaded' }).waitFor({ timeout: 120_000 });
  await page.click('#mode-digits');
  // Teach three digits only: untick the other seven.
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
  await page.screenshot({ path: join(OUTPUT, 'playground-handwriting-gallery.png'), fullPage: true });
  await page.click('#adapt-button');
  await page.locator('#adapt-status', { hasText: 'adapted in' }).waitFor({ timeout: 180_000 });
  for (const s of [line(70, 50, 210, 50), line(210, 50, 130, 235)]) await stroke(page, s);
  await page.click('#predict-button');
  await page.locator('#right-panel').waitFor({ timeout: 60_000 });
  await page.screenshot({ path: join(OUTPUT, 'playground-handwriting.png'), fullPage: true });
  assert.match(await page.textContent('#left-panel h4'), /Plain MNIST classifier/);
  assert.equal(await page.locator('#left-panel .bar-row').count(), 10, 'the classifier scores all ten digits');
  assert.equal(await page.locator('#right-panel .bar-row').count(), 3, 'the adapted network scores the taught ones');
  assert.equal(await page.getAttribute('#right-panel', 'data-predicted'), '7');
  assert.deepEqual(errors, []);
  await context.close();
});
