// The kiosk page in Debian's Chromium against the real bridge (`ocp serve`)
// and the virtual card behind pcscd.  run.sh issues the card and sets the
// KIOSK_* environment; this file starts the bridge and the browser.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { chromium } = require('playwright-core');

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run this through run.sh`);
  return v;
};
const OCP = env('KIOSK_OCP');
const KEYS = env('KIOSK_KEYS');
const READER = env('KIOSK_READER');
const WWW = env('KIOSK_WWW');
const IMAGE = env('KIOSK_IMAGE');
const CARD_SH = env('KIOSK_CARD_SH');
const TMP = env('KIOSK_TMP');
const SPOKEN = env('KIOSK_SPOKEN');
const SHOTS = env('KIOSK_SHOTS');
const EXPECTED = JSON.parse(fs.readFileSync(env('KIOSK_EXPECTED_READ'), 'utf8'));
const EXPECTED_LOG = JSON.parse(fs.readFileSync(env('KIOSK_EXPECTED_LOG'), 'utf8')).log;
const CATALOGUE = JSON.parse(fs.readFileSync(env('KIOSK_CATALOGUE'), 'utf8'));
const AXE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
let pin = env('KIOSK_PIN');
const OTHER_PIN = '1357';

let bridge;          // the ocp serve process
let base;            // http://127.0.0.1:PORT
let browser;
let bridgeLog = '';

// ---- the bridge, the card, the browser ----------------------------------

function startBridge(extra = []) {
  return new Promise((resolve, reject) => {
    const p = spawn(OCP, ['-r', READER, '--keys', KEYS, 'serve', '--listen', '127.0.0.1:0',
      '--www', WWW, ...extra], {
      env: { ...process.env, OCP_SPEECH_CMD: env('KIOSK_SPEECH_CMD') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const timer = setTimeout(() => reject(new Error(`no "serving" line within 10 s: ${out}${bridgeLog}`)), 10000);
    p.stdout.on('data', (d) => {
      out += d;
      const m = /serving (http:\/\/[0-9.:]+)\/?/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ proc: p, url: m[1] });
      }
    });
    p.stderr.on('data', (d) => { bridgeLog += d; });
    p.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`ocp serve exited (${code}): ${bridgeLog}`));
    });
  });
}

function stopBridge(p) {
  return new Promise((resolve) => {
    if (p.exitCode !== null) return resolve(p.exitCode);
    p.removeAllListeners('exit');
    p.on('exit', (code) => resolve(code));
    p.kill('SIGTERM');
  });
}

function card(what) {
  return new Promise((resolve, reject) => {
    const p = spawn('bash', [CARD_SH, what, IMAGE], { stdio: ['ignore', 'inherit', 'inherit'] });
    p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`card.sh ${what}: ${code}`))));
  });
}

async function newPage(options = {}) {
  const context = await browser.newContext({
    viewport: { width: 1280, height: 900 }, locale: 'zh-CN', ...options,
  });
  const page = await context.newPage();
  page.problems = [];
  page.on('console', (m) => {
    // A CSP violation, or any script error, is a failure.  (Answers with an
    // error status are looked at below: 401 for a wrong PIN is expected.)
    if (m.type() === 'error' && !/^Failed to load resource/.test(m.text())) page.problems.push(m.text());
  });
  page.on('response', (r) => {
    if (r.status() >= 400 && !(r.status() === 401 && /\/api\/pin\//.test(r.url()))) {
      page.problems.push(`${r.status()} ${r.url()}`);
    }
  });
  page.on('pageerror', (e) => page.problems.push(`pageerror: ${e.message}`));
  await page.goto(`${base}/`);
  return page;
}

async function closePage(page) {
  assert.deepEqual(page.problems, [], 'no script errors or CSP violations');
  await page.context().close();
}

// ---- what to look for ---------------------------------------------------

async function onScreen(page, name, timeout = 10000) {
  await page.waitForFunction((n) => document.documentElement.dataset.screen === n &&
    !document.getElementById(`screen-${n}`).hidden, name, { timeout });
  // The new screen's heading has the focus.
  assert.equal(await page.evaluate(() => document.activeElement.id), `${name}-h`);
}

async function liveText(page, region, re, timeout = 5000) {
  await page.waitForFunction(([id, src]) => new RegExp(src).test(document.getElementById(id).textContent),
    [region, re.source], { timeout }).catch(async () => {
    const got = await page.textContent(`#${region}`);
    assert.fail(`#${region} should match ${re}, has "${got}"`);
  });
  return page.textContent(`#${region}`);
}

async function visible(page, selector) {
  await page.waitForSelector(`${selector}:not([hidden])`, { state: 'visible', timeout: 10000 });
}

let shotCount = 0;
async function screenshot(page, name) {
  shotCount++;
  const file = path.join(SHOTS, `${name}.png`);
  if (!page.textSize) {
    await page.screenshot({ path: file, fullPage: true });
    return;
  }
  // Chromium forgets emulated font sizes whenever the window size is
  // emulated anew (as a full-page screenshot does): make the window as
  // tall as the page, set the text size again, take the window.
  const size = page.viewportSize();
  const height = await page.evaluate(() => document.documentElement.scrollHeight);
  await page.setViewportSize({ width: size.width, height: Math.max(size.height, height) });
  await page.setTextSize(page.textSize);
  await page.screenshot({ path: file });
  await page.setViewportSize(size);
  await page.setTextSize(page.textSize);
}

// axe-core in the page (page.evaluate is not subject to the page's CSP):
// no serious or critical violation of WCAG 2.1 A and AA.
async function axe(page, label) {
  if (!(await page.evaluate(() => typeof window.axe !== 'undefined'))) await page.evaluate(AXE);
  const result = await page.evaluate(() => window.axe.run(document, {
    runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
  }));
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(bad.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target).join(' ')})`), [],
    `axe on ${label}`);
  assert.ok(result.passes.length >= 10, `axe ran its rules on ${label} (${result.passes.length} passed)`);
}

// Every visible button at least 44 × 44 CSS px.
async function targets(page, label) {
  const small = await page.evaluate(() => [...document.querySelectorAll('button, a[href], [role="button"]')]
    .filter((b) => b.getClientRects().length && getComputedStyle(b).visibility !== 'hidden')
    .map((b) => ({ b, r: b.getBoundingClientRect() }))
    .filter(({ b, r }) => !(b.classList.contains('skip-link') && r.bottom < 0))
    .filter(({ r }) => r.width < 44 || r.height < 44)
    .map(({ b, r }) => `${b.id || b.dataset.key || b.textContent}: ${r.width}x${r.height}`));
  assert.deepEqual(small, [], `touch targets on ${label}`);
}

// Nothing wider than the window.
async function noSideways(page, label) {
  const r = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    width: document.documentElement.clientWidth,
    wide: [...document.querySelectorAll('body *')].filter((e) => e.getClientRects().length &&
      e.getBoundingClientRect().right > document.documentElement.clientWidth + 1 &&
      !e.classList.contains('visually-hidden')).map((e) => e.id || e.className || e.tagName).slice(0, 5),
  }));
  assert.ok(r.scroll <= r.width, `${label}: page ${r.scroll}px wide in a ${r.width}px window (${r.wide})`);
  assert.deepEqual(r.wide, [], `${label}: elements past the right edge`);
}

async function checkScreen(page, name, { zoom = false } = {}) {
  if (page.textSize) {
    const px = await page.evaluate(() => parseFloat(getComputedStyle(document.documentElement).fontSize));
    assert.equal(px, page.textSize, `${name}: the text size is still in force`);
  }
  await targets(page, name);
  await noSideways(page, name);
  if (!zoom) await axe(page, name);
  await screenshot(page, name);
}

async function typePinWithKeys(page, digits) {
  for (const d of digits) await page.click(`[data-pad] [data-key="${d}"] >> visible=true`);
}

function spokenSoFar() {
  return fs.readFileSync(SPOKEN, 'utf8');
}

async function spokenAfter(before, timeout = 5000) {
  const end = Date.now() + timeout;
  while (Date.now() < end) {
    const now = spokenSoFar();
    if (now.length > before.length && now.endsWith('--END--\n')) return now.slice(before.length);
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail('the bridge spoke nothing');
}

// What a counter or balance says on screen, from `ocp read --role kiosk`.
function yuan(fen) {
  const whole = String(Math.floor(fen / 100)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${whole}.${String(fen % 100).padStart(2, '0')}`;
}

// ---- the tests --------------------------------------------------------------

before(async () => {
  ({ proc: bridge, url: base } = await startBridge());
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-gpu',
      '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
});

after(async () => {
  if (browser) await browser.close();
  if (bridge) await stopBridge(bridge);
  if (process.env.KIOSK_VERBOSE) process.stderr.write(bridgeLog);
});

test('card in: status, wrong PIN, entitlements as on the card, card out to the start screen', async () => {
  const page = await newPage();
  await onScreen(page, 'card');
  await visible(page, '#card-facts');
  assert.equal(await page.textContent('#card-id'), EXPECTED.card_id);
  assert.equal(await page.textContent('#card-state'), '正常');
  assert.match(await page.textContent('#card-sig'), /验证通过/);
  const tries = Number((await page.textContent('#card-note')).match(/(\d+) 次/)[1]);
  await checkScreen(page, 'card');

  await page.click('#card-pin');
  await onScreen(page, 'pin');
  await checkScreen(page, 'pin');
  await typePinWithKeys(page, '1111');
  assert.equal(await page.textContent('[data-pad="verify"] .pin-count'), '已输入 4 位');
  await page.click('[data-pad="verify"] [data-key="ok"]');
  await visible(page, '#pin-error');
  await page.waitForFunction(() => /尝试/.test(document.getElementById('pin-error').textContent));
  assert.equal(await page.textContent('#pin-error'), `密码错误，还可以尝试 ${tries - 1} 次。`);
  await liveText(page, 'live-alert', new RegExp(`密码错误，还可以尝试 ${tries - 1} 次`));
  await checkScreen(page, 'pin-wrong');

  await typePinWithKeys(page, pin);
  await page.click('[data-pad="verify"] [data-key="ok"]');
  await onScreen(page, 'holder');
  await visible(page, '#holder-body');
  assert.equal(await page.textContent('#holder-name'), EXPECTED.holder.name);
  assert.equal(await page.textContent('#holder-district'), EXPECTED.holder.district);
  // Each entitlement the card holds, in plain language, and nothing else.
  const shown = await page.$$eval('#ent-list li', (lis) => lis.map((li) => ({
    service: li.dataset.service, name: li.querySelector('h3').textContent,
    status: li.querySelector('.status').textContent,
  })));
  assert.equal(shown.length, EXPECTED.entitlements.length);
  for (const e of EXPECTED.entitlements) {
    const s = shown.find((x) => x.service === e.service);
    assert.ok(s, `entitlement ${e.service} shown`);
    const cat = CATALOGUE.services.find((c) => c.code.toLowerCase() === e.service.toLowerCase());
    assert.equal(s.name, cat.name_zh);
    if (e.kind === 'pass') assert.equal(s.status, '不限次数');
    if (e.kind === 'counter') assert.equal(s.status, `本月还剩 ${e.remaining} 次（每月 ${e.limit} 次）`);
    if (e.kind === 'balance') assert.equal(s.status, `余额 ${yuan(e.balance_fen)} 元`);
  }
  assert.ok(EXPECTED.entitlements.some((e) => e.kind === 'balance' && e.balance_fen === 120000 - 1550),
    'the card holds the balance run.sh left');
  // The last uses, as the card's log has them.
  const uses = await page.$$eval('#use-list li', (lis) => lis.map((li) => li.textContent));
  assert.equal(uses.length, EXPECTED_LOG.length);
  assert.ok(uses.some((u) => /出租车乘车补贴，支付 15\.50 元/.test(u)), `uses: ${uses}`);
  assert.ok(uses.some((u) => /免费乘坐地面公交，使用 1 次/.test(u)), `uses: ${uses}`);
  await checkScreen(page, 'holder');
  await page.click('#dis-toggle');
  await visible(page, '#dis-details');
  assert.equal(await page.textContent('#dis-category'), '视力残疾');
  assert.equal(await page.textContent('#dis-grade'), '三级');
  await checkScreen(page, 'holder-disability');

  // The card leaves: the bridge's event takes the page to the start screen.
  const t0 = Date.now();
  const out = card('out');
  await page.waitForFunction(() => document.documentElement.dataset.card === 'absent' &&
    document.documentElement.dataset.screen === 'start', null, { timeout: 5000 });
  const ms = Date.now() - t0;
  await out;
  await onScreen(page, 'start');
  const line = `kiosk_removal_to_start_ms ${ms} ms`;
  console.log(line);
  fs.writeFileSync(path.join(TMP, 'latency.txt'), `${line}\n`);
  await liveText(page, 'live-status', /卡片已取出/);
  assert.equal(await page.textContent('#holder-name'), '', 'nothing of the holder is left');
  assert.equal(await page.$$eval('#ent-list li', (l) => l.length), 0);
  await checkScreen(page, 'start');

  // And comes back: straight to its status.
  await card('in');
  await onScreen(page, 'card');
  await liveText(page, 'live-status', /已插入卡片/);
  await closePage(page);
});

// Presses Tab until `selector` has the focus; fails after `max` presses.
async function tabTo(page, selector, max = 40) {
  for (let i = 0; i < max; i++) {
    if (await page.evaluate((s) => document.activeElement && document.activeElement.matches(s), selector)) return;
    await page.keyboard.press('Tab');
  }
  assert.fail(`${selector} cannot be reached with Tab`);
}

async function keyboardChangePin(page, from, to) {
  await tabTo(page, '#holder-change');
  await page.keyboard.press('Enter');
  await onScreen(page, 'change');
  for (const p of [from, to, to]) {
    await page.keyboard.type(p);
    await page.keyboard.press('Enter');
  }
  await onScreen(page, 'holder');
  await visible(page, '#holder-note');
  assert.match(await page.textContent('#holder-note'), /密码已修改/);
}

test('the whole flow with the keyboard only', async () => {
  const page = await newPage();
  await onScreen(page, 'card');
  await visible(page, '#card-pin');
  // No positive tabindex: the order of Tab is the order of the page.
  assert.deepEqual(await page.$$eval('[tabindex]', (els) => els.filter((e) => e.tabIndex > 0).map((e) => e.id)), []);
  const order = [];
  for (let i = 0; i < 6; i++) {
    await page.keyboard.press('Tab');
    order.push(await page.evaluate(() => document.activeElement.id || document.activeElement.className));
  }
  assert.deepEqual(order.slice(0, 2), ['card-pin', 'card-finish'], `Tab order: ${order}`);
  // A visible focus indicator.
  await tabTo(page, '#card-pin');
  const ring = await page.evaluate(() => {
    const s = getComputedStyle(document.activeElement);
    return { outline: s.outlineStyle, width: parseFloat(s.outlineWidth), shadow: s.boxShadow };
  });
  assert.ok(ring.outline !== 'none' && ring.width >= 2, `focus ring: ${JSON.stringify(ring)}`);
  await screenshot(page, 'keyboard-focus');
  await page.keyboard.press('Enter');
  await onScreen(page, 'pin');
  await page.keyboard.type('12');
  assert.equal(await page.textContent('[data-pad="verify"] .pin-count'), '已输入 2 位');
  await page.keyboard.press('Backspace');
  await page.keyboard.press('Backspace');
  await page.keyboard.type(pin);
  await page.keyboard.press('Enter');
  await onScreen(page, 'holder');
  await visible(page, '#holder-body');
  await tabTo(page, '#dis-toggle');
  await page.keyboard.press('Enter');
  await visible(page, '#dis-details');
  assert.equal(await page.getAttribute('#dis-toggle', 'aria-expanded'), 'true');
  await keyboardChangePin(page, pin, OTHER_PIN);
  await keyboardChangePin(page, OTHER_PIN, pin);
  // The language, from the keyboard too.
  await tabTo(page, '#lang-toggle');
  await page.keyboard.press('Enter');
  assert.equal(await page.getAttribute('html', 'lang'), 'en');
  assert.equal(await page.textContent('#holder-h'), 'My details and services');
  await checkScreen(page, 'holder-en');
  await page.keyboard.press('Enter');
  assert.equal(await page.getAttribute('html', 'lang'), 'zh-CN');
  await tabTo(page, '#holder-finish');
  await page.keyboard.press('Enter');
  await onScreen(page, 'done');
  await checkScreen(page, 'done');
  await tabTo(page, '#done-again');
  await page.keyboard.press('Enter');
  await onScreen(page, 'card');
  await closePage(page);
});

// The page as a holder sees it at 200 %: a window of 1280 × 900 zoomed to
// 200 % is 640 × 450 CSS pixels; and, at full width, the browser's text size
// at twice the default.
test('the whole flow at 200 % zoom and at 200 % text size', async () => {
  for (const mode of ['zoom', 'text']) {
    const page = await newPage(mode === 'zoom'
      ? { viewport: { width: 640, height: 450 }, deviceScaleFactor: 2 }
      : { viewport: { width: 1280, height: 900 } });
    if (mode === 'text') {
      const cdp = await page.context().newCDPSession(page);
      page.setTextSize = (px) => cdp.send('Page.setFontSizes', { fontSizes: { standard: px, fixed: px } });
      page.textSize = 32;
      await page.setTextSize(page.textSize);
    }
    await onScreen(page, 'card');
    await visible(page, '#card-facts');
    await checkScreen(page, `${mode}200-card`, { zoom: true });
    await page.click('#card-pin');
    await onScreen(page, 'pin');
    await typePinWithKeys(page, '99');
    await checkScreen(page, `${mode}200-pin`, { zoom: true });
    await page.click('[data-pad="verify"] [data-key="clear"]');
    await typePinWithKeys(page, pin);
    await page.click('[data-pad="verify"] [data-key="ok"]');
    await onScreen(page, 'holder');
    await visible(page, '#holder-body');
    await page.click('#dis-toggle');
    await checkScreen(page, `${mode}200-holder`, { zoom: true });
    await page.click('#holder-change');
    await onScreen(page, 'change');
    await checkScreen(page, `${mode}200-change`, { zoom: true });
    await page.click('#change-cancel');
    await onScreen(page, 'holder');
    await page.click('#holder-finish');
    await onScreen(page, 'done');
    await checkScreen(page, `${mode}200-done`, { zoom: true });
    await closePage(page);
  }
});

test('live regions: card in, wrong PIN, card out, session ended', async () => {
  const page = await newPage();
  await onScreen(page, 'card');
  const status = await page.getAttribute('#live-status', 'aria-live');
  const alert = await page.getAttribute('#live-alert', 'aria-live');
  assert.equal(status, 'polite');
  assert.equal(alert, 'assertive');
  await visible(page, '#card-facts');
  await card('out');
  await onScreen(page, 'start');
  assert.equal(await liveText(page, 'live-status', /卡片已取出/), '卡片已取出，请插入您的卡。');
  await card('in');
  await onScreen(page, 'card');
  assert.equal(await liveText(page, 'live-status', /已插入/), '已插入卡片。');
  await visible(page, '#card-pin');
  await page.click('#card-pin');
  await onScreen(page, 'pin');
  await page.keyboard.type('123');
  assert.equal(await liveText(page, 'live-status', /已输入 3/), '已输入 3 位', 'the count, never the digits');
  await page.keyboard.type('4');
  await page.keyboard.press('Enter');
  assert.match(await liveText(page, 'live-alert', /密码错误/), /^密码错误，还可以尝试 \d 次。$/);
  await page.keyboard.type(pin);
  await page.keyboard.press('Enter');
  await onScreen(page, 'holder');
  // (Pulled before the page has read the view, the card would make those
  // reads answer 409 no_card, which closePage counts as a problem.)
  await visible(page, '#holder-body');
  await card('out');
  await onScreen(page, 'start');
  await liveText(page, 'live-status', /卡片已取出/);
  await card('in');
  await onScreen(page, 'card');
  await closePage(page);
});

test('read aloud: never a PIN digit, disability details only when asked for', async () => {
  const page = await newPage();
  await onScreen(page, 'card');
  await visible(page, '#card-facts');
  let before = spokenSoFar();
  await page.click('#read-aloud');
  let said = await spokenAfter(before);
  assert.match(said, /^ARGS -v cmn\n/, 'Mandarin voice');
  assert.match(said, /卡片信息/);
  assert.doesNotMatch(said, /\d{4}/, 'no run of digits before the PIN');

  await page.click('#card-pin');
  await onScreen(page, 'pin');
  await typePinWithKeys(page, pin.slice(0, 3));
  before = spokenSoFar();
  await page.click('#read-aloud');
  said = await spokenAfter(before);
  assert.match(said, /请输入密码/);
  assert.match(said, /已输入三位/);
  assert.doesNotMatch(said.replace(/^ARGS.*\n/, ''), /[0-9]/, 'no digit at all on the PIN screen');
  await page.click('[data-pad="verify"] [data-key="clear"]');
  await typePinWithKeys(page, pin);
  await page.click('[data-pad="verify"] [data-key="ok"]');
  await onScreen(page, 'holder');
  await visible(page, '#holder-body');

  before = spokenSoFar();
  await page.click('#read-aloud');
  said = await spokenAfter(before);
  assert.match(said, new RegExp(EXPECTED.holder.name));
  assert.match(said, /免费乘坐地面公交/);
  assert.doesNotMatch(said, /视力|残疾类别|三级/, 'no disability details until asked');
  assert.doesNotMatch(said, new RegExp(EXPECTED.holder.certificate), 'never the certificate number');

  before = spokenSoFar();
  await page.click('#dis-toggle');
  said = await spokenAfter(before);
  assert.match(said, /视力残疾/);
  assert.match(said, /三级/);
  before = spokenSoFar();
  await page.click('#read-aloud');
  said = await spokenAfter(before);
  assert.match(said, /视力残疾/, 'read aloud includes them once shown');

  // In English, with the English voice.
  await page.click('#lang-toggle');
  before = spokenSoFar();
  await page.click('#read-aloud');
  said = await spokenAfter(before);
  assert.match(said, /^ARGS -v en\n/);
  assert.match(said, /My details and services/);
  await page.click('#lang-toggle');

  // The PIN change screen says so to the bridge, which then refuses digits.
  await page.click('#holder-change');
  await onScreen(page, 'change');
  await typePinWithKeys(page, pin);
  before = spokenSoFar();
  await page.click('#read-aloud');
  said = await spokenAfter(before);
  assert.doesNotMatch(said.replace(/^ARGS.*\n/, ''), /[0-9]/);
  await page.click('#change-cancel');
  await onScreen(page, 'holder');
  await page.click('#holder-finish');
  await onScreen(page, 'done');
  await closePage(page);
});

// A tiny site at another origin, whose script tries to read the bridge.
function foreignSite(bridgeUrl, token) {
  const html = '<!DOCTYPE html><html><head><title>other</title><script src="/steal.js"></script></head><body></body></html>';
  const js = `(async () => {
    const out = {};
    for (const [name, init] of [
      ['with_token', { headers: { 'X-OCP-Token': ${JSON.stringify(token)} } }],
      ['simple', {}],
    ]) {
      try {
        const r = await fetch(${JSON.stringify(bridgeUrl)} + '/api/card', init);
        out[name] = 'read ' + r.status + ' ' + (await r.text());
      } catch (e) { out[name] = 'refused: ' + e.name; }
    }
    try {
      const r = await fetch(${JSON.stringify(bridgeUrl)} + '/api/end', { method: 'POST', mode: 'no-cors' });
      out.post = 'sent ' + r.type;
    } catch (e) { out.post = 'refused: ' + e.name; }
    document.title = JSON.stringify(out);
  })();`;
  const server = http.createServer((req, res) => {
    if (req.url === '/steal.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' });
      res.end(js);
    } else {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(html);
    }
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

function rawRequest(method, url, headers) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('security: another origin cannot read the bridge; wrong Host or no token is refused', async () => {
  // The token, as the bridge's own page carries it.
  const page = await newPage();
  const token = await page.getAttribute('meta[name="ocp-token"]', 'content');
  assert.match(token, /^[0-9a-f]{64}$/);
  await closePage(page);

  const site = await foreignSite(base, token);
  const other = `http://127.0.0.1:${site.address().port}`;
  const evil = await browser.newPage();
  await evil.goto(`${other}/`);
  await evil.waitForFunction(() => document.title.startsWith('{'), null, { timeout: 10000 });
  const got = JSON.parse(await evil.title());
  await evil.close();
  site.close();
  assert.match(got.with_token, /^refused/, `with the token: ${got.with_token}`);
  assert.match(got.simple, /^refused/, `a simple request: ${got.simple}`);

  const ok = await rawRequest('GET', `${base}/api/readers`, { 'X-OCP-Token': token });
  assert.equal(ok.status, 200);
  assert.equal(ok.headers['access-control-allow-origin'], undefined);
  const noToken = await rawRequest('GET', `${base}/api/card`, {});
  assert.equal(noToken.status, 403);
  const wrongToken = await rawRequest('GET', `${base}/api/card`, { 'X-OCP-Token': '0'.repeat(64) });
  assert.equal(wrongToken.status, 403);
  const port = new URL(base).port;
  const rebound = await rawRequest('GET', `${base}/api/card`, { 'X-OCP-Token': token, Host: `evil.example:${port}` });
  assert.equal(rebound.status, 421);
  const rebindPage = await rawRequest('GET', `${base}/`, { Host: `evil.example:${port}` });
  assert.equal(rebindPage.status, 421, 'not even the page, with its token');
  assert.doesNotMatch(rebindPage.body, new RegExp(token));
  const foreign = await rawRequest('GET', `${base}/api/card`, { 'X-OCP-Token': token, Origin: other });
  assert.equal(foreign.status, 403);
  const csp = (await rawRequest('GET', `${base}/`, {})).headers['content-security-policy'];
  assert.match(csp, /script-src 'self'/);
  assert.match(csp, /style-src 'self'/);
});

// The bridge ends a view after --idle seconds without a request, warning
// half-way (under 60 s); the page counts down and offers to go on.
test('idle: a visible countdown, continue, then back to the start screen', async () => {
  await stopBridge(bridge);
  ({ proc: bridge, url: base } = await startBridge(['--idle', '8']));
  const page = await newPage();
  await onScreen(page, 'card');
  await visible(page, '#card-pin');
  await page.click('#card-pin');
  await onScreen(page, 'pin');
  await typePinWithKeys(page, pin);
  await page.click('[data-pad="verify"] [data-key="ok"]');
  await onScreen(page, 'holder');
  await page.waitForSelector('#idle[open]', { timeout: 15000 });
  const first = await page.textContent('#idle-p');
  assert.match(first, /\d+ 秒后将自动退出/);
  await page.waitForTimeout(1200);
  assert.notEqual(await page.textContent('#idle-p'), first, 'the countdown moves');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'idle-continue');
  await liveText(page, 'live-alert', /即将自动退出/);
  await checkScreen(page, 'idle-warning');
  await page.click('#idle-continue');
  assert.equal(await page.$('#idle[open]'), null);
  // Still the holder's view (the page asked the bridge to go on), focus
  // back on its heading.
  await page.waitForFunction(() => document.activeElement.id === 'holder-h');
  assert.equal(await page.evaluate(() => document.documentElement.dataset.screen), 'holder');
  await page.waitForSelector('#idle[open]', { timeout: 15000 });
  await onScreen(page, 'start', 15000);
  await liveText(page, 'live-status', /长时间没有操作/);
  assert.equal(await page.textContent('#holder-name'), '');
  await closePage(page);
  assert.ok(shotCount >= 9, `${shotCount} screenshots`);
});
