// The explorer: latest blocks, a block, a transaction, an account, and
// the search that finds any of them (or a meter, site, feeder or zone) by
// what a person would paste: a height, a hash, an address, an id or a
// serial. Every object links to the ones it names.
import {
  accountLink, allPages, blockLink, energy, events, facts, feederLink, fill, h, link, meterLink,
  note, num, section, short, siteLink, table, txLink, utc, utcHour, zoneLink,
} from './lib.js';

const HASH = /^0x[0-9a-fA-F]{64}$/;

/** A field of a body or an event, linked where it names an object. */
function value(key, v) {
  if (v === null || v === undefined) return h('span', { class: 'note' }, 'none');
  if (typeof v === 'string' && /^watt1[0-9a-z]{20,}$/.test(v)) return accountLink(v, v);
  if (key === 'meter' && typeof v === 'number') return meterLink(v);
  if (key === 'site' && typeof v === 'number') return siteLink(v);
  if (key === 'zone' && typeof v === 'string') return zoneLink(v);
  if (key === 'feeder' && typeof v === 'string') return feederLink(v);
  if (key === 'vintage' && v.zone) return [zoneLink(v.zone), ` ${utcHour(v.hour)}`];
  if (key === 'bucket' && v.window) return `the ${v.window} ${v.window === 'hour' ? utcHour(v.index) : `#${v.index}`}`;
  if (key === 'parts' && Array.isArray(v)) {
    return v.map(([vin, amount], i) => [i ? '; ' : '', `${energy(amount)} of `, vin.zone ? [zoneLink(vin.zone), ` ${utcHour(vin.hour)}`] : String(vin)]);
  }
  if (key === 'target' && typeof v === 'object') return v.feeder ? ['feeder ', feederLink(v.feeder)] : ['zone ', zoneLink(v.zone)];
  if (['amount', 'forfeited', 'remaining', 'cost', 'unexplained', 'minted', 'capacity'].includes(key) && /^\d+$/.test(String(v))) {
    return Number(v) < 1000 ? energy(v) : `${energy(v)} (${num(v)} Wh)`;
  }
  if (typeof v === 'string' && HASH.test(v) && key.toLowerCase().includes('hash')) return h('span', { class: 'mono' }, v);
  if (typeof v === 'object') return h('span', { class: 'text mono' }, JSON.stringify(v));
  // Chain text (a purpose, a beneficiary, a reason, a serial) as text.
  return h('span', { class: 'text' }, String(v));
}

/** A body or event's fields as a definition list (its kind or type left out). */
function fields(obj, skip = ['kind', 'type']) {
  return facts(Object.entries(obj ?? {}).filter(([k]) => !skip.includes(k)).map(([k, v]) => [k, value(k, v)]));
}

/** An event in one line: its kind, then its fields. */
export function eventLine({ height, event: e }, { withBlock = true } = {}) {
  const parts = Object.entries(e).filter(([k]) => k !== 'kind').map(([k, v]) => [' ', h('span', { class: 'note' }, `${k} `), value(k, v)]);
  return h('li', {}, withBlock && height ? [blockLink(height), ' '] : null, h('strong', {}, e.kind), parts);
}

async function explorer(ctx) {
  const { watt, el } = ctx;
  const list = h('div', {});
  fill(el, h('h1', {}, 'Explorer'),
    h('p', {}, 'Search above by block height or hash, transaction hash, account (watt1…), meter or site id (', h('code', {}, 'meter 3'), ', ', h('code', {}, 'site 2'),
      '), a meter\'s or site\'s serial, a feeder (', h('code', {}, 'DEV-1/RIDGE'), ') or a zone.'),
    section('Latest blocks', list));
  async function update() {
    const head = await watt.header('finalized');
    const from = Math.max(1, head.height - 14);
    let blocks;
    try {
      blocks = await watt.call('chain_getBlocks', [from, head.height - from + 1]);
    } catch {
      blocks = [{ header: head, transactions: [] }];
    }
    fill(list, table(['Block', 'Time (UTC)', 'Hash', 'Transactions'], blocks.reverse().map((b) => [
      blockLink(b.header.height), utc(b.header.timestampMs / 1000).replace(' UTC', ''), link(`#/block/${b.header.hash}`, short(b.header.hash)),
      b.transactions.length ? h('span', {}, b.transactions.slice(0, 3).map((t) => [txLink(t.hash), ' ']), b.transactions.length > 3 ? `and ${b.transactions.length - 3} more` : '') : '–',
    ])));
  }
  await update();
  return { update };
}

async function blockPage(ctx) {
  const { watt, el, param } = ctx;
  const at = /^\d+$/.test(param) ? Number(param) : param;
  const b = await watt.call('chain_getBlock', [at]);
  if (!b) return fill(el, h('h1', {}, 'No such block'), h('p', {}, `This node has no block ${param}.`));
  const hd = b.header;
  const [vals, evs] = await Promise.all([
    watt.call('gov_getAuthorities', [Math.max(1, hd.height - 1)]).catch(() => []),
    watt.call('audit_getEvents', [{ fromHeight: hd.height, toHeight: hd.height }, null, 200]),
  ]);
  const proposer = vals.find((v) => v.consensusKey === hd.proposer);
  fill(el, h('h1', {}, `Block ${num(hd.height)}`),
    h('p', {}, hd.height > 1 ? link(`#/block/${hd.height - 1}`, '← previous') : null, ' ', link(`#/block/${hd.height + 1}`, 'next →')),
    section('Header', facts([
      ['Hash', h('span', { class: 'mono', id: 'block-hash' }, hd.hash)], ['Time', utc(hd.timestampMs / 1000)],
      ['Proposer', proposer ? [proposer.name, ' (', accountLink(proposer.operator), ')'] : h('span', { class: 'mono' }, hd.proposer)],
      ['Parent', hd.height > 1 ? link(`#/block/${hd.parentHash}`, hd.parentHash) : 'the genesis'],
      ['State root', h('span', { class: 'mono' }, hd.stateRoot)],
      ['Signed by', b.commit ? `${b.commit.signatures.length} validators (round ${b.commit.round})` : 'not yet certified'],
    ])),
    section(`Transactions (${b.transactions.length})`, b.transactions.length ? table(['#', 'Hash', 'Signer', 'Kind', 'Nonce'],
      b.transactions.slice(0, 500).map((t, i) => [{ n: i }, txLink(t.hash), accountLink(t.tx.unsigned.signer), t.tx.unsigned.body.type, { n: t.tx.unsigned.nonce }])) : h('p', { class: 'empty' }, 'No transactions.')),
    section('Events', evs.events.length ? h('ul', { class: 'plain' }, evs.events.map((e) => eventLine(e, { withBlock: false }))) : h('p', { class: 'empty' }, 'No events.'),
      evs.nextCursor ? note('More events than shown: see audit_getEvents.') : null));
}

async function txPage(ctx) {
  const { watt, el, param: hash } = ctx;
  const found = await watt.call('tx_get', [hash]);
  if (!found) {
    const receipt = await watt.call('tx_getReceipt', [hash]).catch(() => null);
    return fill(el, h('h1', {}, 'Transaction'), h('p', {}, h('span', { class: 'mono', id: 'tx-hash' }, hash)),
      receipt?.status === 'dropped'
        ? h('p', { class: 'error' }, `Dropped at block ${receipt.height}: `, h('span', { class: 'text' }, receipt.reason))
        : h('p', {}, 'This node knows no such transaction: not in a block and not waiting in its mempool.'));
  }
  const { unsigned } = found.tx.tx;
  const receipt = found.status === 'finalized' ? await watt.call('tx_getReceipt', [hash]) : null;
  fill(el, h('h1', {}, `Transaction: ${unsigned.body.type}`),
    section('Transaction', facts([
      ['Hash', h('span', { class: 'mono', id: 'tx-hash' }, found.tx.hash)],
      ['Status', found.status === 'finalized' ? ['finalised in block ', blockLink(found.location.height), `, position ${found.location.index}`] : 'waiting in the mempool'],
      ['Signer', accountLink(unsigned.signer, unsigned.signer)], ['Nonce', num(unsigned.nonce)],
    ])),
    section('What it asks', h('div', { id: 'tx-body' }, fields(unsigned.body))),
    receipt ? section('What it did', receipt.events.length ? h('ul', { class: 'plain' }, receipt.events.map((e) => eventLine({ event: e }, { withBlock: false }))) : h('p', { class: 'empty' }, 'No events.')) : null);
}

async function accountPage(ctx) {
  const { watt, el, param: acct } = ctx;
  async function update() {
    const info = await watt.call('credits_getAccount', [acct]);
    const evs = await events(watt, { account: acct }, { max: 300, span: 500 });
    const recent = evs.slice(-200).reverse();
    // The transactions behind its recent events, newest first.
    const wanted = [];
    for (const e of recent) {
      if (e.txIndex === null || wanted.some((w) => w.height === e.height && w.index === e.txIndex)) continue;
      wanted.push({ height: e.height, index: e.txIndex });
      if (wanted.length >= 20) break;
    }
    const blocks = new Map();
    for (const height of new Set(wanted.map((w) => w.height))) blocks.set(height, await watt.call('chain_getBlock', [height]));
    const txs = wanted.map((w) => ({ ...w, tx: blocks.get(w.height)?.transactions[w.index] })).filter((w) => w.tx);
    const [ms, ss] = await Promise.all([
      allPages((from, n) => watt.call('meters_list', [from, n])), allPages((from, n) => watt.call('sites_list', [from, n]))]);
    const owned = [
      ...ms.filter((m) => m.owner === acct || m.operator === acct).map((m) => h('li', {}, meterLink(m.id, m.serial), m.owner === acct ? ' (owner)' : ' (operator)')),
      ...ss.filter((s) => s.owner === acct).map((s) => h('li', {}, siteLink(s.id, s.serial), ' (owner)')),
    ];
    fill(el, h('h1', {}, 'Account'),
      h('p', {}, h('span', { class: 'mono', id: 'account-address' }, acct)),
      section('Balance', facts([['Credits held', `${energy(info.balance)} (${num(info.balance)} Wh)`], ['Next nonce', num(info.pendingNonce)],
        ['Roles', info.roles.length ? info.roles.join(', ') : 'none']])),
      owned.length ? section('Meters and sites', h('ul', { class: 'plain' }, owned)) : null,
      section('Recent transactions', txs.length ? h('ul', { class: 'plain', id: 'account-txs' }, txs.map((t) => h('li', {}, blockLink(t.height), ' ', t.tx.tx.unsigned.body.type, ' ',
        link(`#/tx/${t.tx.hash}`, t.tx.hash)))) : h('p', { class: 'empty', id: 'account-txs' }, 'None in the recent blocks.')),
      section('Recent events', recent.length ? h('ul', { class: 'plain' }, recent.slice(0, 30).map((e) => eventLine(e))) : h('p', { class: 'empty' }, 'None in the recent blocks.')));
  }
  await update();
  return { update, every: 5000 };
}

/** Finds what a query names and goes to its page. */
async function search(ctx) {
  const { watt, el, param } = ctx;
  const q = (param ?? '').trim();
  fill(el, h('h1', {}, 'Search'), h('p', {}, 'Looking for ', h('span', { class: 'text' }, q), '…'));
  const go = (hash) => ctx.go(hash);
  let m;
  if ((m = /^(?:block\s+)?#?(\d+)$/i.exec(q))) return go(`#/block/${m[1]}`);
  if ((m = /^meter\s+#?(\d+)$/i.exec(q))) return go(`#/meter/${m[1]}`);
  if ((m = /^site\s+#?(\d+)$/i.exec(q))) return go(`#/site/${m[1]}`);
  if (/^watt1[0-9a-z]+$/.test(q)) return go(`#/account/${q}`);
  if (HASH.test(q)) {
    const hash = q.toLowerCase();
    if (await watt.call('tx_get', [hash])) return go(`#/tx/${hash}`);
    if (await watt.call('chain_getBlock', [hash]).catch(() => null)) return go(`#/block/${hash}`);
    if (await watt.call('tx_getReceipt', [hash]).catch(() => null)) return go(`#/tx/${hash}`);
  }
  if (/^[A-Z0-9-]{2,16}\/[A-Z0-9-]+$/i.test(q) && await watt.call('feeders_get', [q.toUpperCase()]).catch(() => null)) return go(`#/feeder/${q.toUpperCase()}`);
  if (/^[A-Z0-9-]{2,16}$/i.test(q) && await watt.call('zones_get', [q.toUpperCase()]).catch(() => null)) return go(`#/zone/${q.toUpperCase()}`);
  const [ms, ss] = await Promise.all([
    allPages((from, n) => watt.call('meters_list', [from, n])), allPages((from, n) => watt.call('sites_list', [from, n]))]);
  const meter = ms.find((x) => x.serial.toLowerCase() === q.toLowerCase());
  if (meter) return go(`#/meter/${meter.id}`);
  const site = ss.find((x) => x.serial.toLowerCase() === q.toLowerCase());
  if (site) return go(`#/site/${site.id}`);
  fill(el, h('h1', {}, 'Nothing found'), h('p', {}, 'Nothing on this chain matches ', h('span', { class: 'text' }, q), '.'),
    note('Try a block height, a 0x hash of a block or transaction, an account (watt1…), "meter 3", "site 2", a serial, a feeder id or a zone.'));
}

export const EXPLORER = {
  explorer: { render: explorer },
  block: { render: blockPage, nav: 'explorer' },
  tx: { render: txPage, nav: 'explorer' },
  account: { render: accountPage, nav: 'explorer' },
  search: { render: search, nav: 'explorer' },
};
