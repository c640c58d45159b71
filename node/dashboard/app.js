// The dashboard's shell: the route in the address's #fragment picks a
// page; one WebSocket to the node pushes finalised heads and grid alerts,
// and each push refreshes the page on screen (at most once a second,
// whatever the block rate). Nothing polls on a timer: a viewer costs the
// node what the chain's own pace costs.
import { WattClient } from '@watt/client';
import { errorBox, fill, h, num } from './lib.js';
import { PAGES } from './pages.js';
import { EXPLORER } from './explorer.js';

const watt = new WattClient(location.origin, { timeoutMs: 20000 });
const pages = { ...PAGES, ...EXPLORER };
const main = document.getElementById('page');
const live = { head: null, connected: false, listeners: new Set() };
let current = null;

/** The page and its parameters for a #fragment: `#/feeder/DEV-1/RIDGE`. */
function route(hash) {
  const path = hash.replace(/^#\/?/, '');
  const [first, ...rest] = path.split('/');
  const param = rest.length ? decodeURIComponent(rest.join('/')) : null;
  const name = first === '' ? 'overview' : first;
  if (!pages[name]) return { name: 'notfound', param: path };
  return { name, param };
}

async function show() {
  const { name, param } = route(location.hash);
  current?.handle?.dispose?.();
  const holder = h('div', {});
  main.replaceChildren(holder);
  document.body.dataset.page = name;
  document.body.dataset.loaded = '0';
  for (const a of document.querySelectorAll('nav a')) {
    a.classList.toggle('current', a.dataset.nav === (pages[name]?.nav ?? name));
  }
  const me = { name, handle: null, holder, updated: Date.now() };
  current = me;
  const ctx = { watt, live, param, el: holder, go: (hash) => location.replace(hash) };
  try {
    const page = name === 'notfound' ? notFound : pages[name].render;
    me.handle = (await page(ctx)) ?? null;
  } catch (e) {
    if (current === me) fill(holder, h('h1', {}, 'Could not show this page'), errorBox(e));
  }
  if (current === me) {
    document.title = `${holder.querySelector('h1')?.textContent ?? 'Watt'} · Watt dashboard`;
    document.body.dataset.loaded = '1';
  }
}

function notFound(ctx) {
  fill(ctx.el, h('h1', {}, 'No such page'), h('p', {}, 'Nothing is shown at ', h('code', {}, `#/${ctx.param}`), '. ', h('a', { href: '#/' }, 'Back to the overview'), '.'));
}

// Page refreshes, driven by pushes: one at a time, at most one a second.
let busy = false;
let again = false;
let last = 0;
async function refresh() {
  if (busy) {
    again = true;
    return;
  }
  busy = true;
  try {
    do {
      again = false;
      const wait = last + 1000 - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      last = Date.now();
      const me = current;
      // Pages that read much (hourly charts from events) ask for less.
      const due = !me?.handle?.every || Date.now() - (me.updated ?? 0) >= me.handle.every;
      if (me?.handle?.update && due && document.body.dataset.loaded === '1') {
        me.updated = Date.now();
        try {
          await me.handle.update(live.head);
        } catch (e) {
          if (current === me) me.holder.prepend(errorBox(e));
        }
      }
    } while (again);
  } finally {
    busy = false;
  }
}

function setConnected(up) {
  live.connected = up;
  const el = document.getElementById('connection');
  el.textContent = up ? 'live' : 'reconnecting';
  el.className = up ? 'up' : 'down';
}

function onHead(header) {
  live.head = header;
  document.getElementById('head-height').textContent = num(header.height);
  for (const fn of live.listeners) fn(header);
  refresh();
}

/** Follows finalised heads and grid alerts over the node's WebSocket;
 *  reconnects with a growing pause (up to 30 s) if it drops. */
async function follow() {
  let pause = 1000;
  for (;;) {
    try {
      const heads = await watt.subscribeFinalizedHeads();
      const alerts = await watt.subscribe('grid_subscribeAlerts');
      alerts.on(() => refresh());
      setConnected(true);
      pause = 1000;
      onHead(await watt.header('finalized'));
      for (;;) {
        const n = await heads.next();
        if (n.done) break;
        onHead(n.value);
      }
    } catch {
      // The node went away or restarted: try again below.
    }
    setConnected(false);
    await watt.close().catch(() => {});
    await new Promise((r) => setTimeout(r, pause));
    pause = Math.min(pause * 2, 30000);
  }
}

document.getElementById('search-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const q = document.getElementById('search').value.trim();
  if (q) location.hash = `#/search/${encodeURIComponent(q)}`;
});
window.addEventListener('hashchange', show);
watt.call('chain_getGenesis').then((g) => {
  const name = g?.genesis?.chainName;
  if (name) document.getElementById('chain-name').textContent = name;
}).catch(() => {});
show();
follow();
