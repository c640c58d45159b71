// The library in a real browser (headless Chromium), as the dashboard will
// load it: the directory served as static files, `@watt/client` mapped by
// an import map, the runtime's own fetch and WebSocket (the vendored `ws`
// must not be requested). Against a real `watt dev` (WATT_BIN): read the
// chain id, get a new head over the WebSocket, sign a transfer and watch it
// finalise. Without WATT_BIN or Chromium this FAILS, unless
// WATT_JS_SKIP_LIVE=1 (or WATT_JS_SKIP_BROWSER=1 for this file alone).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';

import { SKIP, WAIT_MS, startDev } from './dev.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const skip = SKIP ? 'WATT_JS_SKIP_LIVE=1' : process.env.WATT_JS_SKIP_BROWSER === '1' ? 'WATT_JS_SKIP_BROWSER=1' : false;

function findChromium() {
  for (const c of [process.env.CHROMIUM, 'chromium', 'chromium-browser', 'google-chrome'].filter(Boolean)) {
    const r = spawnSync(c, ['--version'], { stdio: 'ignore' });
    if (r.status === 0) return c;
  }
  return null;
}

const PAGE = (rpc) => `<!doctype html>
<script type="importmap">{ "imports": { "@watt/client": "/watt-client/index.js" } }</script>
<script type="module">
const report = (x) => fetch('/result', { method: 'POST', body: JSON.stringify(x) });
try {
  const { WattClient, devKey, bodies, getWebSocket } = await import('@watt/client');
  const watt = new WattClient(${JSON.stringify(rpc)});
  const chainId = await watt.chainId();
  const heads = await watt.subscribeNewHeads();
  const head = (await heads.next({ timeoutMs: 30000 })).value;
  await heads.unsubscribe();
  const coop = devKey('dev-valley-coop');
  const statuses = [];
  const { tx, status } = await watt.sendTransaction(coop, bodies.transfer(devKey('browser-recipient').account, 200),
    { chainId, timeoutMs: 45000, onStatus: (s) => statuses.push(s.status) });
  await watt.close();
  report({ ok: true, nativeWebSocket: (await getWebSocket()) === globalThis.WebSocket, chainId, head: head.height,
    tx: tx.id, status: status.status, height: status.height, statuses });
} catch (e) {
  report({ ok: false, error: String((e && e.stack) || e) });
}
</script>`;

test('browser: the library under an import map in headless Chromium against watt dev', { skip, timeout: 240_000 }, async (t) => {
  const bin = process.env.WATT_BIN;
  assert.ok(bin, 'WATT_BIN is not set: point it at a built `watt` binary, or set WATT_JS_SKIP_LIVE=1');
  const chromium = findChromium();
  assert.ok(chromium, 'no chromium found (scripts/prereqs: ensure_chromium installs it; or set CHROMIUM); '
    + 'WATT_JS_SKIP_BROWSER=1 skips this test');
  const dev = await startDev(bin);
  const requested = [];
  let resolveResult;
  const result = new Promise((r) => { resolveResult = r; });
  const server = createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    if (url.pathname === '/result') {
      let body = '';
      req.on('data', (d) => { body += d; });
      req.on('end', () => { res.end('ok'); resolveResult(JSON.parse(body)); });
    } else if (url.pathname === '/') {
      res.setHeader('content-type', 'text/html');
      res.end(PAGE(dev.url));
    } else if (url.pathname.startsWith('/watt-client/')) {
      const rel = normalize(decodeURIComponent(url.pathname.slice('/watt-client/'.length)));
      requested.push(rel);
      try {
        if (rel.startsWith('..')) throw new Error('outside');
        const body = readFileSync(join(ROOT, rel));
        res.setHeader('content-type', ['.js', '.mjs'].includes(extname(rel)) ? 'text/javascript' : 'application/octet-stream');
        res.end(body);
      } catch {
        res.statusCode = 404;
        res.end();
      }
    } else {
      res.statusCode = 404;
      res.end();
    }
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const pageUrl = `http://127.0.0.1:${server.address().port}/`;
  const profile = mkdtempSync(join(tmpdir(), 'watt-js-chromium-'));
  const browserLog = [];
  const browser = spawn(chromium, ['--headless=new', '--no-sandbox', '--disable-gpu', '--no-first-run',
    '--disable-extensions', '--disable-breakpad', '--disable-crash-reporter', `--user-data-dir=${profile}`, pageUrl], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  browser.stdout.on('data', (d) => browserLog.push(String(d)));
  browser.stderr.on('data', (d) => browserLog.push(String(d)));
  // Chromium runs in its own process group (detached), so that its helper
  // processes go with it.
  const exited = new Promise((r) => browser.once('exit', r));
  const killBrowser = () => {
    if (browser.exitCode !== null || browser.signalCode !== null) return;
    try {
      process.kill(-browser.pid, 'SIGKILL');
    } catch {
      browser.kill('SIGKILL');
    }
  };
  process.on('exit', killBrowser);
  t.after(async () => {
    killBrowser();
    let grace;
    await Promise.race([exited, new Promise((r) => { grace = setTimeout(r, 5000); })]);
    clearTimeout(grace);
    // A helper Chromium left behind may hold the pipes open: let go of them.
    browser.stdout.destroy();
    browser.stderr.destroy();
    process.off('exit', killBrowser);
    server.close();
    server.closeAllConnections();
    await dev.stop();
    try {
      rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
    } catch (e) {
      t.diagnostic(`could not remove the browser profile ${profile}: ${e.message}`);
    }
  });

  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no result from the page in ${(WAIT_MS + 30_000) / 1000} s; browser log:\n${browserLog.join('').slice(-4000)}`)), WAIT_MS + 30_000);
  });
  const r = await Promise.race([result, timeout]).finally(() => clearTimeout(timer));
  assert.ok(r.ok, `the page failed: ${r.error}`);
  t.diagnostic(`browser: chain ${r.chainId}, head ${r.head}, transfer ${r.tx} ${r.statuses.join(' > ')} at height ${r.height}`);
  assert.equal(r.status, 'finalized');
  assert.ok(r.nativeWebSocket, 'the browser\'s own WebSocket is used');
  assert.ok(requested.includes('index.js') && requested.some((p) => p.startsWith('vendor/noble-curves/')), `requested: ${requested}`);
  assert.deepEqual(requested.filter((p) => p.startsWith('vendor/ws')), [], 'the browser never loads the ws fallback');
  assert.deepEqual(requested.filter((p) => !p.startsWith('vendor/') && !p.startsWith('src/') && p !== 'index.js'), [], 'only the library is loaded');
});
