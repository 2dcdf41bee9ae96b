/** The report's plots as Vega-Lite specifications, and their rendering to SVG. */
export { accuracyPlot } from './accuracy.js';
export { speedupPlot } from './speedup.js';
export { layerTimesPlot, layerTimeRuns } from './layer-times.js';
export { paretoPlot, paretoFront, paretoPoints, type ParetoPoint } from './pareto.js';
export { renderSvg } from './render.js';
export { PLOT_CONFIG, FORMAT_COLORS, type Plot } from './plot.js';
