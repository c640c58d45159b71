// Transactions (docs/encoding.md section 5) and the other signed objects:
// readings (6), feeder readings and declared loads, curtailment acks, proofs
// of possession (8).
import { concat, hexToBytes, toHex } from './bytes.js';
import { encodeBody } from './bodies.js';
import {
  account, consumptionReading, curtailmentAck, declaredLoad, feederReading, generationReading, hash32,
  proofOfPossessionPayload, u64,
} from './encoding.js';
import { signingHash, taggedHash, TAGS } from './hash.js';

/** encode(UnsignedTx) = chain_id || signer || nonce (u64) || body. */
export function encodeUnsignedTx(chainId, signer, nonce, body) {
  return concat(hash32(chainId), account(signer), u64(nonce), encodeBody(body));
}

/** A signed transaction: what tx_submit takes is `hex`; its id is `hash`. */
export class SignedTx {
  constructor({ unsigned, signingHash, signature, encoded, hash, json }) {
    this.unsigned = unsigned; // encode(UnsignedTx)
    this.signingHash = signingHash; // H("watt/tx/v1", unsigned)
    this.signature = signature; // ed25519 over signingHash
    this.encoded = encoded; // unsigned || signature
    this.hash = hash; // H("watt/tx-id/v1", encoded): the transaction id
    this.json = json; // {unsigned: {chainId, signer, nonce, body}, signature}: as tx_get shows it
  }

  /** The encoding as 0x hex, the parameter of tx_submit. */
  get hex() {
    return toHex(this.encoded);
  }

  /** The transaction id as 0x hex. */
  get id() {
    return toHex(this.hash);
  }
}

/** Signs `body` as `key` with `nonce` for the chain `chainId` (0x hex or bytes). */
export function signTx(key, chainId, nonce, body) {
  const unsigned = encodeUnsignedTx(chainId, key.publicKey, nonce, body);
  const sh = taggedHash(TAGS.TX, unsigned);
  const signature = key.sign(sh);
  const encoded = concat(unsigned, signature);
  return new SignedTx({
    unsigned, signingHash: sh, signature, encoded, hash: taggedHash(TAGS.TX_ID, encoded),
    json: { unsigned: { chainId: toHex(hexToBytes(chainId, 32)), signer: key.account, nonce, body }, signature: toHex(signature) },
  });
}

/** The id of an encoded transaction. */
export const txId = (encoded) => taggedHash(TAGS.TX_ID, hexToBytes(encoded));

function signer(tag, enc) {
  const hash = (chainId, obj) => signingHash(tag, chainId, enc(obj));
  const sign = (key, chainId, obj) => ({ reading: obj, signature: toHex(key.sign(hash(chainId, obj))) });
  return [hash, sign];
}

/** Generation readings: signed by the meter's device key. */
export const [generationReadingSigningHash, signGenerationReading] = signer(TAGS.GENERATION_READING, generationReading);
/** Consumption readings: signed by the site's device key. */
export const [consumptionReadingSigningHash, signConsumptionReading] = signer(TAGS.CONSUMPTION_READING, consumptionReading);
/** Head meter readings: signed by the feeder's head key. */
export const [feederReadingSigningHash, signFeederReading] = signer(TAGS.FEEDER_READING, feederReading);
/** Declared loads: signed by the feeder's declared-load key. */
export const [declaredLoadSigningHash, signDeclaredLoad] = signer(TAGS.DECLARED_LOAD, declaredLoad);
/** Curtailment acknowledgements: signed by the site OWNER's account key. */
export const [curtailmentAckSigningHash, signCurtailmentAck] = signer(TAGS.CURTAILMENT_ACK, curtailmentAck);

/**
 * Signs a meter or site reading; returns `{reading, signature}` for a
 * submitReadings or submitConsumption body. `consumption` picks the tag.
 */
export function signReading(key, chainId, reading, consumption = false) {
  return consumption ? signConsumptionReading(key, chainId, reading) : signGenerationReading(key, chainId, reading);
}

/** The proof that the holder of a consensus key agrees to serve `operator`. */
export function proofOfPossessionSigningHash(chainId, operator, consensusKey) {
  return signingHash(TAGS.PROOF_OF_POSSESSION, chainId, proofOfPossessionPayload(operator, consensusKey));
}

export function signProofOfPossession(consensus, chainId, operator) {
  return { signature: toHex(consensus.sign(proofOfPossessionSigningHash(chainId, operator, consensus.publicKey))) };
}
