// Shared by the live tests: starts a real `watt dev` (the binary in
// WATT_BIN) on a free loopback port and stops it. Not a test file itself.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const WAIT_MS = 60_000; // every wait below is bounded by this
export const SKIP = process.env.WATT_JS_SKIP_LIVE === '1';

/** Starts `watt dev` on a free loopback port; resolves to {url, child, output, stop}. */
export async function startDev(bin) {
  // The chain lives in a directory of its own inside a temporary one: the
  // node also writes beside its base path (BASE.signing).
  const tmp = mkdtempSync(join(tmpdir(), 'watt-js-live-'));
  const base = join(tmp, 'chain');
  const child = spawn(bin, ['dev', '--rpc-addr', '127.0.0.1:0', '--base-path', base, '--speed', '600', '--block-time', '300ms'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = [];
  let exited = null;
  const kill = () => {
    if (exited === null) child.kill('SIGKILL');
  };
  process.on('exit', kill); // never leave the node behind
  const stop = async () => {
    if (exited === null) {
      child.kill('SIGINT');
      const t = setTimeout(kill, 15_000);
      await new Promise((r) => child.once('exit', r));
      clearTimeout(t);
    }
    process.off('exit', kill);
    rmSync(tmp, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  };
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`watt dev printed no "rpc  http://ADDR" line in ${WAIT_MS / 1000} s; output:\n${output.join('\n')}`)), WAIT_MS);
    let buf = '';
    child.stdout.on('data', (d) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        output.push(line);
        const m = /^\s*rpc\s+http:\/\/(\S+)/.exec(line);
        if (m) {
          clearTimeout(timer);
          resolve(`http://${m[1]}`);
        }
      }
    });
    child.stderr.on('data', (d) => output.push(String(d).trimEnd()));
    child.on('error', (e) => { clearTimeout(timer); reject(new Error(`cannot start ${bin}: ${e.message}`)); });
    child.on('exit', (code, sig) => {
      exited = code ?? sig;
      clearTimeout(timer);
      reject(new Error(`watt dev exited (${code ?? sig}) before printing its RPC address; output:\n${output.join('\n')}`));
    });
  });
  return { url, child, output, stop };
}

export async function until(what, fn, ms = WAIT_MS, every = 250) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, every));
  }
}

