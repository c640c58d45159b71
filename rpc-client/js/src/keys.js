// ed25519 keys and signatures (docs/encoding.md section 4) and the dev keys
// of section 12.
import { ed25519 } from '../vendor/noble-curves/ed25519.js';
import { blake3 } from '../vendor/noble-hashes/blake3.js';
import { accountToText } from './address.js';
import { concat, hexToBytes, toHex, utf8Bytes } from './bytes.js';

/** An ed25519 key from its 32-byte RFC 8032 seed (Uint8Array or 0x hex). */
export class Key {
  #seed;

  constructor(seed) {
    this.#seed = Uint8Array.from(hexToBytes(seed, 32));
    /** The 32-byte public key, which is also the account id. */
    this.publicKey = ed25519.getPublicKey(this.#seed);
    /** The account as `watt1...`. */
    this.account = accountToText(this.publicKey);
  }

  /** A fresh random key (crypto.getRandomValues). */
  static random() {
    const seed = new Uint8Array(32);
    if (!globalThis.crypto?.getRandomValues) throw new Error('no crypto.getRandomValues in this runtime (Node 18: run with --experimental-global-webcrypto)');
    globalThis.crypto.getRandomValues(seed);
    return new Key(seed);
  }

  /** The seed as 0x hex: the secret. Keep it secret. */
  exportSecret() {
    return toHex(this.#seed);
  }

  /** Signs a 32-byte signing hash; returns the 64-byte R || S. */
  sign(message32) {
    return ed25519.sign(hexToBytes(message32, 32), this.#seed);
  }

  toString() {
    return `Key(${this.account})`;
  }

  toJSON() {
    return { account: this.account, publicKey: toHex(this.publicKey) };
  }
}

/**
 * The dev chain's public, deterministic key of a name:
 * seed = blake3("watt-dev-key:" || name). Never use them on a real chain.
 */
export function devKey(name) {
  return new Key(blake3(concat(utf8Bytes('watt-dev-key:'), utf8Bytes(name))));
}

/**
 * Checks an ed25519 signature over a 32-byte message (RFC 8032, canonical
 * encodings). A convenience: the node's rule (section 4: cofactored, no
 * small-order keys) is what decides on chain; honest signatures pass both.
 */
export function verify(publicKey, message32, signature) {
  try {
    return ed25519.verify(hexToBytes(signature, 64), hexToBytes(message32, 32), hexToBytes(publicKey, 32), { zip215: false });
  } catch {
    return false;
  }
}
