/**
 * A self-contained SVG (no dependency) of speedup over dense against density, both
 * axes logarithmic, one panel per layer, with the ideal 1/density line and the
 * break-even line (speedup 1).
 */

export interface PlotSeries {
  label: string;
  points: Array<[density: number, speedup: number]>;
}

export interface PlotPanel {
  title: string;
  series: PlotSeries[];
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22'];
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function panelSvg(p: PlotPanel, ox: number, oy: number, w: number, h: number): string {
  const m = { l: 48, r: 130, t: 24, b: 36 };
  const pw = w - m.l - m.r, ph = h - m.t - m.b;
  const dMin = 0.01, dMax = 1, sMin = 0.01, sMax = 100;
  const x = (d: number) => ox + m.l + ((Math.log10(d) - Math.log10(dMin)) / (Math.log10(dMax) - Math.log10(dMin))) * pw;
  const y = (s: number) => oy + m.t + (1 - (Math.log10(Math.min(sMax, Math.max(sMin, s))) - Math.log10(sMin)) / (Math.log10(sMax) - Math.log10(sMin))) * ph;
  const out: string[] = [];
  out.push(`<text x="${ox + m.l}" y="${oy + 16}" font-size="13" font-weight="bold">${esc(p.title)}</text>`);
  out.push(`<rect x="${ox + m.l}" y="${oy + m.t}" width="${pw}" height="${ph}" fill="none" stroke="#999"/>`);
  for (const d of [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1]) {
    out.push(`<line x1="${x(d)}" y1="${oy + m.t}" x2="${x(d)}" y2="${oy + m.t + ph}" stroke="#eee"/>`);
    out.push(`<text x="${x(d)}" y="${oy + m.t + ph + 14}" font-size="10" text-anchor="middle">${d}</text>`);
  }
  for (const s of [0.01, 0.1, 1, 10, 100]) {
    out.push(`<line x1="${ox + m.l}" y1="${y(s)}" x2="${ox + m.l + pw}" y2="${y(s)}" stroke="${s === 1 ? '#555' : '#eee'}"${s === 1 ? ' stroke-dasharray="4 3"' : ''}/>`);
    out.push(`<text x="${ox + m.l - 4}" y="${y(s) + 3}" font-size="10" text-anchor="end">${s}x</text>`);
  }
  out.push(`<text x="${ox + m.l + pw / 2}" y="${oy + h - 4}" font-size="11" text-anchor="middle">density (log)</text>`);
  out.push(`<line x1="${x(dMin)}" y1="${y(1 / dMin)}" x2="${x(dMax)}" y2="${y(1)}" stroke="#000" stroke-width="1.5"/>`);
  out.push(`<text x="${ox + m.l + pw + 6}" y="${oy + m.t + 10}" font-size="10">— ideal 1/density</text>`);
  p.series.forEach((s, i) => {
    const pts = [...s.points].filter(([d, v]) => d > 0 && v > 0).sort((a, b) => a[0] - b[0]);
    const col = COLORS[i % COLORS.length];
    if (pts.length) out.push(`<polyline fill="none" stroke="${col}" stroke-width="1.5" points="${pts.map(([d, v]) => `${x(d).toFixed(1)},${y(v).toFixed(1)}`).join(' ')}"/>`);
    for (const [d, v] of pts) out.push(`<circle cx="${x(d).toFixed(1)}" cy="${y(v).toFixed(1)}" r="2.5" fill="${col}"/>`);
    out.push(`<text x="${ox + m.l + pw + 6}" y="${oy + m.t + 26 + i * 13}" font-size="10" fill="${col}">${esc(s.label)}</text>`);
  });
  return out.join('\n');
}

export function speedupSvg(title: string, panels: PlotPanel[], cols = 2): string {
  const w = 470, h = 300;
  const rows = Math.ceil(panels.length / cols);
  const W = w * cols, H = h * rows + 30;
  const body = panels.map((p, i) => panelSvg(p, (i % cols) * w, 30 + Math.floor(i / cols) * h, w, h)).join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif">
<rect width="100%" height="100%" fill="#fff"/>
<text x="10" y="20" font-size="15" font-weight="bold">${esc(title)}</text>
${body}
</svg>
`;
}
