// Domain-tagged blake3 hashes (docs/encoding.md section 3) and the Merkle
// roots of section 7.
import { blake3 } from '../vendor/noble-hashes/blake3.js';
import { concat, hexToBytes, utf8Bytes } from './bytes.js';

export const TAGS = Object.freeze({
  TX: 'watt/tx/v1',
  TX_ID: 'watt/tx-id/v1',
  HEADER: 'watt/header/v1',
  PROPOSAL: 'watt/proposal/v1',
  VOTE: 'watt/vote/v1',
  COMMIT: 'watt/commit/v1',
  GENERATION_READING: 'watt/generation-reading/v1',
  CONSUMPTION_READING: 'watt/consumption-reading/v1',
  PROOF_OF_POSSESSION: 'watt/proof-of-possession/v1',
  STATE_NODE: 'watt/state-node/v1',
  STATE_KEY: 'watt/state-key/v1',
  STATE_VALUE: 'watt/state-value/v1',
  GENESIS: 'watt/genesis/v1',
  TX_ROOT: 'watt/tx-root/v1',
  EVENT_ROOT: 'watt/event-root/v1',
  VALIDATOR_SET: 'watt/validator-set/v1',
  FEEDER_READING: 'watt/feeder-reading/v1',
  DECLARED_LOAD: 'watt/declared-load/v1',
  CURTAILMENT_ACK: 'watt/curtailment-ack/v1',
});

/** Plain blake3, 32 bytes. */
export function blake3Hash(bytes) {
  return blake3(bytes);
}

/** H(tag, payload) = blake3(len(tag) as one byte || tag || payload). */
export function taggedHash(tag, payload) {
  const t = utf8Bytes(tag);
  if (t.length > 255) throw new RangeError('a tag is at most 255 bytes');
  return blake3(concat([t.length], t, payload));
}

/**
 * For objects that do not carry the chain id (readings, proofs of
 * possession, declared loads, curtailment acks):
 * H(tag, chain_id || payload).
 */
export function signingHash(tag, chainId, payload) {
  return taggedHash(tag, concat(hexToBytes(chainId, 32), payload));
}

/**
 * Section 7's binary Merkle root over leaf hashes: pairs (l, r) become
 * H(tag, 0x01 || l || r), an odd last node moves up unchanged; no leaves
 * give 32 zero bytes.
 */
export function merkleRoot(tag, leaves) {
  let level = [...leaves];
  if (level.length === 0) return new Uint8Array(32);
  while (level.length > 1) {
    const next = [];
    for (let i = 0; i + 1 < level.length; i += 2) next.push(taggedHash(tag, concat([1], level[i], level[i + 1])));
    if (level.length % 2) next.push(level[level.length - 1]);
    level = next;
  }
  return level[0];
}

/** The event root over encoded EventRecords (leaf = H(tag, 0x00 || record)). */
export function eventRoot(encodedRecords) {
  return merkleRoot(TAGS.EVENT_ROOT, [...encodedRecords].map((r) => taggedHash(TAGS.EVENT_ROOT, concat([0], r))));
}

/** The transaction root: the Merkle tree over the transaction ids in block order. */
export function txRoot(txIds) {
  return merkleRoot(TAGS.TX_ROOT, [...txIds].map((h) => hexToBytes(h, 32)));
}
