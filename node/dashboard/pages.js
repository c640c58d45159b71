// The dashboard's pages about the grid and its ledger: the overview,
// zones, feeders, sites and meters. Each page renders into `ctx.el` and
// may return `update(head)`, called after finalised blocks (at most once
// a second), and `dispose()`, called when the viewer leaves.
import { barChart, COLOURS, rowChart } from './charts.js';
import {
  accountLink, allPages, badge, blockLink, duration, energy, events, facts, feederLink, fill, h, meterLink, note, num,
  plural, power, section, short, siteLink, siteStatus, stat, table, utc, utcHour, zoneLink,
} from './lib.js';

const SOURCES = { solar: 'Solar', wind: 'Wind', hydro: 'Hydro', geothermal: 'Geothermal', biomass: 'Biomass', otherRenewable: 'Other renewable' };
const SOURCE_COLOURS = { solar: COLOURS.orange, wind: COLOURS.blue, hydro: '#1a9cb0', geothermal: COLOURS.red, biomass: COLOURS.green, otherRenewable: COLOURS.purple };
const WINDOWS = {
  hour: 'the same UTC hour',
  day: 'the same UTC day',
  month: 'the same UTC month',
  year: 'the same UTC year',
};
/** How far back the hourly charts look, in blocks. */
const RECENT_BLOCKS = 10000;

const sites = (watt) => allPages((from, n) => watt.call('sites_list', [from, n]));
const meters = (watt) => allPages((from, n) => watt.call('meters_list', [from, n]));
const feeders = (watt) => watt.call('feeders_list', []);

/** A site's status with its words, for a table row or a page. */
async function statusOf(watt, site) {
  const run = await watt.call('sites_canRun', [site.id]);
  return { run, ...siteStatus(run, site) };
}

/** An open unexplained-load alert in words. */
function alertSentence(a) {
  const through = a.throughHour === a.fromHour ? `${utcHour(a.fromHour)}` : `${utcHour(a.fromHour)} to ${utcHour(Number(a.throughHour) + 1)}`;
  return `${a.feeder}: ${energy(a.unexplained)} of unexplained load over ${plural(a.hours, 'hour')} (${through}): power drawn on this feeder that no registered meter accounts for. It stays open until a regulator clears it.`;
}

// ---------------------------------------------------------------- overview

async function overview(ctx) {
  const { watt, el } = ctx;
  const blocks = new Map();
  let validators = [];
  const ids = {
    finalized: h('span', { id: 'finalized-height' }, '…'),
    best: h('span', { id: 'best-height' }, '…'),
    lag: h('span', { id: 'finality-lag' }, '…'),
    blockTime: h('span', { id: 'block-time' }, '…'),
    tps: h('span', { id: 'tx-rate' }, '…'),
    peers: h('span', { id: 'peers' }, '…'),
  };
  const now = h('div', {});
  const recent = h('div', {});
  const vals = h('div', {});
  const clock = h('p', { class: 'note' });
  fill(el,
    h('h1', {}, 'Overview'),
    clock,
    h('div', { class: 'stats' },
      stat('Finalised block', ids.finalized), stat('Best block', ids.best), stat('Since last finalised', ids.lag),
      stat('Block time', ids.blockTime), stat('Transactions / s', ids.tps), stat('Peers', ids.peers)),
    section('Right now', now),
    section('Validators', vals),
    section('Latest blocks', recent));

  async function loadBlocks(head) {
    const to = Number(head);
    const from = Math.max(1, to - 29, blocks.size ? Math.max(...blocks.keys()) + 1 : 1);
    if (from > to) return;
    let got;
    try {
      got = await watt.call('chain_getBlocks', [from, to - from + 1]);
    } catch {
      // Full blocks can exceed the response limit: headers alone then.
      got = [];
      for (let x = Math.max(from, to - 9); x <= to; x++) got.push({ header: await watt.call('chain_getHeader', [x]), transactions: null });
    }
    for (const b of got) blocks.set(b.header.height, { header: b.header, txs: b.transactions?.length ?? null });
    for (const k of [...blocks.keys()]) if (k <= to - 30) blocks.delete(k);
  }

  // Never backwards: a read may answer after a newer push.
  const showHeight = (height) => {
    if (!(Number(ids.finalized.textContent) >= height)) ids.finalized.textContent = String(height);
  };
  async function update() {
    const [health, head] = await Promise.all([watt.call('system_health'), watt.header('finalized')]);
    showHeight(head.height);
    ids.best.textContent = num(health.bestHeight);
    ids.lag.textContent = duration(health.finalityLagSeconds);
    ids.peers.textContent = num(health.peers);
    await loadBlocks(head.height);
    // A dev chain run with --speed keeps a clock of its own.
    const ahead = head.timestampMs / 1000 - Date.now() / 1000;
    clock.textContent = Math.abs(ahead) > 3600
      ? `This chain's clock is ${duration(Math.abs(ahead))} ${ahead > 0 ? 'ahead of' : 'behind'} real time (a dev chain run faster with --speed): block times and rates are in chain time.`
      : '';
    const list = [...blocks.values()].sort((a, b) => b.header.height - a.header.height);
    if (list.length > 1) {
      const span = (list[0].header.timestampMs - list[list.length - 1].header.timestampMs) / 1000;
      const txs = list.slice(0, -1).reduce((t, b) => t + (b.txs ?? 0), 0);
      ids.blockTime.textContent = `${(span / (list.length - 1)).toFixed(2)} s`;
      ids.tps.textContent = span > 0 ? (txs / span).toFixed(1) : '0';
    }
    const names = new Map(validators.map((v) => [v.consensusKey, v.name]));
    const proposed = new Map();
    for (const b of list) proposed.set(b.header.proposer, (proposed.get(b.header.proposer) ?? 0) + 1);
    fill(vals, table(['Name', 'Operator', 'Consensus key', `Proposed (last ${list.length} blocks)`],
      validators.map((v) => [v.name, accountLink(v.operator), h('span', { class: 'mono' }, short(v.consensusKey)), { n: num(proposed.get(v.consensusKey) ?? 0) }])));
    fill(recent, table(['Block', 'Time', 'Proposer', 'Transactions'],
      list.slice(0, 12).map((b) => [blockLink(b.header.height), utc(b.header.timestampMs / 1000).replace(' UTC', ''), names.get(b.header.proposer) ?? short(b.header.proposer), { n: b.txs ?? '?' }])));
    // What people want to know first: which sites run, which may not, and
    // whether any feeder carries power no meter explains.
    const [all, alerts, supply] = await Promise.all([sites(watt), watt.call('grid_getAlerts', []), watt.call('credits_getSupply', [])]);
    const statuses = await Promise.all(all.slice(0, 50).map((s) => statusOf(watt, s)));
    fill(now,
      h('ul', { class: 'plain', id: 'now' },
        statuses.map((s) => h('li', { class: `sentence ${s.state}` }, badge(s.state), ' ', siteLink(s.run.site, s.name), `: ${s.reason}.`)),
        alerts.map((a) => h('li', { class: 'alert-line' }, badge('alert'), ' ', feederLink(a.feeder), ` ${alertSentence(a).slice(a.feeder.length + 1)}`)),
        supply.zones.map((z) => h('li', {}, zoneLink(z.zone), `: ${energy(z.minted)} of renewable generation credited so far, ${energy(z.burned)} burned by mining sites, ${energy(z.held)} held.`))),
      alerts.length ? null : note('No feeder has unexplained load.'));
  }
  validators = await watt.call('gov_getAuthorities', ['finalized']);
  await update();
  // The height follows every pushed head at once; the rest (a read per
  // site) at most every 3 s.
  const onHead = (head) => showHeight(head.height);
  ctx.live.listeners.add(onHead);
  return { update: () => update(), every: 3000, dispose: () => ctx.live.listeners.delete(onHead) };
}

// ------------------------------------------------------------------ zones

async function zonesPage(ctx) {
  const { watt, el } = ctx;
  async function update() {
    const [zones, ms] = await Promise.all([watt.call('zones_list', []), meters(watt)]);
    fill(el, h('h1', {}, 'Zones'),
      note('A zone is a grid area with its own rules: which hours count as matching, how much mining it allows, how long credits live.'),
      section('Supply per zone', table(['Zone', 'Credits must match', 'Minted', 'Held', 'Burned', 'Retired', 'Expired', 'Withdrawn', 'Mining live / cap'],
        zones.map((z) => [zoneLink(z.id), z.policy ? WINDOWS[z.policy.matchingWindow] ?? z.policy.matchingWindow : 'no policy yet',
          { n: energy(z.supply.minted) }, { n: energy(z.supply.held) }, { n: energy(z.supply.burned) }, { n: energy(z.supply.retired) },
          { n: energy(z.supply.expired) }, { n: energy(z.supply.withdrawn) }, { n: `${power(z.liveMaxDraw)} / ${z.policy ? power(z.policy.miningCapW) : '–'}` }]))),
      zones.map((z) => section(`${z.id}: supply by source`, bySource(ms.filter((m) => m.zone === z.id)))));
  }
  await update();
  return { update };
}

function bySource(ms) {
  const totals = new Map();
  for (const m of ms) totals.set(m.source, (totals.get(m.source) ?? 0) + Number(m.minted));
  if (!totals.size) return h('p', { class: 'empty' }, 'No meters in this zone.');
  return rowChart({
    title: 'credits minted by source',
    rows: [...totals].sort((a, b) => b[1] - a[1]).map(([s, v]) => ({ label: SOURCES[s] ?? s, value: v, colour: SOURCE_COLOURS[s] })),
  });
}

/** Minted and burned credits of a zone per vintage hour, from the chain's
 *  events of the last RECENT_BLOCKS blocks (at most 20,000 events). */
async function hourlyMintBurn(watt, zone) {
  const evs = await events(watt, { kinds: ['minted', 'burned'] }, { max: 20000 });
  const minted = new Map();
  const burned = new Map();
  const add = (m, hour, v) => m.set(hour, (m.get(hour) ?? 0) + Number(v));
  for (const { event: e } of evs) {
    if (e.kind === 'minted' && e.vintage.zone === zone) add(minted, e.vintage.hour, e.amount);
    if (e.kind === 'burned') for (const [v, amount] of e.parts) if (v.zone === zone) add(burned, v.hour, amount);
  }
  return { minted, burned };
}

/** The first hour of a matching bucket (`{window, index}`). */
function bucketHour(b) {
  if (b.window === 'hour') return Number(b.index);
  if (b.window === 'day') return Number(b.index) * 24;
  return null;
}

async function zonePage(ctx) {
  const { watt, el, param: id } = ctx;
  async function update() {
    const [z, sandbox, ms, ss] = await Promise.all([watt.call('zones_get', [id]), watt.call('zones_getSandbox', [id]), meters(watt), sites(watt)]);
    if (!z) return fill(el, h('h1', {}, `No zone ${id}`), h('p', {}, 'This node knows no such zone.'));
    const zm = ms.filter((m) => m.zone === id);
    const zs = ss.filter((s) => s.zone === id);
    const { minted, burned } = await hourlyMintBurn(watt, id);
    const p = z.policy;
    fill(el, h('h1', {}, `Zone ${id}`),
      h('div', { class: 'stats' }, stat('Minted', energy(z.supply.minted)), stat('Held', energy(z.supply.held)), stat('Burned', energy(z.supply.burned)),
        stat('Retired', energy(z.supply.retired)), stat('Expired', energy(z.supply.expired))),
      section('Minted and burned per hour', barChart({
        title: 'credits per vintage hour',
        series: [{ name: 'minted (generation)', colour: COLOURS.green, points: minted }, { name: 'burned by mining', colour: COLOURS.red, points: burned }],
      }), note(`Each bar is the credits of one hour of generation (its vintage): how much was minted, and how much of it mining sites have burned. From the last ${num(RECENT_BLOCKS)} blocks' events.`)),
      section('Supply by source', bySource(zm)),
      section('Rules', p ? facts([
        ['Matching window', `a site's consumption must be covered by credits from ${WINDOWS[p.matchingWindow] ?? p.matchingWindow}`],
        ['Mining cap', `${power(p.miningCapW)} (sites registered: ${power(z.liveMaxDraw)})`],
        ['Credit lifetime', `${num(p.creditLifetimeHours)} hours`],
        ['Shortfall penalty', `${p.shortfallPenaltyPermille / 10} % of the shortfall`],
        ['Dark after', `${duration(p.darkAfterS)} without a reading`],
        ['Permits', sandbox?.permitsRequired ? `required from ${utcHour(sandbox.permitsFrom)}` : 'not required'],
        ['Grid operators', sandbox?.gridOperators?.length ? sandbox.gridOperators.map((a) => [accountLink(a), ' ']) : 'none'],
        z.pending ? ['Pending policy', `takes effect ${utcHour(z.pending[0])}`] : null,
      ]) : h('p', {}, 'No policy in force yet: sites here may not run.')),
      section('Meters', table(['Meter', 'Source', 'Status', 'Minted'], zm.map((m) => [meterLink(m.id, m.serial), SOURCES[m.source] ?? m.source, badge(m.status), { n: energy(m.minted) }]))),
      section('Sites', table(['Site', 'Max draw', 'Consumed', 'Burned', 'Shortfall'], zs.map((s) => [siteLink(s.id, s.serial), { n: power(s.maxDraw) }, { n: energy(s.consumed) }, { n: energy(s.burned) }, { n: energy(s.shortfall) }]))));
  }
  await update();
  return { update, every: 10000 };
}

// ---------------------------------------------------------------- feeders

async function feedersPage(ctx) {
  const { watt, el } = ctx;
  async function update() {
    const fs = await feeders(watt);
    fill(el, h('h1', {}, 'Feeders'),
      note('A feeder is a line of the distribution grid. Every hour its head meter\'s import is compared with what the registered meters on it generated and consumed; energy left over beyond losses is unexplained: a tapped line or an unregistered load.'),
      section('Every feeder', fs.length ? table(['Feeder', 'Zone', 'Status', 'Rated', 'Now'],
        fs.map((f) => h('tr', { 'data-feeder': f.id }, h('td', {}, feederLink(f.id)), h('td', {}, zoneLink(f.zone)), h('td', {}, badge(f.status)),
          h('td', { class: 'n' }, power(f.ratedCapacity)), h('td', {}, f.alert ? alertSentence(f.alert) : `balanced through ${utcHour(f.openFrom)}`)))) : h('p', { class: 'empty' }, 'No feeders on this chain.')));
  }
  await update();
  return { update };
}

async function feederPage(ctx) {
  const { watt, el, param: id } = ctx;
  async function update() {
    const f = await watt.call('feeders_get', [id]);
    if (!f) return fill(el, h('h1', {}, `No feeder ${id}`), h('p', {}, 'This node knows no such feeder.'));
    const to = Number(f.openFrom) - 1;
    const hours = to >= 0 ? await watt.call('feeders_balance', [id, Math.max(0, to - 23), to]) : [];
    const series = (key) => new Map(hours.map((x) => [x.hour, Number(x[key])]));
    const metered = new Map(hours.map((x) => [x.hour, Number(x.consumption) - Number(x.generation) + Number(x.export)]));
    fill(el, h('h1', {}, `Feeder ${id}`),
      h('p', { class: `sentence ${f.alert ? 'stopped' : ''}`, id: 'feeder-status' }, badge(f.status), ' ',
        f.alert ? `${id} has an open unexplained-load alert.` : `${id}: every closed hour so far is explained by its meters.`),
      section('Alerts', h('div', { id: 'alerts' }, f.alert
        ? h('p', { class: 'alert-line' }, alertSentence(f.alert))
        : h('p', { class: 'empty' }, 'No open alert: no load beyond losses that the meters do not explain.'))),
      section('Hourly balance', barChart({
        title: 'energy per hour on this feeder',
        series: [
          { name: 'import at the head', colour: COLOURS.blue, points: series('import') },
          { name: 'explained by meters', colour: COLOURS.green, points: metered },
          { name: 'unexplained', colour: COLOURS.red, points: series('unexplained') },
        ],
      }), note('Import: what the feeder took from the grid at its head meter. Explained: registered consumption minus registered generation plus export. Unexplained: import beyond that and the loss allowance.'),
      table(['Hour (UTC)', 'Import', 'Generation', 'Consumption', 'Allowance', 'Unexplained', 'Verdict'],
        hours.slice().reverse().map((x) => [utcHour(x.hour), { n: energy(x.import) }, { n: energy(x.generation) }, { n: energy(x.consumption) },
          { n: energy(x.allowance) }, { n: energy(x.unexplained) }, badge(x.status)]))),
      section('Feeder', facts([
        ['Zone', zoneLink(f.zone)], ['Rated capacity', power(f.ratedCapacity)], ['Losses allowed', `${f.lossPermille / 10} %`],
        ['Alert after', `${plural(f.alertHours, 'hour')} above ${energy(f.alertFloor)} unexplained`],
        ['Mining share', `${f.miningSharePermille / 10} % of its capacity`], ['Next hour to close', utcHour(f.openFrom)],
      ])));
  }
  await update();
  return { update };
}

// ------------------------------------------------------------------ sites

async function sitesPage(ctx) {
  const { watt, el } = ctx;
  const rows = new Map();
  const last = new Map();
  const subs = [];
  const all = await sites(watt);
  const render = (site, s) => {
    last.set(site.id, s);
    const tr = rows.get(site.id);
    fill(tr, h('td', {}, siteLink(site.id, site.serial)), h('td', {}, zoneLink(site.zone)),
      h('td', {}, h('span', { class: `status badge ${s.state}` }, s.state)), h('td', { class: 'reason' }, s.reason),
      h('td', { class: 'n' }, energy(s.run.shortfall)), h('td', { class: 'n' }, `${energy(site.burned)} of ${energy(site.consumed)}`));
  };
  fill(el, h('h1', {}, 'Sites'),
    note('Mining sites must burn a renewable credit for every Wh they draw. A site short of credits is stopped until it settles.'),
    section('Every site', table(['Site', 'Zone', 'Status', 'Why', 'Shortfall', 'Burned of consumed'],
      all.map((s) => {
        const tr = h('tr', { 'data-site': s.id });
        rows.set(s.id, tr);
        return tr;
      }))));
  await Promise.all(all.map(async (s) => render(s, await statusOf(watt, s))));
  // Each site's status is pushed as it changes (sites_subscribeStatus).
  for (const s of all.slice(0, 40)) {
    const sub = await watt.subscribe('sites_subscribeStatus', [s.id]).catch(() => null);
    if (!sub) continue;
    subs.push(sub);
    sub.on((run) => render(s, { run, ...siteStatus(run, s) }));
  }
  return {
    async update() {
      for (const s of await sites(watt)) {
        const old = all.find((x) => x.id === s.id);
        if (!old) continue;
        Object.assign(old, s);
        if (last.has(s.id)) render(old, last.get(s.id));
      }
    },
    dispose() {
      for (const s of subs) s.unsubscribe().catch(() => {});
    },
  };
}

async function sitePage(ctx) {
  const { watt, el, param } = ctx;
  const id = Number(param);
  let site = await watt.call('sites_get', [id]);
  if (!site) return fill(el, h('h1', {}, `No site ${param}`), h('p', {}, 'This node knows no such site.'));
  const statusEl = h('span', { id: 'site-status' }, '…');
  const reasonEl = h('span', { id: 'site-reason' }, '');
  const head = h('p', { class: 'sentence' }, statusEl, ' ', reasonEl);
  const figures = h('div', { class: 'stats' });
  const body = h('div', {});
  fill(el, h('h1', {}, `${site.serial} (site ${id})`), head, figures, body);
  let run = null;
  const showStatus = () => {
    const s = siteStatus(run, site);
    statusEl.replaceChildren(badge(s.state));
    statusEl.dataset.state = s.state;
    reasonEl.textContent = `${s.name} is ${s.state}: ${s.reason}.`;
    head.className = `sentence ${s.state}`;
    fill(figures, stat('Runway at full draw', s.state === 'stopped' ? 'stopped' : run.runwaySeconds ? duration(run.runwaySeconds) : 'none'),
      stat('Credits it can burn', energy(run.eligibleBalance)), stat('Open debt', energy(run.openDebt)),
      stat('Shortfall', energy(run.shortfall)), stat('May draw now', power(run.maxPowerW)));
  };
  async function update() {
    const [s, permit, curtailments, evs] = await Promise.all([
      watt.call('sites_get', [id]), watt.call('permits_get', [id]), watt.call('grid_getCurtailments', [{ site: id }, 20]),
      events(watt, { site: id, kinds: ['consumed', 'shortfallRecorded', 'violation', 'siteSuspended', 'siteReinstated'] }, { max: 5000 })]);
    site = s;
    const consumed = new Map();
    const short = new Map();
    for (const { event: e } of evs) {
      if (e.kind === 'consumed') consumed.set(e.hour, (consumed.get(e.hour) ?? 0) + Number(e.amount));
      const hour = e.kind === 'shortfallRecorded' ? bucketHour(e.bucket) : null;
      if (hour !== null) short.set(hour, (short.get(hour) ?? 0) + Number(e.amount));
    }
    const incidents = evs.filter(({ event: e }) => e.kind !== 'consumed' && !(e.kind === 'shortfallRecorded' && Number(e.amount) === 0))
      .slice(-20).reverse();
    fill(body,
      section('Consumption and credits', barChart({
        title: 'energy per hour',
        series: [{ name: 'consumed', colour: COLOURS.blue, points: consumed }, { name: 'not covered by credits (shortfall)', colour: COLOURS.red, points: short }],
      }), h('p', {}, `Since it registered it consumed ${energy(s.consumed)} and burned ${energy(s.burned)} of renewable credits for it; ${energy(s.shortfall)} is recorded as shortfall and ${energy(s.openDebt)} is still open this hour.`)),
      section('Permit', permitView(permit)),
      section('Curtailment orders', curtailments.length ? table(['Order', 'Window (UTC)', 'Its share', 'Used', 'State', 'Verdict'],
        curtailments.map((c) => {
          const mine = c.sites.find((x) => x.site === id) ?? {};
          const v = mine.verdict;
          return [`#${c.order}`, `${utc(c.start)} to ${utc(c.end)}`, { n: power(mine.shareW ?? 0) }, { n: energy(mine.used ?? 0) }, badge(c.state),
            v ? `${v.honoured ? 'honoured' : 'breached'}: used ${energy(v.used)} of ${energy(v.allowed)} allowed${v.reported ? '' : ', readings missing'}` : 'not judged yet'];
        })) : h('p', { class: 'empty' }, 'No curtailment order has named this site.')),
      section('Incidents', incidents.length ? h('ul', { class: 'plain' }, incidents.map(({ height, event: e }) => h('li', {}, blockLink(height), ' ', incident(e)))) : h('p', { class: 'empty' }, 'No shortfall, violation or suspension in the recent record.')),
      section('Site', facts([
        ['Zone', zoneLink(s.zone)], ['Owner', accountLink(s.owner)], ['Max draw', power(s.maxDraw)],
        ['Last reading', s.lastEnd ? `up to ${utc(s.lastEnd)} (reading ${num(s.lastSequence)})` : 'none yet'],
        s.revoked ? ['Revoked', h('span', { class: 'text' }, s.revoked)] : null,
        s.regulatorSuspension ? ['Suspended by the regulator', h('span', { class: 'text' }, s.regulatorSuspension)] : null,
        s.anomaly ? ['Anomaly', s.anomaly] : null,
      ])));
    showStatus();
  }
  run = await watt.call('sites_canRun', [id]);
  await update();
  const sub = await watt.subscribe('sites_subscribeStatus', [id]).catch(() => null);
  sub?.on((r) => {
    run = r;
    showStatus();
  });
  return { update, every: 5000, dispose: () => sub?.unsubscribe().catch(() => {}) };
}

function incident(e) {
  switch (e.kind) {
    case 'shortfallRecorded': return `${energy(e.amount)} consumed without credits in its matching window: recorded as shortfall.`;
    case 'siteSuspended': return h('span', {}, 'Suspended: ', h('span', { class: 'text' }, e.reason));
    case 'siteReinstated': return h('span', {}, 'Reinstated: ', h('span', { class: 'text' }, e.reason));
    case 'violation': return h('span', {}, `Violation (${e.violation}): `, h('span', { class: 'text' }, e.detail ?? ''));
    default: return e.kind;
  }
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
function permitView(p) {
  if (!p) return h('p', { class: 'empty' }, 'No permit.');
  const t = p.terms;
  const months = MONTHS.filter((_, i) => t.months & (1 << i));
  const hours = [...Array(24).keys()].filter((i) => t.hours & (1 << i));
  return [facts([
    ['State', p.revoked ? h('span', {}, 'revoked: ', h('span', { class: 'text' }, p.revoked)) : p.live ? 'in force' : 'expired'],
    ['Feeder', feederLink(p.feeder)], ['Max power', power(t.maxPower)],
    ['Months', months.length === 12 ? 'all year' : months.join(', ')],
    ['Hours (UTC)', hours.length === 24 ? 'all day' : hours.map((x) => `${String(x).padStart(2, '0')}:00`).join(', ')],
    ['Monthly quota', energy(t.monthlyQuota)], ['Expires', utc(t.expires)],
  ]), p.usage.length ? table(['Month', 'Used', 'Quota'], p.usage.map((u) => [u.month, { n: energy(u.used) }, { n: energy(u.quota) }])) : null];
}

// ----------------------------------------------------------------- meters

async function metersPage(ctx) {
  const { watt, el } = ctx;
  async function update() {
    const ms = await meters(watt);
    fill(el, h('h1', {}, 'Meters'),
      note('Generation meters sign their readings; their operators submit them, and each Wh generated is minted as one credit.'),
      section('Every meter', table(['Meter', 'Source', 'Zone', 'Status', 'Minted', 'Last reading up to'],
        ms.map((m) => [meterLink(m.id, m.serial), SOURCES[m.source] ?? m.source, zoneLink(m.zone), badge(m.status), { n: energy(m.minted) }, m.lastEnd ? utc(m.lastEnd) : 'none']))));
  }
  await update();
  return { update };
}

async function meterPage(ctx) {
  const { watt, el, param } = ctx;
  const id = Number(param);
  async function update() {
    const m = await watt.call('meters_get', [id]);
    if (!m) return fill(el, h('h1', {}, `No meter ${param}`), h('p', {}, 'This node knows no such meter.'));
    const evs = await events(watt, { meter: id, kinds: ['minted'] }, { max: 5000 });
    const perHour = new Map();
    for (const { event: e } of evs) perHour.set(e.vintage.hour, (perHour.get(e.vintage.hour) ?? 0) + Number(e.amount));
    fill(el, h('h1', {}, `${m.serial} (meter ${id})`),
      h('p', { class: 'sentence' }, badge(m.status), ` ${SOURCES[m.source] ?? m.source} in ${m.zone}, ${energy(m.minted)} minted since it was registered.`),
      section('Generation', barChart({ title: 'credits minted per hour', series: [{ name: 'minted', colour: SOURCE_COLOURS[m.source] ?? COLOURS.green, points: perHour }] })),
      section('Latest readings', table(['Block', 'Reading', 'Hour (UTC)', 'Minted'],
        evs.slice(-15).reverse().map(({ height, event: e }) => [blockLink(height), { n: num(e.sequence) }, utcHour(e.vintage.hour), { n: energy(e.amount) }]))),
      section('Meter', facts([
        ['Owner (receives the credits)', accountLink(m.owner)], ['Operator (submits readings)', accountLink(m.operator)],
        ['Capacity', power(m.capacity)], ['Zone', zoneLink(m.zone)], ['Device key', h('span', { class: 'mono' }, m.deviceKey)],
        ['Last reading', m.lastEnd ? `up to ${utc(m.lastEnd)} (reading ${num(m.lastSequence)}, counter ${energy(m.lastCounter)})` : 'none yet'],
        m.pendingKey ? ['Key replacement pending', h('span', { class: 'mono' }, m.pendingKey.deviceKey)] : null,
      ])));
  }
  await update();
  return { update, every: 10000 };
}

export const PAGES = {
  overview: { render: overview },
  zones: { render: zonesPage },
  zone: { render: zonePage, nav: 'zones' },
  feeders: { render: feedersPage },
  feeder: { render: feederPage, nav: 'feeders' },
  sites: { render: sitesPage },
  site: { render: sitePage, nav: 'sites' },
  meters: { render: metersPage },
  meter: { render: meterPage, nav: 'meters' },
};
