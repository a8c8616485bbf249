// What every journey needs: a fresh server (the real binary, a new SQLite data
// directory, the test clock) on 127.0.0.1, Debian's Chromium at a phone's size,
// and a watch that fails the journey on any console error, page error, failed
// request or unexpected error answer.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import { chromium } from 'playwright-core';

const BIN = process.env.QUANZI_BIN;
const SHOTS = process.env.QUANZI_SHOTS || join(tmpdir(), 'quanzi-shots');
const CHROMIUM = process.env.QUANZI_CHROMIUM || '/usr/bin/chromium';

export async function startServer(extra = [], { demo = false } = {}) {
  assert.ok(BIN, 'QUANZI_BIN names the quanzi binary');
  const dir = mkdtempSync(join(tmpdir(), 'quanzi-browser-'));
  if (demo) {
    const r = spawnSync(BIN, ['demo', '--data-dir', dir], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  }
  const ready = join(dir, 'ready');
  const proc = spawn(BIN, ['serve', '--data-dir', dir, '--port', '0', '--ready-file', ready,
    '--test-clock', '--argon2-ops', '1', '--argon2-memory-kib', '8',
    '--signups-per-ip-hour', '1000', '--signups-per-minute', '1000', ...extra], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  proc.stderr.on('data', (d) => { log += d; });
  for (let i = 0; i < 200 && !existsSync(ready); i++) await new Promise((r) => setTimeout(r, 50));
  assert.ok(existsSync(ready), `the server did not start:\n${log}`);
  const port = Number(readFileSync(ready, 'utf8').trim());
  const base = `http://127.0.0.1:${port}`;
  return {
    base, dir, log: () => log,
    async stop() {
      proc.kill('SIGTERM');
      await new Promise((r) => proc.once('exit', r));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// The API from outside the browser (a bearer token), for the test clock and checks.
export function apiClient(base) {
  let token = null;
  const call = async (method, path, body, extra = {}) => {
    const headers = { ...extra };
    if (token) headers.Authorization = `Bearer ${token}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const res = await fetch(`${base}/api/v1${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const data = await res.json().catch(() => null);
    return { status: res.status, body: data };
  };
  return {
    call,
    async login(login, password) {
      const r = await call('POST', '/auth/login', { login, password });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      token = r.body.token;
    },
    async advanceDays(days) {
      const r = await call('POST', '/test-clock', { advance_ms: days * 86400000 });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return r.body;
    },
  };
}

export async function launch() {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
}

// A phone (375×667) whose every problem is recorded; `allow(method, pathRe, status)` marks
// an error answer the journey provokes on purpose (a refusal it then checks on screen).
export async function phone(browser, base, name) {
  const context = await browser.newContext({
    viewport: { width: 375, height: 667 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true,
    locale: 'zh-CN', timezoneId: 'Asia/Shanghai', baseURL: base,
  });
  const page = await context.newPage();
  page.setDefaultTimeout(Number(process.env.QUANZI_BROWSER_TIMEOUT_MS) || 15000);
  const problems = [];
  const allowed = [];
  const isAllowed = (method, url, status) => allowed.some((a) =>
    a.method === method && a.re.test(new URL(url).pathname) && a.status === status);
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    // the browser's own line for an error answer: judged by the response below
    if (/^Failed to load resource: the server responded with a status of \d+/.test(m.text())) return;
    problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => {
    // a request the page's own navigation cancelled (the journey moved on) is not a failure
    if (r.failure()?.errorText === 'net::ERR_ABORTED') return;
    problems.push(`request failed: ${r.method()} ${r.url()} ${r.failure()?.errorText}`);
  });
  page.on('response', (r) => {
    if (r.status() >= 400 && !isAllowed(r.request().method(), r.url(), r.status()))
      problems.push(`answer ${r.status()}: ${r.request().method()} ${r.url()}`);
  });
  const dir = join(SHOTS, name);
  mkdirSync(dir, { recursive: true });
  let shot = 0;
  return {
    page, context, problems,
    allow(method, re, status) { allowed.push({ method, re, status }); },
    async shot(label) {
      shot += 1;
      await page.screenshot({ path: join(dir, `${String(shot).padStart(2, '0')}-${label}.png`) });
    },
    // settles the page (no request in flight) and checks nothing went wrong so far
    async ok() {
      await page.waitForLoadState('networkidle');
      assert.deepEqual(problems, [], problems.join('\n'));
    },
    async close() {
      await context.close();
    },
  };
}

// Waits for the page's toast to say `text` (an earlier toast may still be showing).
export async function expectToast(page, text) {
  await page.locator('#toast.show', { hasText: text }).waitFor();
  assert.equal(await page.locator('#toast').textContent(), text);
}

// A small solid PNG (w×h, one colour) made here, for an upload.
export function png(w, h, [r, g, b]) {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf) => {
    let c = 0xffffffff;
    for (const x of buf) c = crcTable[(c ^ x) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type, data) => {
    const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type), data]);
    const c = Buffer.alloc(4); c.writeUInt32BE(crc(td));
    return Buffer.concat([len, td, c]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0); ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8; ihdr[9] = 2; ihdr[10] = 0; ihdr[11] = 0; ihdr[12] = 0;
  const raw = Buffer.alloc((w * 3 + 1) * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) raw.set([r, g, b], y * (w * 3 + 1) + 1 + x * 3);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}
