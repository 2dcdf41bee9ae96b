/**
 * The report as one self-contained HTML page: inline CSS, every plot as inline SVG, no scripts,
 * no external resources, every string from the results escaped.
 */
import type { Block, ReportDocument } from './document.js';
import { escapeHtml } from './escape.js';
import { tableHtml } from './table.js';

const STYLE = `
:root { color-scheme: light; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1d1d1f; margin: 0 auto; padding: 1.5rem 2rem 4rem; max-width: 1500px; }
h1 { font-size: 1.6rem; margin: 0 0 .4rem; }
h2 { font-size: 1.25rem; margin: 2.2rem 0 .6rem; padding-bottom: .2rem; border-bottom: 1px solid #ddd; }
h3 { font-size: 1.05rem; margin: 1.6rem 0 .4rem; }
p.note { color: #555; font-size: .92em; max-width: 75em; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1.2rem; margin: .6rem 0; }
dl.facts dt { font-weight: 600; color: #444; }
dl.facts dd { margin: 0; }
pre { background: #f5f5f7; border: 1px solid #e2e2e6; border-radius: 4px; padding: .6rem .8rem; white-space: pre-wrap; word-break: break-all; }
div.table { overflow-x: auto; margin: .6rem 0 1rem; }
table { border-collapse: collapse; font-size: .9em; font-variant-numeric: tabular-nums; }
th, td { padding: .22rem .6rem; border-bottom: 1px solid #eee; text-align: left; vertical-align: top; white-space: nowrap; }
td.wrap { white-space: normal; min-width: 18em; max-width: 40em; }
th { background: #f5f5f7; font-weight: 600; white-space: nowrap; }
th.group { text-align: center; border-bottom: 2px solid #ccc; }
td.num, th.num { text-align: right; white-space: nowrap; }
tr.block td { border-top: 1px solid #bbb; }
caption { caption-side: top; text-align: left; color: #555; padding-bottom: .3rem; }
figure { margin: 1rem 0 2rem; }
figure svg { max-width: 100%; height: auto; }
figcaption { color: #555; font-size: .9em; }
details { margin: .6rem 0; }
summary { cursor: pointer; color: #444; }
ul { padding-left: 1.3rem; }
`;

/**
 * Gives the ids inside one inline SVG a prefix, so several SVGs in one page never resolve each
 * other's clip paths or gradients.
 */
export function scopeSvgIds(svg: string, prefix: string): string {
  return svg
    .replace(/\bid="([^"]+)"/g, (_m, id: string) => `id="${prefix}-${id}"`)
    .replace(/url\(#([^)]+)\)/g, (_m, id: string) => `url(#${prefix}-${id})`)
    .replace(/\bhref="#([^"]+)"/g, (_m, id: string) => `href="#${prefix}-${id}"`);
}

/** Strips an XML declaration or doctype so the SVG can sit inside HTML. */
function inlineSvg(svg: string, name: string): string {
  return scopeSvgIds(svg.replace(/^\s*<\?xml[^>]*\?>\s*/, '').replace(/^\s*<!DOCTYPE[^>]*>\s*/i, ''), `plot-${name}`);
}

function block(b: Block, svgs: Record<string, string>): string {
  switch (b.kind) {
    case 'heading': return `<h${b.level}${b.id ? ` id="${escapeHtml(b.id)}"` : ''}>${escapeHtml(b.text)}</h${b.level}>`;
    case 'paragraph': return `<p${b.note ? ' class="note"' : ''}>${escapeHtml(b.text)}</p>`;
    case 'facts': return `<dl class="facts">\n${b.items.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`).join('\n')}\n</dl>`;
    case 'code': return `<pre><code>${escapeHtml(b.text)}</code></pre>`;
    case 'list': return `<ul>\n${b.items.map((i) => `<li>${escapeHtml(i)}</li>`).join('\n')}\n</ul>`;
    case 'table': return tableHtml(b.table, b.caption);
    case 'plot': {
      const svg = svgs[b.name];
      if (b.skipped || !svg) return `<p class="note plot-skipped" data-plot="${escapeHtml(b.name)}">${escapeHtml(b.skipped ?? `${b.title}: not rendered.`)}</p>`;
      return `<figure class="plot" id="plot-${escapeHtml(b.name)}" data-plot="${escapeHtml(b.name)}" aria-label="${escapeHtml(b.title)}">\n${inlineSvg(svg, b.name)}\n</figure>`;
    }
    case 'details': return `<details>\n<summary>${escapeHtml(b.summary)}</summary>\n${b.blocks.map((x) => block(x, svgs)).join('\n')}\n</details>`;
  }
}

export function toHtml(doc: ReportDocument, svgs: Record<string, string>): string {
  const first = doc.find((b) => b.kind === 'heading');
  const title = first && first.kind === 'heading' ? first.text : 'wgprune study';
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
${doc.map((b) => block(b, svgs)).join('\n')}
</body>
</html>
`;
}
