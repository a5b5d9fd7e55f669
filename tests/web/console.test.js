#!/usr/bin/env node
// The clerk console (web/) end to end in headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core from models/tools/node_modules, both installed by scripts/setup.sh).
// Starts `simkyc serve` on 127.0.0.1 (free port, temporary store), makes a clerk key, and walks the
// counter flow twice with real photos from tests/data/faces:
//   1. document jolie-1.jpg + live capture from Chromium's fake camera playing jolie-2.jpg: PASS,
//      then a phone number is registered and listed;
//   2. the same document + a different person's photo (other-8.jpg) through the file fallback:
//      FAIL with a customer hint and no score anywhere on the page.
// Usage: node console.test.js --simkyc BUILD/simkyc [--modules DIR/node_modules] [--out DIR]
// Exit: 0 pass, 1 fail, 77 skipped (no chromium or playwright-core: run scripts/setup.sh).
'use strict';
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const assert = require('node:assert/strict');

const root = path.resolve(__dirname, '..', '..');
const faces = path.join(root, 'tests', 'data', 'faces');
const args = { simkyc: path.join(root, 'build', 'simkyc'), modules: path.join(root, 'models', 'tools', 'node_modules'), out: process.cwd() };
for (let i = 2; i < process.argv.length; i += 2) {
  const k = process.argv[i].replace(/^--/, '');
  if (!(k in args) || process.argv[i + 1] === undefined) { console.error(`usage: ${path.basename(__filename)} --simkyc BIN [--modules DIR] [--out DIR]`); process.exit(2); }
  args[k] = path.resolve(process.argv[i + 1]);
}
const CHROMIUM = '/usr/bin/chromium';
const ID_NUMBER = '11010519491231002X';
const PHONE = '+8613800138000';

function log(...a) { console.log('[web_console]', ...a); }

let playwright;
try { playwright = require(path.join(args.modules, 'playwright-core')); } catch { /* below */ }
if (!playwright || !fs.existsSync(CHROMIUM)) {
  log(`SKIP: needs ${CHROMIUM} and playwright-core in ${args.modules} (bash scripts/setup.sh installs both)`);
  process.exit(77);
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'simkyc-web-'));
let server = null;
let context = null;
let serverLog = '';

async function cleanup() {
  if (context) await context.close().catch(() => {});
  context = null;
  if (server && server.exitCode === null) {
    server.kill('SIGTERM');
    await new Promise((r) => { const t = setTimeout(() => { server.kill('SIGKILL'); r(); }, 5000); server.once('exit', () => { clearTimeout(t); r(); }); });
  }
  fs.rmSync(tmp, { recursive: true, force: true });
}

// Starts `simkyc serve` on a free port; resolves with its base URL once it prints its address.
function startServer(store, config) {
  return new Promise((resolve, reject) => {
    server = spawn(args.simkyc, ['serve', '--listen', '127.0.0.1:0', '--store', store, '--config', config, '--threads', '4'],
      { stdio: ['ignore', 'pipe', 'pipe'] });
    const timer = setTimeout(() => reject(new Error(`simkyc serve did not start in 30 s:\n${serverLog}`)), 30000);
    server.stdout.on('data', (d) => {
      serverLog += d;
      const m = /serving on (http:\/\/127\.0\.0\.1:\d+)/.exec(serverLog);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    server.stderr.on('data', (d) => { serverLog += d; });
    server.on('exit', (code) => { clearTimeout(timer); reject(new Error(`simkyc serve exited (${code}):\n${serverLog}`)); });
  });
}

// Chromium's fake camera plays an MJPEG file: concatenated JPEG frames of one real photo.
function fakeCamera(photo) {
  const jpeg = fs.readFileSync(photo);
  const file = path.join(tmp, 'camera.mjpeg');
  fs.writeFileSync(file, Buffer.concat(Array(10).fill(jpeg)));
  return file;
}

// Waits for a step of the console; an error the console shows instead fails with its text.
async function step(page, name, timeout = 20000) {
  const shown = page.locator(`#step-${name}:visible, #error:visible`).first();
  await shown.waitFor({ timeout });
  if (await page.isVisible('#error')) throw new Error(`console shows an error instead of step ${name}: ${await page.textContent('#error')}`);
}

async function startCustomer(page) {
  await page.check('input[name="channel"][value="counter"]');
  await page.click('#start-session');
  await step(page, 'consent');
  assert.equal(await page.textContent('#consent-version-value'), '2026-01', 'consent version from the session');
  await page.check('#consent-accept');
  await page.click('#consent-submit');
  await step(page, 'document');
  await page.fill('#id-number', ID_NUMBER);
  await page.setInputFiles('#portrait', path.join(faces, 'jolie-1.jpg'));
  await page.click('#document-submit');
  await step(page, 'live');
}

async function decision(page) {
  await step(page, 'decision');
  return (await page.textContent('#decision')).trim();
}

async function main() {
  const store = path.join(tmp, 'simkyc.db');
  const config = path.join(tmp, 'config.json');
  // The thresholds the API tests use (tests/test_api.cpp): the camera frame is a re-encoded copy.
  fs.writeFileSync(config, JSON.stringify({ channel_fmr: { counter: 1e-3, online: 1e-4 }, review_fmr: 1e-2 }));
  const key = JSON.parse(execFileSync(args.simkyc, ['keys', 'create', '--create', '--store', store, '--operator', 'web-test', '--role', 'clerk', '--json'],
    { encoding: 'utf8' })).key;
  assert.match(key, /^sk_/);
  const base = await startServer(store, config);
  log('server', base);

  // The console's files: types and the content security policy.
  for (const [file, type] of [['/', 'text/html'], ['/app.js', 'text/javascript'], ['/style.css', 'text/css']]) {
    const r = await fetch(base + file);
    assert.equal(r.status, 200, file);
    assert.ok(r.headers.get('content-type').startsWith(type), `${file}: ${r.headers.get('content-type')}`);
    const csp = r.headers.get('content-security-policy') || '';
    assert.match(csp, /default-src 'self'/, `${file} CSP`);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/, `${file} CSP`);
  }
  const html = await (await fetch(base + '/')).text();
  assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/i, 'no inline script');
  assert.doesNotMatch(html, /\bstyle=|\bon[a-z]+=|https?:\/\//i, 'no inline style, handlers or outside URLs');

  context = await playwright.chromium.launchPersistentContext(path.join(tmp, 'profile'), {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1024, height: 768 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
      `--use-file-for-fake-video-capture=${fakeCamera(path.join(faces, 'jolie-2.jpg'))}`],
  });
  await context.grantPermissions(['camera'], { origin: base });
  const page = context.pages()[0] || await context.newPage();
  page.setDefaultTimeout(15000);
  const problems = [];
  page.on('console', (m) => { if (m.type() === 'error' && !/Failed to load resource.*(4\d\d)/.test(m.text())) problems.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  await page.goto(base + '/');
  // Refused API calls log "Failed to load resource" (4xx); CSP violations and script errors are problems.

  // The key is kept in sessionStorage only.
  await page.fill('#api-key', key);
  await page.click('#key-save');
  await page.locator('#step-start').waitFor({ state: 'visible' });
  assert.equal(await page.evaluate(() => sessionStorage.getItem('simkyc.apiKey')), key);
  assert.equal(await page.evaluate(() => localStorage.length), 0);

  // 1. Same person, camera capture: PASS, then register a number.
  await startCustomer(page);
  await page.click('#camera-start');
  await page.locator('#capture:enabled').waitFor();
  await page.waitForFunction(() => document.getElementById('video').videoWidth > 0);
  await page.click('#capture');
  const d1 = await decision(page);
  assert.equal(d1, 'PASS', `decision 1: ${d1}; reasons: ${await page.textContent('#decision-reasons')}`);
  assert.ok(await page.isVisible('#register'));
  await page.fill('#phone', PHONE);
  await page.click('#register-submit');
  await page.locator('#numbers li').first().waitFor();
  assert.match(await page.textContent('#register-result'), /Registered \+8613800138000/);
  assert.match(await page.textContent('#numbers'), /\+8613800138000/);
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 1024, `no horizontal scrolling at 1024x768 (page is ${width} px wide)`);
  await page.screenshot({ path: path.join(args.out, 'web-console-pass.png'), fullPage: true });

  // 2. Another person, file fallback: FAIL with a hint, never a score.
  await page.click('#next-customer');
  await page.locator('#step-start').waitFor({ state: 'visible' });
  await startCustomer(page);
  await page.click('#fallback summary');
  await page.setInputFiles('#live-file', path.join(faces, 'other-8.jpg'));
  await page.click('#live-file-submit');
  const d2 = await decision(page);
  assert.equal(d2, 'FAIL', `decision 2: ${d2}`);
  assert.ok(await page.isHidden('#register'), 'no registration after FAIL');
  const reasons = await page.locator('#decision-reasons li').allTextContents();
  assert.ok(reasons.length > 0 && reasons.every((r) => /[a-z]{3,} .*[A-Z_]{4,}/.test(r)), `hints: ${JSON.stringify(reasons)}`);
  assert.ok(reasons.some((r) => r.includes('MATCH_BELOW_THRESHOLD')), `reasons: ${JSON.stringify(reasons)}`);
  const text = await page.evaluate(() => document.body.innerText);
  assert.doesNotMatch(text, /\bscore\b|similarity|\bthreshold\b|\b0\.\d{2,}\b/i, `no score on the page:\n${text}`);
  await page.screenshot({ path: path.join(args.out, 'web-console-fail.png'), fullPage: true });

  assert.deepEqual(problems, [], 'no script errors or CSP violations');
  log('PASS: counter flow PASS + registration, FAIL with hints; screenshots in', args.out);
}

const deadline = setTimeout(async () => { console.error('[web_console] FAIL: timed out after 90 s'); await cleanup(); process.exit(1); }, 90000);
main().then(async () => { clearTimeout(deadline); await cleanup(); process.exit(0); }, async (e) => {
  clearTimeout(deadline);
  console.error('[web_console] FAIL:', e && e.stack ? e.stack : e);
  if (serverLog) console.error('[web_console] server log (tail):\n' + serverLog.split('\n').slice(-15).join('\n'));
  await cleanup();
  process.exit(1);
});
