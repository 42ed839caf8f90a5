/**
 * The report's pieces on their own: RunMeter on both engines (instruction counts as the engine
 * counts them, faults seen, the engine left untouched after), the collector's bins, the
 * tracefile read back, the SVG's layout.
 */
import { describe, expect, it } from 'vitest';
import { assemble } from '../../src/isa/asm.js';
import { RawRunner } from '../../src/vm/raw-runner.js';
import { RunMeter } from '../../src/report/run-meter.js';
import { ReportCollector } from '../../src/report/collector.js';
import { coverageFromLcov } from '../../src/report/coverage.js';
import { topologySvg } from '../../src/report/svg.js';
import type { TopologyPicture } from '../../src/report/types.js';

const LOOP = assemble('mov %r0, 0\nmov %r1, 5\nadd %r0, 1\nsub %r1, 1\njne %r1, 0, -3\nexit');
const FAULT = assemble('mov %r1, 0\nldxw %r0, [%r1]\nexit');

describe.each(['interp', 'jit'] as const)('RunMeter (%s)', (kind) => {
  it('counts what the engine executed, times the run, sees a fault, and leaves the engine as it was', () => {
    const runner = new RawRunner(undefined, kind);
    const meter = new RunMeter().install(runner.engine);
    expect(Object.hasOwn(runner.engine, 'run')).toBe(true);
    const { executed } = runner.run(LOOP);
    expect(meter.take()).toBe(true);
    expect(meter.instructions).toBe(executed);
    expect(meter.instructions).toBe(18);
    expect(meter.nanoseconds).toBeGreaterThan(0);
    expect(meter.faulted).toBe(false);
    expect(meter.take()).toBe(false);
    expect(() => runner.run(FAULT)).toThrow(/pc 1/);
    expect(meter.take() && meter.faulted).toBe(true);
    meter.uninstall();
    expect(Object.hasOwn(runner.engine, 'run')).toBe(false);
    runner.run(LOOP);
    expect(meter.pending).toBe(false);
  });

  it('untimed: no clock read, run time 0', () => {
    const runner = new RawRunner(undefined, kind);
    const meter = new RunMeter(false).install(runner.engine);
    runner.run(LOOP);
    expect(meter.nanoseconds).toBe(0);
    expect(meter.instructions).toBe(18);
  });
});

describe('ReportCollector', () => {
  it('bins runs by capture time from the first packet, and histograms by program', () => {
    const c = new ReportCollector(true);
    c.run('a/eth0', 'xdp', 100, 0, 'XDP_PASS', 'p', 10, 1000);
    c.run('a/eth0', 'xdp', 100, 500_000_000, 'XDP_DROP', 'p', 12, 2000);
    c.run('a/eth0', 'xdp', 101, 0, 'XDP_PASS', 'p', 10, 1000);
    c.run('a/eth0', 'tc-egress', 101, 0, 'fault', 'q', 3, 500);
    c.drop('xdp: p returned XDP_DROP', 'f.c:3: return XDP_DROP;');
    c.drop('stack: no route to host');
    const d = c.finish({ title: 't', command: 'run', inputs: [], packets: 3, topology: { nodes: [], links: [], traffic: [] } });
    expect(d.time.spanSeconds).toBe(1);
    expect(d.runs).toBe(4);
    expect(d.faults).toBe(1);
    expect(d.dropped).toBe(2);
    const [xdp, tc] = d.points;
    expect(xdp.verdicts).toEqual(['XDP_PASS', 'XDP_DROP']);
    expect(xdp.totals).toEqual([2, 1]);
    expect(xdp.bins[0][0]).toBe(1);
    expect(xdp.bins[0][d.time.bins - 1]).toBe(1);
    expect(tc.verdicts).toEqual(['fault']);
    expect(d.instructions.series.map((s) => s.name)).toEqual(['p', 'q']);
    expect(d.instructions.width).toBe(1);
    expect(d.instructions.x).toEqual([3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(d.instructions.series[0].counts[7]).toBe(2);
    expect(d.runTime!.series.flatMap((s) => s.counts).reduce((a, b) => a + b)).toBe(4);
    expect(d.drops.byLine).toEqual([['f.c:3: return XDP_DROP;', 1]]);
  });
});

describe('coverageFromLcov', () => {
  it('adds up the tests (one per verdict) line by line', () => {
    const lcov = ['TN:XDP_DROP', 'SF:/nowhere/f.c', 'DA:3,2', 'DA:4,0', 'end_of_record', 'TN:XDP_PASS', 'SF:/nowhere/f.c', 'DA:3,5', 'DA:5,1', 'end_of_record', ''].join('\n');
    expect(coverageFromLcov(lcov)).toEqual([{ file: '/nowhere/f.c', lines: [[3, 7], [4, 0], [5, 1]] }]);
  });
});

describe('topologySvg', () => {
  it('puts the most connected node first and its neighbours in the next column, each wire once', () => {
    const nic = (node: string, name: string): { name: string; id: string; hooks: [] } => ({ name, id: `${node}/${name}`, hooks: [] });
    const picture: TopologyPicture = {
      nodes: [
        { name: 'h1', kind: 'host', nics: [nic('h1', 'eth0')] },
        { name: 'r', kind: 'router', nics: [nic('r', 'a'), nic('r', 'b')] },
        { name: 'h2', kind: 'host', nics: [nic('h2', 'eth0')] },
      ],
      links: [['h1/eth0', 'r/a'], ['h2/eth0', 'r/b']],
      traffic: [{ nic: 'r/a', pcap: 'in.pcap' }],
    };
    const svg = topologySvg(picture);
    const x = (node: string): number => Number(new RegExp(`data-node="${node}"><title>[^<]*</title><rect [^>]*? x="(\\d+)"`).exec(svg)![1]);
    expect(x('r')).toBeLessThan(x('h1'));
    expect(x('h1')).toBe(x('h2'));
    expect(svg.match(/<g class="link"/g)).toHaveLength(2);
    expect(svg).toContain('in.pcap');
  });
});
