/**
 * The HTML report of a run (`--report FILE.html` on run and replay): collect a run's records
 * (ReportSink for a topology, ReplayReport for a replay, or ReportCollector by hand), finish
 * them into a ReportData, and build the page (buildReportHtml) or write it (writeReport).
 */
export { buildReportHtml, writeReport } from './html.js';
export { ReportCollector, type ReportMeta } from './collector.js';
export { ReportSink } from './network-sink.js';
export { ReplayReport } from './replay.js';
export { RunMeter } from './run-meter.js';
export { networkPicture, replayPicture } from './picture.js';
export { topologySvg } from './svg.js';
export { coverageFromLcov } from './coverage.js';
export type { CoverageFile, Histogram, PointSeries, ReportData, TopologyPicture } from './types.js';
