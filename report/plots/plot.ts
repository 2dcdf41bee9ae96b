/** A plot of the report: a Vega-Lite specification, or the reason it is left out. */
import type { Config, TopLevelSpec } from 'vega-lite';

export type Plot =
  | { name: string; title: string; spec: TopLevelSpec }
  | { name: string; title: string; skipped: string };

/** Looks shared by every plot: white background, left-aligned titles, legends wide enough for method labels. */
export const PLOT_CONFIG: Config = {
  background: 'white',
  font: 'sans-serif',
  padding: 8,
  title: { anchor: 'start', fontSize: 14, subtitleFontSize: 11, subtitleColor: '#444', offset: 12 },
  axis: { labelFontSize: 11, titleFontSize: 12, gridColor: '#e6e6e6' },
  legend: { labelFontSize: 11, titleFontSize: 12, labelLimit: 480, titleLimit: 480 },
  header: { labelFontSize: 12, titleFontSize: 12 },
};

/** Colours per execution format, the same in every plot. */
export const FORMAT_COLORS: Record<string, string> = {
  dense: '#555555',
  'dense-fused': '#aaaaaa',
  masked: '#e45756',
  csr: '#4c78a8',
  bsr: '#72b7b2',
  auto: '#b279a2',
  compacted: '#54a24b',
  'compacted-fused': '#eeca3b',
  'unpruned dense': '#000000',
};

/** A colour scale over `domain` using the format colours (grey for anything unknown). */
export function formatColorScale(domain: string[]) {
  return { domain, range: domain.map((f) => FORMAT_COLORS[f] ?? '#888888') };
}

/** Colour by study source when several results files are compared (legend: the adapter and date of each). */
export function sourceColor(labels: string[]) {
  return { field: 'source', type: 'nominal' as const, title: 'source (adapter — date)', scale: { domain: labels } };
}
