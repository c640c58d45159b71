// Canonical (borsh) encoding, docs/encoding.md sections 1 and 2, and the
// encoders of every object the golden vectors hold: readings (section 6),
// consensus objects (7), proof of possession and genesis (8), state keys
// and values (9), events (10). Transaction bodies are in bodies.js.
//
// Values come in the JSON form of docs/rpc.md section 1: camelCase names,
// Wh and W as decimal strings (numbers and bigints accepted), heights,
// ids, nonces and times as numbers, hashes and keys as 0x hex (Uint8Array
// accepted), accounts as watt1... (or 0x hex, or 32 bytes). Each encoder
// returns a Uint8Array.
import { accountFromText } from './address.js';
import { concat, hexToBytes, utf8Bytes } from './bytes.js';

export const U32_MAX = 0xffffffff;

// ---------------------------------------------------------------------------
// Primitives
// ---------------------------------------------------------------------------

/** An unsigned integer from a number, a bigint or a decimal string. */
export function toBigInt(v) {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) throw new RangeError(`${v} is not a safe integer: pass quantities as decimal strings or bigints`);
    return BigInt(v);
  }
  if (typeof v === 'string' && /^-?[0-9]+$/.test(v)) return BigInt(v);
  throw new TypeError(`expected an integer or decimal string, got ${JSON.stringify(v)}`);
}

function uint(bytes) {
  const bits = BigInt(bytes * 8);
  return (v) => {
    const n = toBigInt(v);
    if (n < 0n || n >= 1n << bits) throw new RangeError(`${n} does not fit in u${bits}`);
    const out = new Uint8Array(bytes);
    let x = n;
    for (let i = 0; i < bytes; i++) {
      out[i] = Number(x & 0xffn);
      x >>= 8n;
    }
    return out;
  };
}

export const u8 = uint(1);
export const u16 = uint(2);
export const u32 = uint(4);
export const u64 = uint(8);

/** u64 big-endian, as in state keys. */
export function be64(v) {
  return u64(v).reverse();
}

/** A signed 128-bit integer, 16 bytes little-endian two's complement. */
export function i128(v) {
  const n = toBigInt(v);
  if (n < -(1n << 127n) || n >= 1n << 127n) throw new RangeError(`${n} does not fit in i128`);
  return uint(16)(BigInt.asUintN(128, n));
}

export function bool(v) {
  if (typeof v !== 'boolean') throw new TypeError(`expected a bool, got ${JSON.stringify(v)}`);
  return Uint8Array.of(v ? 1 : 0);
}

/** N raw bytes, no length. */
export function fixed(b, n) {
  return hexToBytes(b, n);
}

/** A byte string: u32 length then the bytes. */
export function byteString(b, maxLen = U32_MAX) {
  const bytes = hexToBytes(b);
  if (bytes.length > maxLen) throw new RangeError(`${bytes.length} bytes exceed the bound ${maxLen}`);
  return concat(u32(bytes.length), bytes);
}

/** Bounded UTF-8 text (section 1, "Text"): no control characters. */
export function text(s, maxLen = U32_MAX) {
  if (typeof s !== 'string') throw new TypeError(`expected text, got ${JSON.stringify(s)}`);
  if (/[\u0000-\u001f\u007f-\u009f]/.test(s)) throw new RangeError(`text ${JSON.stringify(s)} has control characters`);
  if (/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s)) {
    throw new RangeError(`text ${JSON.stringify(s)} has a lone surrogate (not valid UTF-8)`);
  }
  return byteString(utf8Bytes(s), maxLen);
}

/** A plain borsh string (unbounded, no control-character rule). */
export function string(s) {
  return byteString(utf8Bytes(s));
}

/** Vec<T>: u32 count then each item. */
export function vec(items, enc, maxLen = U32_MAX) {
  const list = [...items];
  if (list.length > maxLen) throw new RangeError(`${list.length} items exceed the bound ${maxLen}`);
  return concat(u32(list.length), ...list.map((x) => enc(x)));
}

/** Option<T>: 0x00, or 0x01 then T; `null` and `undefined` are none. */
export function option(v, enc) {
  return v === null || v === undefined ? Uint8Array.of(0) : concat([1], enc(v));
}

/** An enum variant: its tag byte, then its fields. */
export function variant(tag, ...payload) {
  return concat(u8(tag), ...payload);
}

/**
 * A field by its camelCase JSON name; the snake_case spelling is accepted
 * as well (`f(obj, 'periodStart')` also finds `period_start`).
 */
export function f(obj, camel) {
  if (obj !== null && typeof obj === 'object') {
    if (camel in obj) return obj[camel];
    const snake = camel.replace(/[A-Z]/g, (c) => '_' + c.toLowerCase());
    if (snake in obj) return obj[snake];
  }
  throw new TypeError(`missing field "${camel}" in ${JSON.stringify(obj && Object.keys(obj))}`);
}

/** An optional field: absent counts as null. */
function fo(obj, camel) {
  try {
    return f(obj, camel);
  } catch {
    return null;
  }
}

/** A fieldless enum by name (any case, `-`/`_`/spaces ignored) or index. */
export function named(names) {
  const table = Object.fromEntries(names.map((n, i) => [n.toLowerCase(), i]));
  return (v) => {
    if (typeof v === 'number' && Number.isInteger(v)) return u8(v);
    const key = String(v).replace(/[-_ ]/g, '').toLowerCase();
    if (!(key in table)) throw new RangeError(`unknown variant ${JSON.stringify(v)}; expected one of ${names.join(', ')}`);
    return u8(table[key]);
  };
}

// ---------------------------------------------------------------------------
// Domain types (section 2)
// ---------------------------------------------------------------------------

export const hash32 = (v) => hexToBytes(v, 32);
export const publicKey = hash32;
export const signature = (v) => hexToBytes(v, 64);

/** An AccountId: `watt1...`, `0x` hex or 32 bytes. */
export function account(v) {
  if (v instanceof Uint8Array) return hexToBytes(v, 32);
  if (v && typeof v === 'object' && v.publicKey instanceof Uint8Array) return hexToBytes(v.publicKey, 32); // a Key
  return accountFromText(v);
}

export const ZONE_ID_MAX = 16;
export const FEEDER_ID_MAX = 24;
export const MAX_GRID_OPERATORS = 16;

export function zoneId(z) {
  if (typeof z !== 'string' || !/^[A-Z0-9-]{2,16}$/.test(z)) throw new RangeError(`zone id ${JSON.stringify(z)} is not 2-16 bytes of A-Z 0-9 -`);
  return text(z, ZONE_ID_MAX);
}

/** A FeederId: 2 to 24 bytes of A-Z 0-9 - /, e.g. `RU-BU/F12`. */
export function feederId(x) {
  if (typeof x !== 'string' || !/^[A-Z0-9/-]{2,24}$/.test(x)) throw new RangeError(`feeder id ${JSON.stringify(x)} is not 2-24 bytes of A-Z 0-9 - /`);
  return text(x, FEEDER_ID_MAX);
}

function padded(s, n) {
  const out = new Uint8Array(n);
  out.set(utf8Bytes(s));
  return out;
}

/** The zone id zero-padded to 16 bytes, as in state keys. */
export function zoneIdPadded(z) {
  zoneId(z);
  return padded(z, ZONE_ID_MAX);
}

/** The feeder id zero-padded to 24 bytes, as in state keys. */
export function feederIdPadded(x) {
  feederId(x);
  return padded(x, FEEDER_ID_MAX);
}

export const vintage = (v) => concat(zoneId(v.zone), u64(v.hour));
/** Option<Vec<Vintage>> (at most 256). */
export const vintages = (v) => option(v, (xs) => vec(xs, vintage, 256));

export const source = named(['solar', 'wind', 'hydro', 'geothermal', 'biomass', 'otherRenewable']);
export const matchingWindow = named(['hour', 'day', 'month', 'year']);
export const voteKind = named(['prevote', 'precommit']);

export function zonePolicy(p) {
  return concat(
    matchingWindow(f(p, 'matchingWindow')), u64(f(p, 'miningCapW')), u64(f(p, 'creditLifetimeHours')),
    u64(f(p, 'readingMaxAgeS')), u32(f(p, 'plausibilityTolerancePct')), u32(f(p, 'shortfallPenaltyPermille')),
    u64(f(p, 'darkAfterS')),
  );
}

export function chainParams(p) {
  return concat(
    u64(f(p, 'maxClockSkewS')), u64(f(p, 'proposalExpiryBlocks')), u32(f(p, 'maxBlockTxs')),
    u32(f(p, 'maxBlockBytes')), u32(f(p, 'maxReadingsPerTx')), u64(f(p, 'minNewAccountWh')),
    u64(f(p, 'settlementGraceS')),
  );
}

// ---------------------------------------------------------------------------
// Readings (section 6)
// ---------------------------------------------------------------------------

function reading(idField) {
  return (r) => concat(
    u64(r[idField]), u64(r.sequence), u64(f(r, 'periodStart')), u64(f(r, 'periodEnd')), u64(r.counter), u8(r.flags),
  );
}

export const generationReading = reading('meter');
export const consumptionReading = reading('site');
export const signedGenerationReading = (s) => concat(generationReading(s.reading), signature(s.signature));
export const signedConsumptionReading = (s) => concat(consumptionReading(s.reading), signature(s.signature));

/** The signed payload of a proof of possession: operator || consensus key. */
export const proofOfPossessionPayload = (operator, consensusKey) => concat(account(operator), publicKey(consensusKey));
/** A proof of possession is the bare 64-byte signature (as the vectors show). */
export const proofOfPossession = (p) => signature(p.signature);

// ---------------------------------------------------------------------------
// Feeders (sections 5 and 6)
// ---------------------------------------------------------------------------

/** Attachee: `{meter: 1}` (tag 0) or `{site: 1}` (tag 1). */
export function attachee(d) {
  const keys = Object.keys(d ?? {});
  if (keys.length !== 1 || !(keys[0] === 'meter' || keys[0] === 'site')) throw new TypeError(`expected {meter: id} or {site: id}, got ${JSON.stringify(d)}`);
  return 'meter' in d ? variant(0, u64(d.meter)) : variant(1, u64(d.site));
}

export function newFeeder(x) {
  return concat(
    feederId(x.id), zoneId(x.zone), u64(f(x, 'ratedCapacity')), u16(f(x, 'lossPermille')), u64(f(x, 'alertFloor')),
    u16(f(x, 'alertHours')), u16(f(x, 'miningSharePermille')), publicKey(f(x, 'headKey')), u64(f(x, 'baselineTime')),
    u64(f(x, 'baselineImport')), u64(f(x, 'baselineExport')), option(fo(x, 'declaredKey'), publicKey),
  );
}

/** FeederReading, what a feeder's head meter signs. */
export function feederReading(r) {
  return concat(
    feederId(r.feeder), u64(r.sequence), u64(f(r, 'periodStart')), u64(f(r, 'periodEnd')), u64(r.import), u64(r.export), u8(r.flags),
  );
}

/** DeclaredLoad, what the distribution operator's declared-load key signs. */
export const declaredLoad = (d) => concat(feederId(d.feeder), u64(d.hour), u64(d.energy));
export const signedFeederReading = (s) => concat(feederReading(s.reading), signature(s.signature));
export const signedDeclaredLoad = (s) => concat(declaredLoad(s.reading), signature(s.signature));

// ---------------------------------------------------------------------------
// The sandbox (sections 5, 6, 9, 10)
// ---------------------------------------------------------------------------

export const ALL_MONTHS = 0x0fff;
export const ALL_HOURS = 0x00ffffff;

/** PermitTerms: maxPower (W), months (u16 mask), hours (u32 mask), monthlyQuota (Wh), expires. */
export function permitTerms(d) {
  return concat(u64(f(d, 'maxPower')), u16(d.months), u32(d.hours), u64(f(d, 'monthlyQuota')), u64(d.expires));
}

/** CurtailTarget: `{feeder: "DEV-1/NORTH"}` (tag 0) or `{zone: "DEV-1"}` (tag 1). */
export function curtailTarget(d) {
  const keys = Object.keys(d ?? {});
  if (keys.length !== 1 || !(keys[0] === 'feeder' || keys[0] === 'zone')) throw new TypeError(`expected {feeder: id} or {zone: id}, got ${JSON.stringify(d)}`);
  return 'feeder' in d ? variant(0, feederId(d.feeder)) : variant(1, zoneId(d.zone));
}

/** CurtailmentAck, what a site's owner signs: order, site, seenAt. */
export const curtailmentAck = (a) => concat(u64(a.order), u64(a.site), u64(f(a, 'seenAt')));
export const signedCurtailmentAck = (s) => concat(curtailmentAck(s.reading), signature(s.signature));

/** A watts field whose JSON name ends in W (`maxMiningW`), or its plain name. */
function watts(d, camel) {
  return camel + 'W' in d ? d[camel + 'W'] : f(d, camel);
}

const siteShare = (s) => concat(u64(s.site), u64('shareW' in s ? s.shareW : s.share));

// ---------------------------------------------------------------------------
// Consensus objects (section 7)
// ---------------------------------------------------------------------------

export function vote(v) {
  return concat(
    voteKind(f(v, 'kind')), hash32(f(v, 'chainId')), u64(f(v, 'height')), u32(f(v, 'round')),
    option(fo(v, 'blockHash'), hash32), publicKey(f(v, 'validator')),
  );
}

export const signedVote = (s) => concat(vote(s.vote), signature(s.signature));

export function proposal(p) {
  return concat(
    hash32(f(p, 'chainId')), u64(f(p, 'height')), u32(f(p, 'round')), option(fo(p, 'validRound'), u32),
    hash32(f(p, 'blockHash')), publicKey(f(p, 'proposer')),
  );
}

export function header(h) {
  return concat(
    hash32(f(h, 'chainId')), u64(f(h, 'height')), hash32(f(h, 'parentHash')), u64(f(h, 'timestampMs')),
    publicKey(f(h, 'proposer')), hash32(f(h, 'txRoot')), hash32(f(h, 'stateRoot')), hash32(f(h, 'eventRoot')),
    hash32(f(h, 'validatorSetHash')), hash32(f(h, 'nextValidatorSetHash')), hash32(f(h, 'parentCommitHash')),
  );
}

export const validator = (v) => concat(publicKey(f(v, 'consensusKey')), account(f(v, 'operator')), text(f(v, 'name'), 64));
export const validatorSet = (vs) => vec(vs, validator, 256);

/** A commit certificate's signer bitmap: 0x hex, bytes or a list of byte values. */
const signers = (v) => (typeof v === 'string' || v instanceof Uint8Array ? hexToBytes(v) : Uint8Array.from(v));

export function commitCertificate(c) {
  return concat(
    u64(f(c, 'height')), u32(f(c, 'round')), hash32(f(c, 'blockHash')), hash32(f(c, 'validatorSetHash')),
    byteString(signers(f(c, 'signers')), 32), vec(f(c, 'signatures'), signature, 256),
  );
}

// ---------------------------------------------------------------------------
// Genesis (section 8)
// ---------------------------------------------------------------------------

function genesisMeter(m) {
  return concat(
    text(m.serial, 64), publicKey(f(m, 'deviceKey')), account(m.owner), account(m.operator), source(m.source),
    u64(m.capacity), zoneId(m.zone), u64(f(m, 'baselineTime')), u64(f(m, 'baselineCounter')),
  );
}

function genesisSite(s) {
  return concat(
    text(s.serial, 64), publicKey(f(s, 'deviceKey')), account(s.owner), zoneId(s.zone), u64(f(s, 'maxDraw')),
    u64(f(s, 'baselineTime')), u64(f(s, 'baselineCounter')),
  );
}

/** The genesis document; its tagged hash is the chain id. */
export function genesis(g) {
  return concat(
    text(f(g, 'chainName'), 64), u64(f(g, 'genesisTimeMs')), chainParams(g.params), validatorSet(g.authorities),
    vec(g.regulators, account, 256), vec(g.zones, ([z, p]) => concat(zoneId(z), zonePolicy(p)), 65536),
    vec(g.meters, genesisMeter, 65536), vec(g.sites, genesisSite, 65536),
    option(g.continues, (c) => concat(hash32(f(c, 'chainId')), u64(c.height), hash32(f(c, 'stateRoot')))),
  );
}

// ---------------------------------------------------------------------------
// State (section 9): keys and values
// ---------------------------------------------------------------------------

export const accountStateKey = (a) => concat([0x01], account(a));

/**
 * Account { nonce: u64, holdings: map<Vintage, u64> }; holdings is a list
 * of `{vintage: {zone, hour}, amount}`, written in ascending logical order
 * (zone text, then hour as a number).
 */
export function accountValue(nonce, holdings) {
  const cmpBytes = (a, b) => {
    for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
    return a.length - b.length;
  };
  const items = [...holdings].sort((a, b) => {
    const z = cmpBytes(utf8Bytes(a.vintage.zone), utf8Bytes(b.vintage.zone));
    if (z) return z;
    const ha = toBigInt(a.vintage.hour);
    const hb = toBigInt(b.vintage.hour);
    return ha < hb ? -1 : ha > hb ? 1 : 0;
  });
  for (let i = 1; i < items.length; i++) {
    if (items[i].vintage.zone === items[i - 1].vintage.zone && toBigInt(items[i].vintage.hour) === toBigInt(items[i - 1].vintage.hour)) {
      throw new RangeError('repeated vintage in holdings');
    }
  }
  return concat(u64(nonce), vec(items, (h) => concat(vintage(h.vintage), u64(h.amount))));
}

// The feeder tables, 0x10 to 0x16.
export const feederStateKey = (feeder) => concat([0x10], feederIdPadded(feeder));
export const feederHourStateKey = (feeder, hour) => concat([0x11], feederIdPadded(feeder), be64(hour));
export const feederDueStateKey = (closeAfter, feeder) => concat([0x12], be64(closeAfter), feederIdPadded(feeder));
export function attachmentStateKey(device, fromHour) {
  attachee(device);
  const [kind, id] = 'meter' in device ? [0, device.meter] : [1, device.site];
  return concat([0x13, kind], be64(id), be64(fromHour));
}
export const feederBalanceStateKey = (feeder, hour) => concat([0x14], feederIdPadded(feeder), be64(hour));
export const openAlertStateKey = (feeder) => concat([0x15], feederIdPadded(feeder));
export const feederCountStateKey = () => Uint8Array.of(0x16);

const balanceStatus = named(['balanced', 'unexplained', 'negative', 'unmetered']);

export function closedHourValue(h) {
  return concat(
    u64(h.import), u64(h.export), u64(h.generation), u64(h.consumption), u64(h.declared), u64(h.allowance),
    i128(h.unexplained), balanceStatus(h.status),
  );
}

export function feederValue(x) {
  const alert = (a) => concat(u64(f(a, 'fromHour')), u64(f(a, 'throughHour')), u32(a.hours), u64(a.unexplained));
  return concat(
    feederId(x.id), zoneId(x.zone), u64(f(x, 'ratedCapacity')), u16(f(x, 'lossPermille')), u64(f(x, 'alertFloor')),
    u16(f(x, 'alertHours')), u16(f(x, 'miningSharePermille')), publicKey(f(x, 'headKey')),
    option(fo(x, 'declaredKey'), publicKey), u64(f(x, 'headSequence')), u64(f(x, 'headLastEnd')),
    u64(f(x, 'headImport')), u64(f(x, 'headExport')), u64(f(x, 'openFrom')), u32(x.run), u64(f(x, 'runFrom')),
    u64(f(x, 'runEnergy')), option(x.alert, alert), u64(f(x, 'registeredMs')),
  );
}

export function feederHourValue(h) {
  return concat(
    u64(h.import), u64(h.export), u64(h.generation), u64(h.consumption), option(h.declared, u64),
    u32(f(h, 'headSeconds')), bool(f(h, 'counterDown')),
  );
}

// The sandbox tables, 0x17 to 0x20.
export const zoneSandboxStateKey = (zone) => concat([0x17], zoneIdPadded(zone));
export const permitStateKey = (site) => concat([0x18], be64(site));
export const feederPermitStateKey = (feeder, site) => concat([0x19], feederIdPadded(feeder), be64(site));
/** `month` is a utcMonth() index. */
export const permitUsageStateKey = (site, month) => concat([0x1a], be64(site), be64(month));
export const orderStateKey = (order) => concat([0x1b], be64(order));
export const orderSiteStateKey = (order, site) => concat([0x1c], be64(order), be64(site));
export const pendingOrderStateKey = (zone, order) => concat([0x1d], zoneIdPadded(zone), be64(order));
export const orderDueStateKey = (judgeAfter, order) => concat([0x1e], be64(judgeAfter), be64(order));
export const orderCountStateKey = () => Uint8Array.of(0x1f);
export const feederSiteStateKey = (feeder, site) => concat([0x20], feederIdPadded(feeder), be64(site));

/** The index of a UTC month, year * 12 + month - 1, of an hour (unix seconds / 3600). */
export function utcMonth(hour) {
  const d = new Date(Number(toBigInt(hour)) * 3600 * 1000);
  return d.getUTCFullYear() * 12 + d.getUTCMonth();
}

export const zoneSandboxValue = (z) => concat(option(fo(z, 'permitsFrom'), u64), vec(f(z, 'gridOperators'), account));

export function permitValue(p) {
  return concat(
    u64(p.site), feederId(p.feeder), permitTerms(p.terms), u64(f(p, 'issuedMs')), option(p.revoked, (r) => text(r, 256)),
  );
}

export function curtailmentValue(c) {
  return concat(
    u64('id' in c ? c.id : c.order), curtailTarget(c.target), zoneId(c.zone), account(c.issuer), u64(c.start), u64(c.end),
    u64(watts(c, 'maxMining')), option(fo(c, 'cancelledAt'), u64), vec(c.shares, siteShare), bool(c.judged),
    u64(f(c, 'orderedMs')),
  );
}

const verdictValue = (v) => concat(u64(v.used), u64(v.allowed), bool(v.reported), bool(v.honoured));

export function orderSiteValue(o) {
  return concat(u64(watts(o, 'share')), u64(o.used), option(fo(o, 'ackedAt'), u64), option(o.verdict, verdictValue));
}

export const pendingWindowValue = (w) => concat(u64(w.start), u64(w.end));

// ---------------------------------------------------------------------------
// Events (section 10): the violation (tag 9), the feeder events (34 to 43)
// and the sandbox events (44 to 50), as in examples/python/watt.py.
// ---------------------------------------------------------------------------

export const violationKind = named([
  'overdraw', 'counterWentDown', 'flagged', 'periodGap', 'multiHour', 'unbacked', 'permitBreach', 'curtailmentBreach',
]);

/** JSON kind -> [tag, encoder of the fields]. */
export const EVENTS = {
  violation: [9, (e) => concat(u64(e.site), violationKind(e.violation), option(e.sequence, u64), string(e.detail))],
  feederRegistered: [34, (e) => concat(feederId(e.feeder), zoneId(e.zone), u64(f(e, 'ratedCapacity')), u64(f(e, 'firstHour')))],
  feederAttached: [35, (e) => concat(attachee(e.device), feederId(e.feeder), u64(f(e, 'fromHour')))],
  feederMeterResynced: [36, (e) => concat(feederId(e.feeder), u64(f(e, 'baselineTime')))],
  feederCounterWentDown: [37, (e) => concat(feederId(e.feeder), u64(e.sequence), text(e.counter, 256))],
  feederBalance: [38, (e) => concat(
    feederId(e.feeder), u64(e.hour), u64(e.import), u64(e.export), u64(e.generation), u64(e.consumption),
    u64(e.declared), u64(e.allowance), i128(e.unexplained), balanceStatus(e.status),
  )],
  unexplainedLoad: [39, (e) => concat(feederId(e.feeder), u64(f(e, 'fromHour')), u64(f(e, 'throughHour')), u32(e.hours), u64(e.unexplained))],
  feederAlertCleared: [40, (e) => concat(feederId(e.feeder), u64(f(e, 'fromHour')), u64(f(e, 'throughHour')), text(e.reason, 256))],
  feederOverload: [41, (e) => concat(feederId(e.feeder), u64(e.hour), u64(e.import), u64(e.consumption), u64(e.capacity))],
  lateFeederConsumption: [42, (e) => concat(feederId(e.feeder), u64(e.site), u64(e.hour), u64(e.amount))],
  lateFeederGeneration: [43, (e) => concat(feederId(e.feeder), u64(e.meter), u64(e.hour), u64(e.amount))],
  zoneSandboxSet: [44, (e) => concat(zoneId(e.zone), option(fo(e, 'permitsFrom'), u64), vec(f(e, 'gridOperators'), account))],
  permitIssued: [45, (e) => concat(u64(e.site), feederId(e.feeder), permitTerms(e.terms))],
  permitRevoked: [46, (e) => concat(u64(e.site), text(e.reason, 256))],
  curtailmentOrdered: [47, (e) => concat(
    u64(e.order), curtailTarget(e.target), zoneId(e.zone), u64(e.start), u64(e.end), u64(watts(e, 'maxMining')),
    vec(e.shares, siteShare),
  )],
  curtailmentCancelled: [48, (e) => concat(u64(e.order), u64(e.at), bool(e.judged))],
  curtailmentAcknowledged: [49, (e) => concat(u64(e.order), u64(e.site), u64(f(e, 'seenAt')))],
  curtailmentVerdict: [50, (e) => concat(
    u64(e.order), u64(e.site), u64(watts(e, 'share')), u64(e.start), u64(e.end), u64(e.used), u64(e.allowed),
    bool(e.reported), bool(e.honoured),
  )],
};

/** An Event; only the kinds in EVENTS are implemented. */
export function event(e) {
  const entry = EVENTS[e?.kind];
  if (!entry) throw new RangeError(`event kind ${JSON.stringify(e?.kind)} is not implemented here`);
  return variant(entry[0], entry[1](e));
}

/** EventRecord = tx_index: Option<u32>, event: Event. */
export const eventRecord = (r) => concat(option(fo(r, 'txIndex'), u32), event(r.event));
