/**
 * Renders a Vega-Lite specification to an SVG string in Node, offline: Vega-Lite compiles it to a
 * Vega specification and a headless Vega view (no canvas, no DOM) draws it as SVG.
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/** Collects Vega and Vega-Lite warnings instead of printing them. */
function collectingLogger(warnings: string[]) {
  return vega.logger(vega.Warn, undefined, (method, _level, args) => {
    if (method === 'error') throw new Error(`plot: ${args.map(String).join(' ')}`);
    warnings.push(args.map(String).join(' '));
  });
}

/** The plot as a standalone SVG document; warnings go to `warnings` when given. */
export async function renderSvg(spec: TopLevelSpec, warnings: string[] = []): Promise<string> {
  const logger = collectingLogger(warnings);
  const { spec: vgSpec } = compile(spec, { logger });
  const view = new vega.View(vega.parse(vgSpec), { renderer: 'none', logger });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
