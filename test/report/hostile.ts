/** A report whose every user-controlled text is an attack on the page (report.test.ts, browser.test.ts). */
import type { ReportData } from '../../src/report/types.js';

export function hostileData(): ReportData {
  const evil = '<img src=x onerror="window.__pwned=1"></script><script>window.__pwned=1</script>&amp;';
  return {
    title: evil, command: 'run', inputs: [evil], packets: 1, runs: 1, faults: 0, dropped: 1,
    time: { binSeconds: 1, bins: 1, spanSeconds: 0 },
    points: [{ id: `${evil} xdp`, nic: evil, hook: 'xdp', verdicts: [evil], totals: [1], bins: [[1]] }],
    drops: { byReason: [[evil, 1]], byLine: [[evil, 1]] },
    instructions: { unit: evil, x: [10], width: 1, series: [{ name: evil, counts: [1] }], clipped: 0, min: 10, max: 10, median: 10 },
    coverage: [{ file: evil, lines: [[1, 1]], source: [evil] }],
    topology: { nodes: [{ name: evil, kind: evil, nics: [{ name: evil, id: `${evil}/a`, host: evil, hooks: [{ hook: evil, programs: [evil] }] }] }], links: [[`${evil}/a`, `${evil}/a`]], traffic: [{ nic: `${evil}/a`, pcap: evil }] },
  };
}

