/**
 * The report page's own script, inlined after uPlot: it reads the embedded JSON
 * (#xdplab-report-data) and draws the plots — per interface and hook, the verdicts over
 * capture time as stacked bars; the instruction-count and run-time histograms, a series per
 * program. Tables and the topology are HTML/SVG already; this draws only the canvases.
 * Plain ES2017 for the browser, kept as a string: it is never run by Node.
 */
export const PAGE_SCRIPT = String.raw`
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('xdplab-report-data').textContent);
  var FIXED = {
    XDP_PASS: '#2e9d4f', XDP_DROP: '#d64545', XDP_TX: '#3b73d9', XDP_REDIRECT: '#8a4fd1', XDP_ABORTED: '#e8891c',
    TC_ACT_OK: '#2e9d4f', TC_ACT_SHOT: '#d64545', TC_ACT_REDIRECT: '#8a4fd1', TC_ACT_UNSPEC: '#9aa3ad',
    TC_ACT_PIPE: '#4fb3c4', TC_ACT_STOLEN: '#b5651d', TC_ACT_RECLASSIFY: '#c4b24f', fault: '#222222'
  };
  var SPARE = ['#1f9e89', '#c2185b', '#7cb342', '#5c6bc0', '#ff7043', '#8d6e63', '#26a69a', '#ab47bc'];
  function colour(name, i) { return FIXED[name] || SPARE[i % SPARE.length]; }
  function width(el) { return Math.max(320, Math.min(1100, (el.clientWidth || 900) - 10)); }

  // Stacked bars: series k is drawn at the sum of series 0..k, the tallest first so each
  // shorter one is painted over it; the legend shows each series' own count.
  function stacked(el, title, x, binWidth, names, rows, xLabel, yLabel) {
    var sums = [];
    var run = x.map(function () { return 0; });
    rows.forEach(function (row) { run = run.map(function (v, i) { return v + row[i]; }); sums.push(run); });
    var order = names.map(function (_, k) { return k; }).reverse();
    var bars = uPlot.paths.bars({ size: [0.92, Infinity], align: 1 });
    var series = [{ label: xLabel, value: function (u, v) { return v == null ? '' : +v.toPrecision(6); } }];
    order.forEach(function (k) {
      series.push({
        label: names[k], stroke: colour(names[k], k), fill: colour(names[k], k), width: 0, paths: bars, points: { show: false },
        value: (function (row) { return function (u, v, si, i) { return i == null ? '' : row[i]; }; })(rows[k])
      });
    });
    var lo = x.length ? x[0] : 0;
    var hi = x.length ? x[x.length - 1] + binWidth : 1;
    var opts = {
      title: title, width: width(el), height: 220,
      scales: { x: { time: false, range: function () { return [lo, hi]; } }, y: { range: function (u, mn, mx) { return [0, Math.max(1, mx)]; } } },
      axes: [{ label: xLabel }, { label: yLabel }],
      series: series, legend: { live: true }
    };
    var cols = [x].concat(order.map(function (k) { return sums[k]; }));
    return new uPlot(opts, cols, el);
  }

  function section(id) { return document.getElementById(id); }
  function box(parent) { var d = document.createElement('div'); d.className = 'plot'; parent.appendChild(d); return d; }

  var t = data.time;
  var tx = [];
  for (var i = 0; i < t.bins; i++) tx.push(i * t.binSeconds);
  var verdicts = section('verdict-plots');
  data.points.forEach(function (p) {
    stacked(box(verdicts), p.id + ': verdicts over capture time', tx, t.binSeconds, p.verdicts, p.bins, 'seconds', 'runs');
  });

  function hist(h, id, title) {
    var el = section(id);
    if (!el || !h || h.series.length === 0) return;
    stacked(box(el), title, h.x, h.width, h.series.map(function (s) { return s.name; }), h.series.map(function (s) { return s.counts; }), h.unit, 'runs');
  }
  hist(data.instructions, 'instruction-plot', 'instructions a run');
  hist(data.runTime, 'runtime-plot', 'run time (µs)');
  document.body.setAttribute('data-rendered', String(document.querySelectorAll('.uplot canvas').length));
})();
`;
