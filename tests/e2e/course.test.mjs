// End-to-end tests of what course material needs: the app served from a sub-path, embedded in
// iframes and on a phone, share links, offline use and new deployments, and accessibility.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve } from './server.mjs';
import { OUTPUT, ROOT, catalogueReady, circle, collectErrors, finishedRuns, launch, line, stroke } from './browser.mjs';

const DIST = join(ROOT, 'dist');
const AXE = join(ROOT, 'node_modules/axe-core/axe.min.js');
let server;
let browser;
let app;

before(async () => {
  mkdirSync(OUTPUT, { recursive: true });
  server = await serve(DIST);
  app = `${server.url}/course/app/`;
  browser = await launch();
});

after(async () => {
  await browser?.close();
  server?.close();
});

/** A new context and page (CPU backend), with errors and every requested URL recorded. */
async function openPage(path, options = {}) {
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 }, ...options });
  const requests = [];
  context.on('request', (request) => requests.push(request.url()));
  const page = await context.newPage();
  const errors = collectErrors(page);
  await page.goto(app + path);
  return { context, page, errors, requests };
}

/** Requests that left the app's origin (data: and blob: URLs stay in the page). */
const foreign = (requests) =>
  requests.filter((url) => !url.startsWith(server.url) && !/^(data|blob):/.test(url));

/** Whether the page is wider than its viewport (a horizontal scroll bar). */
const overflowsWidth = (page) => page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);

/** Draws one stroke with a finger (touch events through the DevTools protocol). */
async function touchStroke(page, context, points) {
  const box = await page.locator('#pad').boundingBox();
  const at = ([x, y]) => ({ x: box.x + (x * box.width) / 280, y: box.y + (y * box.height) / 280 });
  const cdp = await context.newCDPSession(page);
  await cdp.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: [at(points[0])] });
  for (const point of points.slice(1)) {
    await cdp.send('Input.dispatchTouchEvent', { type: 'touchMove', touchPoints: [at(point)] });
  }
  await cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
}

test('a course page embeds three configured views from a sub-path; nothing leaves the origin', async () => {
  const { context, page, errors, requests } = await openPage('course.html', { viewport: { width: 760, height: 1900 } });
  const frames = page.locator('iframe');
  assert.equal(await frames.count(), 3);
  for (let i = 0; i < 3; i += 1) {
    await frames.nth(i).scrollIntoViewIfNeeded();
    const frame = page.frameLocator('iframe').nth(i);
    await frame.locator('.embed-bar #backend').waitFor({ timeout: 120_000 });
    assert.equal(await frame.locator('header.top').count(), 0, 'no site chrome in an embed');
  }
  const episode = page.frameLocator('iframe').nth(1);
  assert.equal(await episode.locator('#episode-way').inputValue(), '3', 'the embed keeps its settings');
  await page.waitForTimeout(3_000);
  await page.screenshot({ path: join(OUTPUT, 'course-page.png'), fullPage: true });
  assert.deepEqual(foreign(requests), []);
  assert.deepEqual(errors, []);
  await context.close();
});

test('embed mode fits a 640×480 iframe and a 360-px phone, where a finger draws without scrolling', async () => {
  const wide = await openPage('?embed=1&backend=cpu', { viewport: { width: 640, height: 480 } });
  await wide.page.locator('.embed-bar #backend').waitFor({ timeout: 120_000 });
  await catalogueReady(wide.page);
  assert.equal(await overflowsWidth(wide.page), false, 'wider than a 640-px iframe');
  assert.ok(await wide.page.locator('#pad').isVisible());
  await wide.page.screenshot({ path: join(OUTPUT, 'embed-640x480.png') });
  // The link stays put whatever the offline badge says: its text changes while the app is stored,
  // and a link that jumps then takes the click meant for it somewhere else.
  const linkBox = () => wide.page.locator('#open-full-app').boundingBox();
  const before = await linkBox();
  for (const text of ['x', 'an offline state far longer than any language says it']) {
    await wide.page.evaluate((label) => { document.querySelector('#offline-status').firstChild.data = label; }, text);
    assert.deepEqual(await linkBox(), before, `the link moved when the offline badge read "${text}"`);
  }
  // "Open the full app" carries the view's settings, without embed mode.
  await wide.page.fill('#steps', '7');
  await wide.page.locator('#steps').dispatchEvent('change');
  const [full] = await Promise.all([wide.context.waitForEvent('page'), wide.page.click('#open-full-app')]);
  await full.waitForLoadState();
  const fullUrl = new URL(full.url());
  assert.equal(fullUrl.searchParams.get('steps'), '7');
  assert.equal(fullUrl.searchParams.get('embed'), null);
  assert.ok(fullUrl.pathname.startsWith('/course/app/'), fullUrl.pathname);
  assert.deepEqual(wide.errors, []);
  await wide.context.close();

  const phone = await openPage('?embed=1&backend=cpu', {
    viewport: { width: 360, height: 640 },
    hasTouch: true,
    isMobile: true,
  });
  await catalogueReady(phone.page);
  assert.equal(await overflowsWidth(phone.page), false, 'wider than a 360-px phone');
  await phone.page.locator('#pad').scrollIntoViewIfNeeded();
  const scrolled = await phone.page.evaluate(() => window.scrollY);
  await touchStroke(phone.page, phone.context, circle(140, 140, 80));
  await phone.page.locator('#drawing-status', { hasText: 'ready' }).waitFor();
  assert.equal(await phone.page.evaluate(() => window.scrollY), scrolled, 'drawing scrolled the page');
  await phone.page.screenshot({ path: join(OUTPUT, 'embed-phone.png') });
  assert.deepEqual(phone.errors, []);
  await phone.context.close();
});

test('a share link reproduces the page settings and the drawn gallery, keeping the visitor\'s own', async () => {
  const teacher = await openPage('?page=meta-train&backend=cpu');
  await teacher.page.locator('#backend').waitFor({ timeout: 120_000 });
  await teacher.page.fill('#mt-inner-lr', '0.25');
  await teacher.page.locator('#mt-inner-lr').dispatchEvent('change');
  await teacher.page.selectOption('#mt-backbone', 'reference');
  await teacher.page.fill('#mt-hidden', '100');
  await teacher.page.locator('#mt-hidden').dispatchEvent('change');
  await teacher.page.click('#share-button');
  const metaLink = await teacher.page.inputValue('#share-link');
  const snippet = await teacher.page.inputValue('#embed-code');
  assert.match(snippet, /^<iframe src="[^"]*embed=1[^"]*" width="640" height="480"/);
  await teacher.context.close();

  const student = await openPage('');
  await student.page.goto(metaLink);
  assert.equal(await student.page.inputValue('#mt-inner-lr'), '0.25');
  assert.equal(await student.page.inputValue('#mt-backbone'), 'reference');
  assert.equal(await student.page.inputValue('#mt-hidden'), '100');
  await student.context.close();

  // A gallery drawn by hand travels in the link; the visitor's own gallery is not replaced.
  const drawer = await openPage('?backend=cpu');
  await catalogueReady(drawer.page);
  const strokes = [line(40, 140, 240, 140), circle(140, 140, 90), line(140, 30, 140, 250)];
  for (const [index, points] of strokes.entries()) {
    await drawer.page.keyboard.press(String(index + 1));
    await stroke(drawer.page, points);
    await drawer.page.click('#add-button');
  }
  await drawer.page.click('#share-button');
  const galleryLink = await drawer.page.inputValue('#share-link');
  const linkUrl = new URL(galleryLink);
  assert.ok(new URLSearchParams(linkUrl.hash.slice(1)).get('gallery'), 'the link carries the gallery after #');
  assert.equal(linkUrl.searchParams.get('gallery'), null, 'the drawings are never sent to the server');
  await drawer.page.screenshot({ path: join(OUTPUT, 'share-panel.png') });
  await drawer.context.close();

  const visitor = await openPage('?backend=cpu');
  await catalogueReady(visitor.page);
  await visitor.page.click('#sample-shapes');
  await visitor.page.locator('.class-row').nth(5).waitFor({ timeout: 60_000 });
  await visitor.page.goto(galleryLink);
  await visitor.page.locator('.class-row').nth(2).waitFor({ timeout: 60_000 });
  const counts = await visitor.page.locator('.class-row').evaluateAll((rows) => rows.map((r) => r.dataset.count));
  assert.deepEqual(counts, ['1', '1', '1']);
  assert.match(await visitor.page.textContent('#playground-message'), /brought its own gallery/);
  // Changes to the linked gallery survive a reload of the same link.
  await visitor.page.click('#add-class-button');
  await visitor.page.locator('.class-row').nth(3).waitFor();
  await visitor.page.reload();
  await visitor.page.locator('.class-row').nth(3).waitFor({ timeout: 60_000 });
  await visitor.page.goto(app + '?backend=cpu');
  await visitor.page.locator('.class-row').nth(5).waitFor({ timeout: 60_000 });
  assert.equal(await visitor.page.locator('.class-row').count(), 6, 'the visitor\'s own gallery is kept');
  // A damaged gallery in a link is reported, and the visitor's gallery shown.
  await visitor.page.goto(app + '?backend=cpu&again=1#gallery=broken');
  await visitor.page.locator('#playground-message', { hasText: 'could not be opened' }).waitFor();
  assert.equal(await visitor.page.locator('.class-row').count(), 6);
  assert.deepEqual(visitor.errors, []);
  await visitor.context.close();
});

test('after one visit the app starts and adapts offline, and a new build replaces the stored one', async () => {
  const { context, page, errors } = await openPage('?backend=cpu');
  await page.locator('#offline-status[data-state="ready"]').waitFor({ timeout: 180_000 });
  await context.setOffline(true);
  await page.reload();
  await catalogueReady(page);
  await page.click('#sample-shapes');
  await page.locator('.class-row').nth(5).waitFor({ timeout: 60_000 });
  await page.click('#challenge-button');
  const runs = await finishedRuns(page, 3);
  console.log('offline challenge:', JSON.stringify(runs.map((r) => [r.label, r.testAccuracy])));
  assert.ok(runs[0].testAccuracy > 0.5, `meta-trained network offline: ${runs[0].testAccuracy}`);
  await context.setOffline(false);

  const next = mkdtempSync(join(tmpdir(), 'fewshot-next-'));
  try {
    cpSync(DIST, next, { recursive: true });
    const worker = readFileSync(join(next, 'sw.js'), 'utf8');
    const version = /const VERSION = '(\w+)'/.exec(worker)[1];
    writeFileSync(join(next, 'sw.js'), worker.replace(`'${version}'`, `'${version}next'`));
    const html = readFileSync(join(next, 'index.html'), 'utf8');
    writeFileSync(join(next, 'index.html'), html.replace('<head>', '<head><meta name="build" content="next">'));
    server.setRoot(next);
    await page.reload();
    assert.equal(await page.locator('meta[name="build"]').count(), 1, 'the new build is served at once');
    await page.waitForFunction(
      async (wanted) => {
        const keys = await caches.keys();
        return keys.length === 1 && keys[0].endsWith(wanted);
      },
      ` ${version}next`,
      { timeout: 180_000, polling: 500 },
    );
  } finally {
    server.setRoot(DIST);
    rmSync(next, { recursive: true, force: true });
  }
  assert.deepEqual(errors.filter((e) => !/ERR_INTERNET_DISCONNECTED/.test(e)), []);
  await context.close();
});

test('when the offline copy cannot be stored, the badge says so instead of waiting forever', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  // Every weights file answers 404 here, so the worker's install fails.
  await page.goto(`${server.url}/missing-weights/?backend=cpu`);
  await page.locator('#offline-status[data-state="unavailable"]').waitFor({ timeout: 120_000 });
  assert.match(await page.getAttribute('#offline-status', 'title'), /could not be stored/);
  await context.close();
});

test('a picture opened from a file stands in for drawing; a file that is not a picture is refused', async () => {
  const { context, page, errors } = await openPage('?backend=cpu');
  await catalogueReady(page);
  // A photo of a ring: a screenshot of one drawn on the pad (dark ink on white).
  await stroke(page, circle(140, 140, 90));
  const drawn = await page.evaluate(() => document.querySelector('#drawing-status').textContent);
  assert.equal(drawn.trim(), 'ready');
  const photo = await page.locator('#pad').screenshot();
  await page.click('#clear-button');
  await page.setInputFiles('#picture-input', { name: 'ring.png', mimeType: 'image/png', buffer: photo });
  await page.locator('#drawing-status', { hasText: 'ready' }).waitFor();
  await page.click('#add-button');
  const counts = await page.locator('.class-row').evaluateAll((rows) => rows.map((r) => r.dataset.count));
  assert.deepEqual(counts, ['1', '0', '0'], 'the picture became an example of the selected class');
  await page.setInputFiles('#picture-input', { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('not a picture') });
  await page.locator('#playground-message', { hasText: 'notes.txt could not be read as a picture' }).waitFor();
  assert.deepEqual(errors, []);
  await context.close();
});

test('the language follows the browser, the URL and the picker, and switches in place', async () => {
  const zh = await openPage('?backend=cpu&steps=abc', { locale: 'zh-CN' });
  await zh.page.locator('nav.pages a', { hasText: '画板' }).waitFor({ timeout: 120_000 });
  assert.equal(await zh.page.getAttribute('html', 'lang'), 'zh');
  assert.match(await zh.page.textContent('.setting-notes'), /不是数字/);
  await zh.page.screenshot({ path: join(OUTPUT, 'playground-zh.png') });
  // A refused edit is explained in the page's language too: a name another class has.
  const names = zh.page.locator('input.class-name');
  await names.nth(1).fill(await names.nth(0).inputValue());
  await names.nth(1).press('Enter');
  await zh.page.locator('#playground-message', { hasText: '已经有名为' }).waitFor();
  // The picker switches at once, without a reload: the drawing stays.
  await stroke(zh.page, circle(140, 140, 90));
  assert.equal((await zh.page.textContent('#drawing-status')).trim(), '就绪');
  await zh.page.selectOption('#language', 'en');
  await zh.page.locator('nav.pages a', { hasText: 'Playground' }).waitFor();
  assert.equal((await zh.page.textContent('#drawing-status')).trim(), 'ready');
  // The URL's notes are worded again too (they once stayed in the first language).
  assert.match(await zh.page.textContent('.setting-notes'), /steps = "abc" is not a number/);
  assert.equal(await zh.page.getAttribute('html', 'lang'), 'en');
  assert.equal(new URL(zh.page.url()).searchParams.get('lang'), 'en');
  assert.deepEqual(zh.errors, []);
  await zh.context.close();

  // The URL sets it for an embed, and its share link keeps it.
  const embed = await openPage('?embed=1&lang=zh&backend=cpu', { viewport: { width: 640, height: 480 } });
  await embed.page.locator('#open-full-app', { hasText: '打开完整应用' }).waitFor({ timeout: 120_000 });
  await embed.page.click('#share-button');
  assert.equal(new URL(await embed.page.inputValue('#share-link')).searchParams.get('lang'), 'zh');
  await embed.page.screenshot({ path: join(OUTPUT, 'embed-zh.png') });
  assert.deepEqual(embed.errors, []);
  await embed.context.close();
});

test('in Chinese, no English sentence is left on any page', async () => {
  const pages = ['', '?embed=1', '?page=episode', '?page=rl', '?page=meta-train', '?page=evolve', '?page=train'];
  const found = [];
  for (const path of pages) {
    const { context, page, errors } = await openPage(`${path}${path ? '&' : '?'}backend=cpu&lang=zh`);
    await page.locator('#backend').waitFor({ timeout: 120_000 });
    await page.waitForTimeout(4_000);
    const english = await page.evaluate(() => {
      // Two English words in a row, outside code and what is marked translate="no".
      const sentence = /\b[A-Za-z]{2,}\s+[A-Za-z]{2,}\b/;
      const out = [];
      const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
      while (walker.nextNode()) {
        const text = walker.currentNode.textContent.trim();
        const skipped = walker.currentNode.parentElement.closest('script, style, noscript, code, pre, [translate="no"]');
        if (!skipped && sentence.test(text)) out.push(text.slice(0, 80));
      }
      for (const element of document.querySelectorAll('[aria-label], [title]')) {
        for (const name of ['aria-label', 'title']) {
          const value = element.getAttribute(name);
          if (value && sentence.test(value)) out.push(`${name}: ${value.slice(0, 80)}`);
        }
      }
      return out;
    });
    for (const text of english) found.push(`${path || '/'}: ${text}`);
    assert.deepEqual(errors, []);
    await context.close();
  }
  assert.deepEqual(found, []);
});

test('axe-core finds no serious accessibility violations on any page', async () => {
  const pages = ['', '?embed=1', '?page=episode', '?page=rl', '?page=meta-train', '?page=evolve', '?page=train'];
  const found = [];
  for (const path of pages) {
    const { context, page } = await openPage(`${path}${path ? '&' : '?'}backend=cpu`);
    await page.locator('#backend').waitFor({ timeout: 120_000 });
    await page.waitForTimeout(4_000);
    if (path === '') await page.click('#share-button');
    await page.addScriptTag({ path: AXE });
    const violations = await page.evaluate(async () => {
      const result = await window.axe.run(document, { resultTypes: ['violations'] });
      return result.violations
        .filter((v) => v.impact === 'serious' || v.impact === 'critical')
        .map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 6).map((n) => n.target.join(' ')).join(' | ')}`);
    });
    for (const v of violations) found.push(`${path || '/'} ${v}`);
    await context.close();
  }
  assert.deepEqual(found, []);
});
