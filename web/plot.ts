/**
 * The sweep's plot: measured speedup over dense against density, log-log, one line of marks per
 * (layer, format), with the ideal 1/density line (speedup = FLOP speedup). Redrawn as points
 * arrive. Marks are `circle.mark` (one per measured point, `data-series` naming its line), the
 * ideal is `path.ideal`, the break-even level (speedup 1) `line.even`.
 */
export interface PlotPoint {
  series: string;
  density: number;
  speedup: number;
}

const NS = 'http://www.w3.org/2000/svg';
const W = 640, H = 380, M = { l: 56, r: 190, t: 16, b: 44 };
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#17becf', '#e377c2'];

function node<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>, text?: string): SVGElementTagNameMap[K] {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

/** Powers of ten (and 2, 5 between them) covering [lo, hi]. */
function ticks(lo: number, hi: number): number[] {
  const out: number[] = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** e;
      if (v >= lo * 0.999 && v <= hi * 1.001) out.push(v);
    }
  }
  return out;
}

const label = (v: number) => (v >= 1 ? String(Number(v.toPrecision(3))) : String(Number(v.toPrecision(2))));

/** Draws `points` into `svg` (cleared first); `title` above the legend. */
export function drawSpeedupPlot(svg: SVGSVGElement, points: readonly PlotPoint[], title: string): void {
  svg.replaceChildren();
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', title);
  const ds = points.map((p) => p.density).filter((d) => d > 0);
  const ss = points.map((p) => p.speedup).filter((s) => s > 0 && Number.isFinite(s));
  const dLo = Math.min(0.01, ...ds), dHi = 1;
  const sLo = Math.min(0.1, ...ss, 1 / dHi), sHi = Math.max(2, ...ss, 1 / dLo);
  // Density decreases to the right (more pruning), as pruning papers draw it.
  const x = (d: number) => M.l + ((Math.log(dHi) - Math.log(d)) / (Math.log(dHi) - Math.log(dLo))) * (W - M.l - M.r);
  const y = (s: number) => H - M.b - ((Math.log(s) - Math.log(sLo)) / (Math.log(sHi) - Math.log(sLo))) * (H - M.t - M.b);
  const axes = node('g', { class: 'axes', 'font-size': 11, fill: '#444' });
  for (const d of ticks(dLo, dHi)) {
    axes.append(node('line', { x1: x(d), x2: x(d), y1: M.t, y2: H - M.b, stroke: '#eee' }), node('text', { x: x(d), y: H - M.b + 14, 'text-anchor': 'middle' }, label(d)));
  }
  for (const s of ticks(sLo, sHi)) {
    axes.append(node('line', { x1: M.l, x2: W - M.r, y1: y(s), y2: y(s), stroke: '#eee' }), node('text', { x: M.l - 6, y: y(s) + 4, 'text-anchor': 'end' }, label(s)));
  }
  axes.append(
    node('text', { x: (M.l + W - M.r) / 2, y: H - 8, 'text-anchor': 'middle' }, 'density (non-zero weights / all), log scale'),
    node('text', { x: 14, y: (M.t + H - M.b) / 2, 'text-anchor': 'middle', transform: `rotate(-90 14 ${(M.t + H - M.b) / 2})` }, 'speedup over dense, log scale'),
    node('rect', { x: M.l, y: M.t, width: W - M.l - M.r, height: H - M.t - M.b, fill: 'none', stroke: '#999' }),
  );
  svg.append(axes);
  svg.append(node('line', { class: 'even', x1: M.l, x2: W - M.r, y1: y(1), y2: y(1), stroke: '#888', 'stroke-dasharray': '2 3' }));
  svg.append(node('path', { class: 'ideal', d: `M${x(dHi)},${y(1 / dHi)}L${x(dLo)},${y(1 / dLo)}`, stroke: '#000', 'stroke-dasharray': '6 4', fill: 'none' }));

  const series = [...new Set(points.map((p) => p.series))];
  const legend = node('g', { class: 'legend', 'font-size': 11 });
  legend.append(node('line', { x1: W - M.r + 12, x2: W - M.r + 36, y1: M.t + 8, y2: M.t + 8, stroke: '#000', 'stroke-dasharray': '6 4' }), node('text', { x: W - M.r + 42, y: M.t + 12 }, 'ideal: 1 / density'));
  series.forEach((name, i) => {
    const color = COLORS[i % COLORS.length]!;
    const pts = points.filter((p) => p.series === name && p.density > 0 && p.speedup > 0 && Number.isFinite(p.speedup)).sort((a, b) => b.density - a.density);
    const g = node('g', { class: 'series', 'data-series': name });
    if (pts.length > 1) g.append(node('path', { d: pts.map((p, k) => `${k ? 'L' : 'M'}${x(p.density).toFixed(1)},${y(p.speedup).toFixed(1)}`).join(''), stroke: color, fill: 'none', 'stroke-width': 1.5 }));
    for (const p of pts) {
      const c = node('circle', { class: 'mark', 'data-series': name, cx: x(p.density).toFixed(1), cy: y(p.speedup).toFixed(1), r: 3.5, fill: color });
      c.append(node('title', {}, `${name}: density ${p.density.toFixed(3)}, speedup ${p.speedup.toFixed(2)}×`));
      g.append(c);
    }
    svg.append(g);
    const ly = M.t + 26 + i * 16;
    legend.append(node('circle', { cx: W - M.r + 24, cy: ly - 4, r: 3.5, fill: color }), node('text', { x: W - M.r + 42, y: ly }, name));
  });
  svg.append(legend);
}
