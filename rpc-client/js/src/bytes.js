// Byte helpers: 0x hex, concatenation, comparison. Browser-safe (no Buffer).

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Bytes as lower-case `0x` hex. */
export function toHex(bytes) {
  let s = '0x';
  for (const b of bytes) s += HEX[b];
  return s;
}

/**
 * `0x` hex to bytes; `n` (optional) is the exact length required.
 * A Uint8Array is passed through (its length checked).
 */
export function hexToBytes(s, n) {
  let out;
  if (s instanceof Uint8Array) {
    out = s;
  } else {
    if (typeof s !== 'string' || !s.startsWith('0x')) throw new TypeError(`expected 0x hex, got ${JSON.stringify(s)}`);
    const h = s.slice(2);
    if (h.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(h)) throw new TypeError(`not an even number of hex digits: ${JSON.stringify(s)}`);
    out = new Uint8Array(h.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = parseInt(h.substr(i * 2, 2), 16);
  }
  if (n !== undefined && out.length !== n) throw new RangeError(`expected ${n} bytes, got ${out.length}`);
  return out;
}

/** Concatenates byte arrays (or arrays of byte values). */
export function concat(...parts) {
  let len = 0;
  for (const p of parts) len += p.length;
  const out = new Uint8Array(len);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function bytesEqual(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const utf8 = new TextEncoder();
export function utf8Bytes(s) {
  return utf8.encode(s);
}
