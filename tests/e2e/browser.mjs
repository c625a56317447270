// What every browser test shares: where Chromium and the outputs are, its flags, and opening a
// page with its console errors collected.
import { join } from 'node:path';
import { chromium } from 'playwright-core';

export const ROOT = new URL('../..', import.meta.url).pathname;
export const OUTPUT = join(ROOT, 'tests/e2e/output');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const FLAGS = [
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

/** Headless Chromium, with software WebGPU if `webgpu`. */
export function launch({ webgpu = false } = {}) {
  const args = webgpu ? [...FLAGS, '--enable-unsafe-webgpu'] : FLAGS;
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args });
}

/** Collects console errors and uncaught exceptions of `page` into a list. */
export function collectErrors(page) {
  const errors = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(String(error)));
  return errors;
}

/** Draws one stroke through `points` (pad coordinates, 0–280) with real pointer input. */
export async function stroke(page, points) {
  await page.locator('#pad').scrollIntoViewIfNeeded();
  const box = await page.locator('#pad').boundingBox();
  const at = ([x, y]) => [box.x + (x * box.width) / 280, box.y + (y * box.height) / 280];
  await page.mouse.move(...at(points[0]));
  await page.mouse.down();
  for (const point of points.slice(1)) await page.mouse.move(...at(point), { steps: 2 });
  await page.mouse.up();
}

export const line = (x0, y0, x1, y1) => [0, 0.25, 0.5, 0.75, 1].map((t) => [x0 + t * (x1 - x0), y0 + t * (y1 - y0)]);
export const circle = (cx, cy, r) =>
  Array.from({ length: 25 }, (_, i) => [cx + r * Math.cos((i / 24) * 2 * Math.PI), cy + r * Math.sin((i / 24) * 2 * Math.PI)]);

/** Waits until the weights catalogue is in and Adapt is only waiting for drawings. */
export async function catalogueReady(page) {
  await page.waitForFunction(() => !/catalogue/.test(document.querySelector('#adapt-hint')?.textContent ?? 'catalogue'), null, { timeout: 120_000 });
}

/** The compared networks' rows once every one has a result: label, time, accuracies. */
export async function finishedRuns(page, count) {
  await page.waitForFunction(
    (n) => {
      const runs = [...document.querySelectorAll('#runs .run')];
      return runs.length === n && runs.every((r) => r.dataset.ms || /could not/.test(r.textContent));
    },
    count,
    { timeout: 300_000 },
  );
  return page.locator('#runs .run').evaluateAll((runs) => runs.map((r) => ({
    label: r.dataset.label,
    procedure: r.querySelector('.run-procedure').textContent,
    status: r.querySelector('.run-status').textContent,
    ms: Number(r.dataset.ms),
    testAccuracy: r.dataset.testAccuracy === undefined ? undefined : Number(r.dataset.testAccuracy),
  })));
}
