/**
 * buildReportHtml: the report as one self-contained HTML page — uPlot's script and stylesheet
 * inlined (assets.ts), the data embedded as JSON for the plots (page-script.ts), the tables
 * and the topology's SVG written here. It loads nothing: it opens from a file, offline.
 * Every user-controlled text is escaped (escape.ts).
 */
import { writeFileAtomic } from '../files.js';
import { escapeHtml, inlineSafe, jsonForScript } from './escape.js';
import { uplotAssets, type UplotAssets } from './assets.js';
import { PAGE_SCRIPT } from './page-script.js';
import { PAGE_STYLE } from './page-style.js';
import { topologySvg } from './svg.js';
import type { CoverageFile, Histogram, ReportData } from './types.js';

const e = escapeHtml;

function table(head: string[], rows: Array<Array<string | number>>, className = ''): string {
  const th = head.map((h) => `<th>${e(h)}</th>`).join('');
  const body = rows.map((r) => `<tr>${r.map((c) => (typeof c === 'number' ? `<td class="num">${c}</td>` : `<td>${e(c)}</td>`)).join('')}</tr>`).join('\n');
  return `<table${className ? ` class="${className}"` : ''}><thead><tr>${th}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

function summary(data: ReportData): string {
  const rows: Array<[string, string | number]> = [
    ['command', `xdplab ${data.command}`],
    ...data.inputs.map((f): [string, string] => ['input', f]),
    ['packets', data.packets],
    ['program runs', data.runs],
    ['faults', data.faults],
    ['dropped', data.dropped],
    ['capture time', `${data.time.spanSeconds.toFixed(6)} s (bars of ${formatSeconds(data.time.binSeconds)})`],
  ];
  return `<table class="summary"><tbody>${rows.map(([k, v]) => `<tr><th>${e(k)}</th><td${typeof v === 'number' ? ' class="num"' : ''}>${e(String(v))}</td></tr>`).join('')}</tbody></table>`;
}

const formatSeconds = (s: number): string => (s >= 1 ? `${+s.toPrecision(4)} s` : s >= 1e-3 ? `${+(s * 1e3).toPrecision(4)} ms` : `${+(s * 1e6).toPrecision(4)} µs`);

function verdictTable(data: ReportData): string {
  if (data.points.length === 0) return '<p class="none">No program ran.</p>';
  const rows = data.points.flatMap((p) => [
    ...p.verdicts.map((v, i) => [p.nic, p.hook, v, p.totals[i]]),
    ...(p.details ?? []).map(([d, n]) => [p.nic, p.hook, `↳ ${d}`, n]),
  ]);
  return table(['interface', 'hook', 'verdict', 'runs'], rows, 'verdicts');
}

function dropTables(data: ReportData): string {
  if (data.dropped === 0) return '<p class="none">Nothing was dropped.</p>';
  const byLine = data.drops.byLine.length
    ? table(['deciding source line (where the verdict was made)', 'drops'], data.drops.byLine, 'drops-by-line')
    : '<p class="none">No drop was decided by a program with line info.</p>';
  return table(['reason', 'drops'], data.drops.byReason, 'drops-by-reason') + byLine;
}

function histogramNote(h: Histogram | undefined, what: string): string {
  if (!h) return `<p class="none">${e(what)}: not measured.</p>`;
  if (h.series.length === 0) return `<p class="none">${e(what)}: no run.</p>`;
  const clipped = h.clipped ? `; ${h.clipped} slower runs counted in the last bar` : '';
  return `<p class="stats">${e(what)}: min ${+h.min.toPrecision(6)}, median ${+h.median.toPrecision(6)}, max ${+h.max.toPrecision(6)} ${e(h.unit)}${e(clipped)}</p>`;
}

function coverageFile(f: CoverageFile): string {
  const hits = new Map(f.lines);
  const run = f.lines.filter(([, n]) => n > 0).length;
  const numbers = f.source ? f.source.map((_, i) => i + 1) : f.lines.map(([line]) => line);
  const rows = numbers.map((line) => {
    const n = hits.get(line);
    const cls = n === undefined ? '' : n > 0 ? ' class="hit"' : ' class="miss"';
    const text = f.source?.[line - 1] ?? '';
    return `<tr${cls}><td class="num">${line}</td><td class="num">${n ?? ''}</td><td><code>${e(text)}</code></td></tr>`;
  });
  return `<details class="coverage-file" open><summary>${e(f.file)}: ${run} of ${f.lines.length} lines run</summary>` +
    `<table class="coverage"><thead><tr><th>line</th><th>hits</th><th>source</th></tr></thead><tbody>\n${rows.join('\n')}\n</tbody></table></details>`;
}

function coverageSection(data: ReportData): string {
  if (!data.coverage) return '<p class="none">No coverage: run with <code>--coverage FILE.info</code> to add it.</p>';
  if (data.coverage.length === 0) return '<p class="none">No line info in the programs (built without -g?).</p>';
  return data.coverage.map(coverageFile).join('\n');
}

/** The data the page's script reads: all of it but the source text, which only the tables show. */
const embedded = (data: ReportData): ReportData => ({ ...data, coverage: data.coverage?.map(({ file, lines }) => ({ file, lines })) });

/** The report page for a run's data (see ReportCollector.finish). */
export function buildReportHtml(data: ReportData, assets: UplotAssets = uplotAssets()): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>xdplab report: ${e(data.title)}</title>
<style>${inlineSafe(assets.css, 'style')}</style>
<style>${PAGE_STYLE}</style>
</head>
<body>
<h1>xdplab report: ${e(data.title)}</h1>
<section id="summary">${summary(data)}</section>
<section id="topology"><h2>Topology</h2>
${topologySvg(data.topology)}
</section>
<section id="verdicts"><h2>Verdicts by interface and hook</h2>
${verdictTable(data)}
<div id="verdict-plots"></div>
</section>
<section id="drops"><h2>Drops</h2>
${dropTables(data)}
</section>
<section id="cost"><h2>Per-packet cost</h2>
${histogramNote(data.instructions, 'instructions a run')}
<div id="instruction-plot"></div>
${histogramNote(data.runTime, 'run time')}
<div id="runtime-plot"></div>
</section>
<section id="coverage"><h2>Coverage</h2>
${coverageSection(data)}
</section>
<script type="application/json" id="xdplab-report-data">${jsonForScript(embedded(data))}</script>
<script>${inlineSafe(assets.js, 'script')}</script>
<script>${inlineSafe(PAGE_SCRIPT, 'script')}</script>
</body>
</html>
`;
}

/** Write the report page to `file`, atomically (a temporary file renamed when complete). */
export function writeReport(file: string, data: ReportData): void {
  writeFileAtomic(file, buildReportHtml(data));
}
