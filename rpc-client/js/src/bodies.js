// Transaction bodies (docs/encoding.md section 5): the encoder of every
// body, and builders that return a body in its JSON form (the form the node
// shows in tx_get and the golden vectors' `fields` use).
import {
  account, attachee, bool, chainParams, curtailTarget, f, feederId, newFeeder, permitTerms, proofOfPossession,
  publicKey, signedConsumptionReading, signedCurtailmentAck, signedDeclaredLoad, signedFeederReading,
  signedGenerationReading, signedVote, source, text, toBigInt, u64, variant, vec, vintage, vintages, zoneId,
  zonePolicy, MAX_GRID_OPERATORS,
} from './encoding.js';
import { concat } from './bytes.js';
import { accountToText } from './address.js';

function authorityChange(c) {
  switch (c.kind) {
    case 'add':
      return variant(0, account(c.operator), publicKey(f(c, 'consensusKey')), text(c.name, 256), proofOfPossession(c.proof));
    case 'remove':
      return variant(1, account(c.operator));
    case 'rotate':
      return variant(2, account(c.operator), publicKey(f(c, 'consensusKey')), proofOfPossession(c.proof));
    default:
      throw new RangeError(`unknown authority change ${JSON.stringify(c.kind)}`);
  }
}

function regulatorChange(c) {
  const tags = { add: 0, remove: 1 };
  if (!(c.kind in tags)) throw new RangeError(`unknown regulator change ${JSON.stringify(c.kind)}`);
  return variant(tags[c.kind], account(c.account));
}

const siteReason = (b) => concat(u64(b.site), text(b.reason, 256));
const baseline = (b) => concat(u64(f(b, 'baselineTime')), u64(f(b, 'baselineCounter')));

/** JSON `type` -> [tag, encoder of the fields]. */
export const BODIES = {
  transfer: [0, (b) => concat(account(b.to), u64(b.amount), vintages(b.vintages))],
  retire: [1, (b) => concat(u64(b.amount), text(b.beneficiary, 256), text(b.purpose, 256), vintages(b.vintages))],
  registerMeter: [2, (b) => concat(
    text(b.serial, 64), publicKey(f(b, 'deviceKey')), account(b.owner), source(b.source), u64(b.capacity),
    zoneId(b.zone), baseline(b),
  )],
  approveMeter: [3, (b) => u64(b.meter)],
  submitReadings: [4, (b) => vec(b.readings, signedGenerationReading, 1024)],
  replaceMeterKey: [5, (b) => concat(u64(b.meter), publicKey(f(b, 'newDeviceKey')), baseline(b))],
  resyncMeter: [6, (b) => concat(u64(b.meter), baseline(b))],
  transferMeterOperator: [7, (b) => concat(u64(b.meter), account(f(b, 'newOperator')))],
  revokeMeter: [8, (b) => concat(u64(b.meter), text(b.reason, 256))],
  registerSite: [9, (b) => concat(
    text(b.serial, 64), publicKey(f(b, 'deviceKey')), account(b.owner), zoneId(b.zone), u64(f(b, 'maxDraw')), baseline(b),
  )],
  submitConsumption: [10, (b) => vec(b.readings, signedConsumptionReading, 1024)],
  settleShortfall: [11, (b) => concat(u64(b.site), vintages(b.vintages))],
  setZonePolicy: [12, (b) => concat(zoneId(b.zone), zonePolicy(b.policy))],
  suspendSite: [13, siteReason],
  reinstateSite: [14, siteReason],
  revokeSite: [15, siteReason],
  replaceSiteKey: [16, (b) => concat(u64(b.site), publicKey(f(b, 'newDeviceKey')), baseline(b))],
  withdrawCredits: [17, (b) => concat(account(b.account), vintage(b.vintage), u64(b.amount), text(b.reason, 256))],
  proposeAuthoritySet: [18, (b) => authorityChange(b.change)],
  proposeRegulatorSet: [19, (b) => regulatorChange(b.change)],
  proposeChainParams: [20, (b) => chainParams(b.params)],
  vote: [21, (b) => concat(u64(b.proposal), bool(b.approve))],
  evidence: [22, (b) => concat(signedVote(b.first), signedVote(b.second))],
  // Feeders.
  registerFeeder: [23, (b) => newFeeder(b.feeder)],
  attachToFeeder: [24, (b) => concat(attachee(b.device), feederId(b.feeder), u64(f(b, 'fromHour')))],
  submitFeederReadings: [25, (b) => vec(b.readings, signedFeederReading, 1024)],
  submitDeclaredLoad: [26, (b) => vec(b.loads, signedDeclaredLoad, 256)],
  clearFeederAlert: [27, (b) => concat(feederId(b.feeder), text(b.reason, 256))],
  resyncFeederMeter: [28, (b) => concat(
    feederId(b.feeder), u64(f(b, 'baselineTime')), u64(f(b, 'baselineImport')), u64(f(b, 'baselineExport')),
  )],
  // The sandbox.
  setZoneSandbox: [29, (b) => concat(zoneId(b.zone), bool(f(b, 'permitsRequired')), vec(f(b, 'gridOperators'), account, MAX_GRID_OPERATORS))],
  issuePermit: [30, (b) => concat(u64(b.site), permitTerms(b.terms))],
  revokePermit: [31, siteReason],
  curtail: [32, (b) => concat(curtailTarget(b.target), u64(b.start), u64(b.end), u64('maxMiningW' in b ? b.maxMiningW : f(b, 'maxMining')))],
  cancelCurtailment: [33, (b) => u64(b.order)],
  ackCurtailment: [34, (b) => signedCurtailmentAck(b.ack)],
};

/** Encodes a body (`{type: "transfer", ...}`): its tag byte, then its fields. */
export function encodeBody(b) {
  const entry = BODIES[b?.type];
  if (!entry) throw new RangeError(`unknown body type ${JSON.stringify(b?.type)}`);
  return variant(entry[0], entry[1](b));
}

// ---------------------------------------------------------------------------
// Builders: each returns the body as JSON (quantities as decimal strings).
// ---------------------------------------------------------------------------

/** A quantity (Wh or W) as its JSON decimal string. */
export const wh = (v) => toBigInt(v).toString();
const vintageList = (v) => (v == null ? null : v.map((x) => ({ zone: x.zone, hour: Number(x.hour) })));

/** Sends `amount` Wh to `to`; `vintages` names which credits, oldest first if null. */
export function transfer(to, amount, vintages = null) {
  return { type: 'transfer', to: typeof to === 'string' ? to : toAccountText(to), amount: wh(amount), vintages: vintageList(vintages) };
}

/** Retires `amount` Wh for a beneficiary and purpose (each at most 256 bytes). */
export function retire(amount, beneficiary, purpose, vintages = null) {
  return { type: 'retire', amount: wh(amount), beneficiary, purpose, vintages: vintageList(vintages) };
}

/** Signed generation readings (`{reading, signature}`, see signReading). */
export function submitReadings(readings) {
  return { type: 'submitReadings', readings: [...readings] };
}

/** Signed consumption readings (`{reading, signature}`, see signReading). */
export function submitConsumption(readings) {
  return { type: 'submitConsumption', readings: [...readings] };
}

/** Settles a site's shortfall from the signer's credits. */
export function settleShortfall(site, vintages = null) {
  return { type: 'settleShortfall', site, vintages: vintageList(vintages) };
}

export const approveMeter = (meter) => ({ type: 'approveMeter', meter });
export const revokeMeter = (meter, reason) => ({ type: 'revokeMeter', meter, reason });
export const suspendSite = (site, reason) => ({ type: 'suspendSite', site, reason });
export const reinstateSite = (site, reason) => ({ type: 'reinstateSite', site, reason });
export const revokeSite = (site, reason) => ({ type: 'revokeSite', site, reason });
export const vote = (proposal, approve) => ({ type: 'vote', proposal, approve });
export const cancelCurtailment = (order) => ({ type: 'cancelCurtailment', order });
export const revokePermit = (site, reason) => ({ type: 'revokePermit', site, reason });
export const clearFeederAlert = (feeder, reason) => ({ type: 'clearFeederAlert', feeder, reason });
export const submitFeederReadings = (readings) => ({ type: 'submitFeederReadings', readings: [...readings] });
export const submitDeclaredLoad = (loads) => ({ type: 'submitDeclaredLoad', loads: [...loads] });
/** `ack` is a signed acknowledgement, see signCurtailmentAck. */
export const ackCurtailment = (ack) => ({ type: 'ackCurtailment', ack });
export const withdrawCredits = (acct, vintage, amount, reason) => ({
  type: 'withdrawCredits', account: acct, vintage: { zone: vintage.zone, hour: Number(vintage.hour) }, amount: wh(amount), reason,
});
export const curtail = (target, start, end, maxMiningW) => ({ type: 'curtail', target, start, end, maxMiningW: wh(maxMiningW) });

/**
 * Any body from its type and fields in their JSON form, checked by encoding
 * it once: `body('registerMeter', {serial, deviceKey, ...})`.
 */
export function body(type, fields = {}) {
  const b = { type, ...fields };
  encodeBody(b);
  return b;
}

function toAccountText(v) {
  return accountToText(account(v));
}
