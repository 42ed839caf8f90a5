/** The report page's stylesheet (inlined beside uPlot's). */
export const PAGE_STYLE = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #1d2430; background: #fff; }
h1 { font-size: 22px; margin: 0 0 12px; }
h2 { font-size: 17px; margin: 28px 0 10px; border-bottom: 1px solid #d8dde4; padding-bottom: 4px; }
table { border-collapse: collapse; margin: 8px 0 16px; }
th, td { padding: 3px 10px; border-bottom: 1px solid #eceff3; text-align: left; vertical-align: top; }
th { background: #f4f6f9; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
table.summary th { width: 9em; }
p.none, p.stats { color: #5a6472; }
.plot { margin: 10px 0 18px; }
svg.topology { max-width: 100%; height: auto; }
svg .node-box { fill: #f7f9fc; stroke: #53606f; stroke-width: 1.5; }
svg .node-router { fill: #eef4ff; }
svg .node-switch { fill: #f3f0fb; }
svg .nic-box { fill: #ffffff; stroke: #aab4c0; }
svg text { font: 12px system-ui, sans-serif; fill: #1d2430; }
svg .node-name { font-weight: 700; font-size: 14px; }
svg .node-kind { fill: #6a7482; font-style: italic; }
svg .nic-name { font-weight: 600; }
svg .hook { font-family: ui-monospace, monospace; font-size: 11px; fill: #8a4fd1; }
svg .hook-xdp { fill: #c0392b; }
svg .link path { fill: none; stroke: #53606f; stroke-width: 2; }
svg .traffic path { stroke: #2e9d4f; stroke-width: 2; fill: none; }
svg marker path { fill: #2e9d4f; }
svg .traffic text { fill: #2e7d32; }
details.coverage-file { margin: 8px 0; }
details.coverage-file summary { cursor: pointer; font-weight: 600; }
table.coverage td { padding: 0 8px; border: 0; }
table.coverage code { white-space: pre; font-size: 12px; }
table.coverage tr.hit td { background: #e6f6ea; }
table.coverage tr.miss td { background: #fde8e8; }
`;
