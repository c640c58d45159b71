// bech32m (BIP-350) account ids, `watt1...` (docs/encoding.md section 2,
// "Account addresses"): hrp "watt", data = the 32-byte public key regrouped
// into 5-bit groups (padded), no witness version.
import { hexToBytes } from './bytes.js';

export const ACCOUNT_HRP = 'watt';
export const CHARSET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';
const BECH32M_CONST = 0x2bc830a3;
const GEN = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];

export function polymod(values) {
  let chk = 1;
  for (const v of values) {
    const top = chk >>> 25;
    chk = (((chk & 0x1ffffff) << 5) ^ v) >>> 0;
    for (let i = 0; i < 5; i++) if ((top >>> i) & 1) chk = (chk ^ GEN[i]) >>> 0;
  }
  return chk;
}

export function hrpExpand(hrp) {
  const out = [];
  for (const c of hrp) out.push(c.charCodeAt(0) >> 5);
  out.push(0);
  for (const c of hrp) out.push(c.charCodeAt(0) & 31);
  return out;
}

export function convertBits(data, from, to, pad) {
  let acc = 0;
  let bits = 0;
  const out = [];
  const maxv = (1 << to) - 1;
  for (const value of data) {
    if (value < 0 || value >> from) throw new RangeError('invalid value for bit conversion');
    acc = ((acc << from) | value) & 0xffffff;
    bits += from;
    while (bits >= to) {
      bits -= to;
      out.push((acc >> bits) & maxv);
    }
  }
  if (pad) {
    if (bits) out.push((acc << (to - bits)) & maxv);
  } else if (bits >= from || ((acc << (to - bits)) & maxv)) {
    throw new RangeError('invalid padding in bech32 data');
  }
  return out;
}

export function bech32mEncode(hrp, data) {
  const five = convertBits(data, 8, 5, true);
  const pm = (polymod([...hrpExpand(hrp), ...five, 0, 0, 0, 0, 0, 0]) ^ BECH32M_CONST) >>> 0;
  let s = hrp + '1';
  for (const d of five) s += CHARSET[d];
  for (let i = 0; i < 6; i++) s += CHARSET[(pm >>> (5 * (5 - i))) & 31];
  return s;
}

/** Returns `{hrp, data}`; throws on any defect (bech32, not m, included). */
export function bech32mDecode(s) {
  if (typeof s !== 'string') throw new TypeError('bech32m: expected a string');
  for (const c of s) {
    const code = c.charCodeAt(0);
    if (code < 33 || code > 126) throw new RangeError('bech32m string has characters outside 33..126');
  }
  if (s.toLowerCase() !== s && s.toUpperCase() !== s) throw new RangeError('bech32m string mixes upper and lower case');
  s = s.toLowerCase();
  const pos = s.lastIndexOf('1');
  if (pos < 1 || pos + 7 > s.length || s.length > 90) throw new RangeError('bech32m string has a bad separator position or length');
  const hrp = s.slice(0, pos);
  const values = [];
  for (const c of s.slice(pos + 1)) {
    const v = CHARSET.indexOf(c);
    if (v < 0) throw new RangeError('bech32m data has a character outside the charset');
    values.push(v);
  }
  if (polymod([...hrpExpand(hrp), ...values]) !== BECH32M_CONST) {
    throw new RangeError('bad bech32m checksum (or a bech32, not bech32m, string)');
  }
  return { hrp, data: Uint8Array.from(convertBits(values.slice(0, -6), 5, 8, false)) };
}

/** A 32-byte public key as `watt1...`. */
export function accountToText(key) {
  if (!(key instanceof Uint8Array) || key.length !== 32) throw new RangeError('an account id is 32 bytes');
  return bech32mEncode(ACCOUNT_HRP, key);
}

/** `watt1...` (bech32m, either case) or `0x` hex of the key -> 32 bytes. */
export function accountFromText(s) {
  if (typeof s === 'string' && s.startsWith('0x')) return hexToBytes(s, 32);
  const { hrp, data } = bech32mDecode(s);
  if (hrp !== ACCOUNT_HRP) throw new RangeError(`account prefix is "${hrp}", expected "${ACCOUNT_HRP}"`);
  if (data.length !== 32) throw new RangeError(`account id decodes to ${data.length} bytes, expected 32`);
  return data;
}

/** True if `s` is a valid account id (`watt1...` or 0x hex of 32 bytes). */
export function isAccount(s) {
  try {
    accountFromText(s);
    return true;
  } catch {
    return false;
  }
}
