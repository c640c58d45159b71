// What every page of the dashboard shares: building the page out of DOM
// nodes (chain text is only ever a text node, never markup), numbers,
// energy and times in words people read, and the plain-language status
// of a site.

/**
 * An element: `h('td', { class: 'n' }, 'text', otherNode)`. Strings and
 * numbers become text nodes; attributes are set one by one with
 * setAttribute (no `on*` handlers and no `style`: the policy forbids
 * them, and `onClick` is given as a function instead).
 */
export function h(tag, attrs = {}, ...children) {
  const el = tag.startsWith('svg:')
    ? document.createElementNS('http://www.w3.org/2000/svg', tag.slice(4))
    : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'onClick') el.addEventListener('click', v);
    else if (k === 'onSubmit') el.addEventListener('submit', v);
    else if (k.startsWith('on') || k === 'style') throw new Error(`attribute ${k} is not allowed`);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replaces an element's content. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** A link inside the dashboard: `link('#/site/2', 'RIDGE-MINE')`. */
export const link = (href, ...text) => h('a', { href }, ...text);

// Links to the objects the chain names.
export const blockLink = (height) => link(`#/block/${height}`, `#${num(height)}`);
export const txLink = (hash, text = short(hash)) => link(`#/tx/${hash}`, text);
export const accountLink = (acct, name) => link(`#/account/${acct}`, name ?? short(acct));
export const meterLink = (id, serial) => link(`#/meter/${id}`, serial ? `${serial} (meter ${id})` : `meter ${id}`);
export const siteLink = (id, serial) => link(`#/site/${id}`, serial ? `${serial} (site ${id})` : `site ${id}`);
export const zoneLink = (zone) => link(`#/zone/${zone}`, zone);
export const feederLink = (id) => link(`#/feeder/${id}`, id);

/** `0x1234…abcd`, `watt1qx…9z`: long ids shortened for tables. */
export function short(s) {
  s = String(s ?? '');
  return s.length > 20 ? `${s.slice(0, 10)}…${s.slice(-6)}` : s;
}

/** 1234567 → "1,234,567". */
export function num(n) {
  return Number(n).toLocaleString('en-US');
}

/** A count with its noun: plural(2, 'block') → "2 blocks". */
export function plural(n, one, many = `${one}s`) {
  return `${num(n)} ${Number(n) === 1 ? one : many}`;
}

/** Energy in Wh (a decimal string or number) with a unit by magnitude,
 *  three significant digits: "950 Wh", "12.5 kWh", "1.25 MWh" (as the
 *  audit report writes it). */
export function energy(wh) {
  const v = Number(wh ?? 0);
  const sign = v < 0 ? '-' : '';
  const a = Math.abs(v);
  if (a < 1000) return `${sign}${Math.round(a)} Wh`;
  const [div, unit] = [[1e12, 'TWh'], [1e9, 'GWh'], [1e6, 'MWh'], [1e3, 'kWh']].find(([d]) => a >= d);
  const x = a / div;
  const digits = x >= 100 ? 0 : x >= 10 ? 1 : 2;
  return `${sign}${Number(x.toFixed(digits))} ${unit}`;
}

/** Power in W: "300 kW". */
export function power(w) {
  return energy(w).replace('Wh', 'W');
}

/** Unix seconds as "2026-01-01 14:05 UTC". */
export function utc(seconds) {
  if (seconds === null || seconds === undefined) return '';
  return `${new Date(Number(seconds) * 1000).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** A unix hour (seconds / 3600) as "2026-01-01 14:00 UTC". */
export const utcHour = (hour) => utc(Number(hour) * 3600);

/** Seconds as "3 h 20 min", "45 s". */
export function duration(s) {
  s = Math.max(0, Math.round(Number(s)));
  if (s < 90) return `${s} s`;
  const m = Math.round(s / 60);
  if (m < 90) return `${m} min`;
  const hrs = Math.floor(m / 60);
  if (hrs < 48) return `${hrs} h ${m % 60} min`;
  return `${Math.floor(hrs / 24)} days ${hrs % 24} h`;
}

/** A table: header labels, then rows of cells (nodes or text); cells
 *  whose value is a number-like quantity are right-aligned with `{n: x}`. */
export function table(headers, rows, attrs = {}) {
  return h('div', { class: 'table-wrap' },
    h('table', attrs,
      h('thead', {}, h('tr', {}, headers.map((x) => h('th', {}, x)))),
      h('tbody', {}, rows.map((r) => (r instanceof Node ? r : h('tr', {}, r.map(cell)))))));
}

export function cell(c) {
  if (c && typeof c === 'object' && !(c instanceof Node) && 'n' in c) return h('td', { class: 'n' }, c.n);
  return h('td', {}, c);
}

/** A labelled figure for the cards at the top of a page. */
export function stat(label, value, attrs = {}) {
  return h('div', { class: 'stat' }, h('div', { class: 'label' }, label), h('div', { class: 'value', ...attrs }, value));
}

/** A definition list of label → value pairs. */
export function facts(pairs) {
  return h('dl', { class: 'facts' }, pairs.filter(Boolean).map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

export const section = (title, ...children) => h('section', {}, h('h2', {}, title), ...children);
export const note = (...text) => h('p', { class: 'note' }, ...text);

/** What a site's `sites_canRun` answer means, in words: its state
 *  (`running`, `limited` or `stopped`) and why. `site` (the `Site`) adds
 *  names and amounts where it is known. */
export function siteStatus(run, site) {
  const name = site?.serial ?? `site ${run.site}`;
  const limitW = Number(run.maxPowerW);
  const state = !run.allowed ? 'stopped' : run.reason === 'curtailed' ? 'limited' : 'running';
  const shortfall = Number(run.shortfall);
  const debt = Number(run.openDebt);
  const until = run.until ? ` until ${utc(run.until)}` : '';
  const words = {
    revoked: 'revoked by the regulator for good',
    suspendedByRegulator: 'suspended by the regulator (or its zone has no policy in force)',
    suspendedAnomaly: 'suspended: its meter reported an overdraw or another anomaly',
    suspendedPermitBreach: 'suspended for breaching its permit',
    suspendedCurtailmentBreach: 'suspended for not keeping to a curtailment order',
    suspendedShortfall: `suspended: ${energy(shortfall)} consumed without renewable credits to cover it`,
    dark: 'its meter has stopped reporting',
    noPermit: 'its zone requires a permit and it has none',
    permitExpired: 'its permit has expired',
    outOfSeason: 'its permit does not cover this month or hour',
    quotaUsed: "this month's permit quota is used up",
    curtailed: `curtailed by the grid operator to ${power(limitW)}${until}`,
    active: `may draw up to ${power(limitW)}${maxDrawNote(site, limitW)}`,
  };
  // `reason` is the most specific (a curtailment breach, where `status`
  // says only "anomaly").
  let reason = words[run.reason] ?? words[run.status] ?? run.reason;
  if (state !== 'stopped' && debt > 0) reason += `; ${energy(debt)} used this hour not yet covered by credits`;
  if (state !== 'stopped' && run.runwaySeconds !== null && run.runwaySeconds !== undefined && Number(run.eligibleBalance) > 0) {
    reason += `; its credits last about ${duration(run.runwaySeconds)} at full draw`;
  }
  return { state, name, reason, sentence: `${name}: ${state}, ${reason}` };
}

function maxDrawNote(site, limitW) {
  const maxDraw = Number(site?.maxDraw ?? 0);
  return maxDraw > limitW ? ` (its permit's limit; its rigs can draw ${power(maxDraw)})` : '';
}

/** A status word as a coloured badge. */
export function badge(state, attrs = {}) {
  return h('span', { class: `badge ${state}`, ...attrs }, state);
}

/** Every page of a paged list (`meters_list`, `sites_list`): calls
 *  `fetchPage(from)` until a page is short, at most `max` items. */
export async function allPages(fetchPage, { pageSize = 1000, max = 5000 } = {}) {
  const out = [];
  for (let from = 1; out.length < max; from += pageSize) {
    const page = await fetchPage(from, pageSize);
    out.push(...page);
    if (page.length < pageSize) break;
  }
  return out;
}

/**
 * The newest events matching a filter, in chain order: `audit_getEvents`
 * over windows of `span` heights walking back from the head, until
 * `max` events, the first block, or `windows` windows (each call does
 * bounded work on the node, and so does this).
 */
export async function events(watt, filter, { max = 5000, span = 1000, windows = 10 } = {}) {
  const head = (await watt.header('finalized')).height;
  let out = [];
  for (let to = head, w = 0; to >= 1 && w < windows && out.length < max; to -= span, w++) {
    const from = Math.max(1, to - span + 1);
    const got = [];
    let cursor = null;
    do {
      const page = await watt.call('audit_getEvents', [{ ...filter, fromHeight: from, toHeight: to }, cursor, 1000]);
      got.push(...page.events);
      cursor = page.nextCursor;
    } while (cursor && got.length < max);
    out = got.concat(out);
  }
  return out.slice(-max);
}

/** An error as a paragraph the page shows. */
export function errorBox(e) {
  return h('p', { class: 'error' }, `The node answered with an error: ${e?.message ?? e}`);
}
