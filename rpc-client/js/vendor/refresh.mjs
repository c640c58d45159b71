#!/usr/bin/env node
// Re-creates vendor/ from the npm registry: `node vendor/refresh.mjs`
// (run from rpc-client/js; needs npm and tar). The versions and the
// registry's sha512 integrity are pinned below; a tarball that does not
// match is refused. Only the files the library imports (the closure of the
// entry points' imports) are kept, with bare `@noble/hashes/...` imports
// rewritten to relative paths, so that nothing needs node_modules or an
// import map to resolve. To move to a new version, change PINS (version
// and the integrity `npm view <pkg>@<version> dist.integrity` prints),
// run this, run the tests, and update vendor/README.md.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, posix } from 'node:path';
import { fileURLToPath } from 'node:url';

const VENDOR = dirname(fileURLToPath(import.meta.url));

export const PINS = [
  { pkg: '@noble/hashes', version: '2.4.0', dir: 'noble-hashes', entries: ['blake3.js', 'sha2.js', 'utils.js'],
    integrity: 'sha512-X5XaVWZIBCT7HHZGm5I7ZQXDwLG+bGXuSrMQAW+7Zvl87h1kmc1ZB1VSRJcpUfoUrGQp4Fkoxm5kZ+Ms+aW+eA==' },
  { pkg: '@noble/curves', version: '2.4.0', dir: 'noble-curves', entries: ['ed25519.js'],
    integrity: 'sha512-P4/62zrgfH33CneE3Dn4WhJVA22YUU0eR51wKIan4NVRvwsA0YnPTwWGpNbpuacSujmSFLvyzpyuR30+fbq2Ew==' },
  { pkg: 'ws', version: '8.23.0', dir: 'ws', entries: null, // CommonJS: index.js, wrapper.mjs, lib/
    integrity: 'sha512-wCkmX8QMOrKjgO8HW2WyDbTSGeqkocxgDzS9iR79rEAexty6/2qzilx3Ag8Tqf9ykop3irLKle0MtVn5qjVnoQ==' },
];

function unpack(pin, work) {
  const out = execFileSync('npm', ['pack', '--silent', `${pin.pkg}@${pin.version}`], { cwd: work }).toString().trim().split('\n').pop();
  const tgz = join(work, out);
  const got = 'sha512-' + createHash('sha512').update(readFileSync(tgz)).digest('base64');
  if (got !== pin.integrity) throw new Error(`${pin.pkg}@${pin.version}: integrity ${got}, pinned ${pin.integrity}`);
  const dest = join(work, pin.dir);
  mkdirSync(dest);
  execFileSync('tar', ['xzf', tgz, '-C', dest, '--strip-components=1']);
  return dest;
}

// The closure of relative and @noble/hashes imports from the entry points.
function closure(src, entries) {
  const seen = new Set();
  const todo = [...entries];
  while (todo.length) {
    const f = posix.normalize(todo.pop());
    if (seen.has(f)) continue;
    seen.add(f);
    const text = readFileSync(join(src, f), 'utf8');
    for (const m of text.matchAll(/^\s*(?:import|export)\b[^'";]*?from\s*["']([^"']+)["']/gm)) {
      if (m[1].startsWith('.')) todo.push(posix.join(posix.dirname(f), m[1]));
    }
  }
  return [...seen].sort();
}

const work = mkdtempSync(join(tmpdir(), 'watt-vendor-'));
try {
  for (const pin of PINS) {
    const src = unpack(pin, work);
    const dest = join(VENDOR, pin.dir);
    rmSync(dest, { recursive: true, force: true });
    mkdirSync(dest, { recursive: true });
    let files;
    if (pin.entries) {
      files = closure(src, pin.entries);
      // What the curves import from @noble/hashes joins the hashes' entries.
      if (pin.pkg === '@noble/curves') {
        const more = new Set();
        for (const f of files) {
          for (const m of readFileSync(join(src, f), 'utf8').matchAll(/^\s*(?:import|export)\b[^'";]*?from\s*["']@noble\/hashes\/([^"']+)["']/gm)) more.add(m[1]);
        }
        const hashes = PINS.find((p) => p.pkg === '@noble/hashes');
        const missing = [...more].filter((m) => !hashes.entries.includes(m));
        if (missing.length) throw new Error(`@noble/curves imports @noble/hashes/{${missing}}: add them to the hashes' entries`);
      }
    } else {
      files = ['index.js', 'wrapper.mjs', ...readdirSync(join(src, 'lib')).map((f) => `lib/${f}`)];
    }
    for (const f of [...files, 'LICENSE', 'package.json']) {
      mkdirSync(dirname(join(dest, f)), { recursive: true });
      let text = readFileSync(join(src, f), 'utf8');
      if (f.endsWith('.js')) {
        // `@noble/hashes/x.js` -> the relative path of vendor/noble-hashes/x.js.
        text = text.replace(/(["'])@noble\/hashes\/([^"']+)\1/g, (_, q, p) => {
          let rel = relative(dirname(join(dest, f)), join(VENDOR, 'noble-hashes', p)).split('\\').join('/');
          if (!rel.startsWith('.')) rel = './' + rel;
          return q + rel + q;
        });
      }
      writeFileSync(join(dest, f), text);
    }
    console.log(`${pin.pkg}@${pin.version}: ${files.length} files -> vendor/${pin.dir}`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
