// Charts as inline SVG built from DOM nodes, with the audit report's
// geometry, colours and units (node/src/audit/report/html.rs): a 720 x 220
// plot, a 64-pixel left margin for "1.25 MWh", UTC dates on time axes,
// the exact value of every bar on hover (an SVG <title>).
import { energy, h, utcHour } from './lib.js';

export const COLOURS = { green: '#2e9e44', red: '#d0342c', blue: '#2f6fd0', orange: '#e08a1e', purple: '#7a4fd0', grey: '#999999' };
const W = 720;
const H = 220;
const PAD = 64;
const TOP = 40;
const BOTTOM = H - 40;
const RIGHT = W - 16;

const svg = (tag, attrs, ...children) => h(`svg:${tag}`, attrs, ...children);

/** Tick values from lo to hi: about four round steps. */
function ticks(lo, hi) {
  if (hi <= lo) return [lo];
  const raw = (hi - lo) / 4;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9; v += step) out.push(v);
  return out;
}

/**
 * Bars per column for one or more series side by side (or stacked):
 * `{ title, series: [{ name, colour, points: Map(x → value) }], xs: [x...],
 *    xLabel(x), format(v), stacked }`. `xs` defaults to every x of every
 * series, sorted; for hourly charts x is a unix hour and the label a date.
 */
export function barChart({ title, series, xs, xLabel = utcHour, format = energy, stacked = false, label = title }) {
  xs = xs ?? [...new Set(series.flatMap((s) => [...s.points.keys()]))].sort((a, b) => a - b);
  const total = (x) => series.reduce((t, s) => t + Math.max(0, s.points.get(x) ?? 0), 0);
  const values = stacked ? xs.map(total) : series.flatMap((s) => xs.map((x) => s.points.get(x) ?? 0));
  // A little headroom above the tallest bar, below the legend.
  const max = Math.max(1, ...values) * 1.08;
  const min = Math.min(0, ...values);
  const y = (v) => BOTTOM - ((BOTTOM - TOP) * (v - min)) / (max - min);
  const out = svg('svg', { class: 'chart', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': label },
    svg('rect', { x: 0, y: 0, width: W, height: H, fill: '#ffffff' }),
    svg('text', { x: 8, y: 16, 'font-size': 13, 'font-weight': 'bold' }, title));
  // The legend, after the title.
  let lx = 8;
  for (const s of series) {
    out.append(svg('rect', { x: lx, y: 24, width: 10, height: 10, fill: s.colour }),
      svg('text', { x: lx + 14, y: 33, 'font-size': 11 }, s.name));
    lx += 24 + s.name.length * 6.5;
  }
  for (const t of ticks(min, max)) {
    out.append(svg('line', { x1: PAD, y1: y(t), x2: RIGHT, y2: y(t), stroke: '#eeeeee' }),
      svg('text', { class: 'tick', x: PAD - 4, y: y(t) + 3, 'font-size': 10, 'text-anchor': 'end' }, format(t)));
  }
  out.append(svg('line', { x1: PAD, y1: y(0), x2: RIGHT, y2: y(0), stroke: '#888' }),
    svg('line', { x1: PAD, y1: TOP, x2: PAD, y2: BOTTOM, stroke: '#888' }));
  if (!xs.length) {
    out.append(svg('text', { x: (PAD + RIGHT) / 2, y: (TOP + BOTTOM) / 2, 'font-size': 12, 'text-anchor': 'middle', fill: '#777' }, 'nothing yet'));
    return out;
  }
  const cw = (RIGHT - PAD) / xs.length;
  const groupW = Math.max(1, cw * 0.8);
  const barW = stacked ? groupW : Math.max(1, groupW / series.length);
  xs.forEach((x, i) => {
    let base = 0;
    series.forEach((s, j) => {
      const v = s.points.get(x) ?? 0;
      if (!v) return;
      const x0 = PAD + cw * i + (cw - groupW) / 2 + (stacked ? 0 : j * barW);
      const [from, to] = stacked ? [base, base + v] : [0, v];
      if (stacked) base += v;
      out.append(svg('rect', { x: x0.toFixed(1), y: Math.min(y(from), y(to)).toFixed(1), width: barW.toFixed(1), height: Math.max(0.5, Math.abs(y(to) - y(from))).toFixed(1), fill: s.colour },
        svg('title', {}, `${xLabel(x)}: ${s.name} ${format(v)}`)));
    });
  });
  // About six labels along the axis, first and last included.
  const every = Math.max(1, Math.ceil(xs.length / 6));
  xs.forEach((x, i) => {
    if (i % every && i !== xs.length - 1) return;
    const cx = PAD + cw * (i + 0.5);
    out.append(svg('text', { class: 'tick', x: cx.toFixed(1), y: BOTTOM + 14, 'font-size': 10, 'text-anchor': 'middle' }, xLabel(x).replace(' UTC', '').slice(5)));
  });
  out.append(svg('text', { x: RIGHT, y: H - 6, 'font-size': 10, 'text-anchor': 'end', fill: '#555' }, 'UTC'));
  return out;
}

/** Horizontal bars, one per row: `{ title, rows: [{ label, value, colour }], format }`. */
export function rowChart({ title, rows, format = energy }) {
  const rowH = 22;
  const height = 40 + rows.length * rowH + 10;
  const label = 150;
  const max = Math.max(1, ...rows.map((r) => Number(r.value)));
  const out = svg('svg', { class: 'chart', viewBox: `0 0 ${W} ${height}`, role: 'img', 'aria-label': title },
    svg('rect', { x: 0, y: 0, width: W, height, fill: '#ffffff' }),
    svg('text', { x: 8, y: 16, 'font-size': 13, 'font-weight': 'bold' }, title));
  rows.forEach((r, i) => {
    const y0 = 32 + i * rowH;
    const w = ((RIGHT - 90 - label) * Number(r.value)) / max;
    out.append(svg('text', { x: label - 6, y: y0 + 13, 'font-size': 11, 'text-anchor': 'end' }, r.label),
      svg('rect', { x: label, y: y0 + 2, width: Math.max(0.5, w).toFixed(1), height: rowH - 6, fill: r.colour ?? COLOURS.blue },
        svg('title', {}, `${r.label}: ${format(r.value)}`)),
      svg('text', { x: label + w + 6, y: y0 + 13, 'font-size': 11 }, format(r.value)));
  });
  return out;
}
