/**
 * ReportCollector: what a report needs of a run, taken program run by program run — where it
 * ran (interface and hook), when (capture time), its verdict, its instruction count and run
 * time — and drop by drop (why, and the C line that decided it); `finish` bins it all into
 * the report's data.
 */
import { GrowableF64, binOf, binsOver, quantile, type Bins } from './series.js';
import type { CoverageFile, Histogram, PointSeries, ReportData, TopologyPicture } from './types.js';

/** Time bins of the verdict bars (at most). */
const TIME_BINS = 60;
/** Bins of the histograms (at most). */
const HISTOGRAM_BINS = 48;

interface PointState {
  nic: string;
  hook: string;
  verdicts: Map<string, number>;
  totals: number[];
  times: GrowableF64;
  verdictOf: GrowableF64;
}

interface ProgramState {
  instructions: GrowableF64;
  nanoseconds: GrowableF64;
}

/** What `finish` adds to the counts: the run's own description. */
export interface ReportMeta {
  title: string;
  command: 'run' | 'replay';
  inputs: string[];
  packets: number;
  topology: TopologyPicture;
  coverage?: CoverageFile[];
}

export class ReportCollector {
  private readonly points = new Map<string, PointState>();
  private readonly programs = new Map<string, ProgramState>();
  private readonly byReason = new Map<string, number>();
  private readonly byLine = new Map<string, number>();
  private first: { sec: number; nsec: number } | undefined;
  runs = 0;
  faults = 0;
  dropped = 0;

  /** `timed`: whether runs come with their run time. */
  constructor(readonly timed: boolean) {}

  /** A program ran at `hook` of `nic` on a packet captured at tsSec.tsNsec (a fault's verdict is "fault"). */
  run(nic: string, hook: string, tsSec: number, tsNsec: number, verdict: string, program: string, instructions: number, nanoseconds: number): void {
    const point = this.pointOf(nic, hook);
    let v = point.verdicts.get(verdict);
    if (v === undefined) {
      point.verdicts.set(verdict, (v = point.totals.length));
      point.totals.push(0);
    }
    point.totals[v]++;
    point.times.push(this.sinceFirst(tsSec, tsNsec));
    point.verdictOf.push(v);
    const prog = this.programOf(program);
    prog.instructions.push(instructions);
    if (this.timed) prog.nanoseconds.push(nanoseconds);
    this.runs++;
    if (verdict === 'fault') this.faults++;
  }

  /** A packet dropped, why (a short, countable reason) and the C line that decided it, if a program did. */
  drop(reason: string, line?: string): void {
    this.dropped++;
    this.byReason.set(reason, (this.byReason.get(reason) ?? 0) + 1);
    if (line !== undefined) this.byLine.set(line, (this.byLine.get(line) ?? 0) + 1);
  }

  finish(meta: ReportMeta): ReportData {
    let span = 0;
    for (const p of this.points.values()) for (const t of p.times.view()) span = Math.max(span, t);
    const time = binsOver(0, span / 1e9, TIME_BINS);
    const sorted = (m: Map<string, number>): Array<[string, number]> => [...m].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    return {
      title: meta.title,
      command: meta.command,
      inputs: meta.inputs,
      packets: meta.packets,
      runs: this.runs,
      faults: this.faults,
      dropped: this.dropped,
      time: { binSeconds: time.width, bins: time.counts, spanSeconds: span / 1e9 },
      points: [...this.points.entries()].map(([id, p]) => pointSeries(id, p, time)),
      drops: { byReason: sorted(this.byReason), byLine: sorted(this.byLine) },
      instructions: this.instructionHistogram(),
      runTime: this.timed ? this.runTimeHistogram() : undefined,
      coverage: meta.coverage,
      topology: meta.topology,
    };
  }

  private sinceFirst(sec: number, nsec: number): number {
    this.first ??= { sec, nsec };
    return Math.max(0, (sec - this.first.sec) * 1e9 + (nsec - this.first.nsec));
  }

  private pointOf(nic: string, hook: string): PointState {
    const id = `${nic} ${hook}`;
    let p = this.points.get(id);
    if (!p) this.points.set(id, (p = { nic, hook, verdicts: new Map(), totals: [], times: new GrowableF64(), verdictOf: new GrowableF64() }));
    return p;
  }

  private programOf(name: string): ProgramState {
    let p = this.programs.get(name);
    if (!p) this.programs.set(name, (p = { instructions: new GrowableF64(), nanoseconds: new GrowableF64() }));
    return p;
  }

  /** Instructions a run: one bar a count when there are few, else integer-wide bins. */
  private instructionHistogram(): Histogram {
    const all = this.all((p) => p.instructions);
    const bins = binsOver(min(all), max(all), HISTOGRAM_BINS, true);
    return histogram('instructions', bins, this.programs, (p) => p.instructions, all, Infinity);
  }

  /**
   * Run time in µs, up to the 99th percentile or ten times the median, whichever is less: the
   * slower runs (a first run's compile, a pause for garbage collection) are counted in the last bin.
   */
  private runTimeHistogram(): Histogram {
    const all = this.all((p) => p.nanoseconds).map((ns) => ns / 1000);
    const top = Math.min(quantile(all, 0.99), 10 * quantile(all, 0.5));
    const bins = binsOver(min(all), top, HISTOGRAM_BINS, false, 0.001);
    return histogram('µs', bins, this.programs, (p) => p.nanoseconds, all, top, 1 / 1000);
  }

  private all(of: (p: ProgramState) => GrowableF64): Float64Array {
    const parts = [...this.programs.values()].map((p) => of(p).view());
    const out = new Float64Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}

const min = (a: Float64Array): number => a.reduce((m, v) => Math.min(m, v), a.length ? Infinity : 0);
const max = (a: Float64Array): number => a.reduce((m, v) => Math.max(m, v), a.length ? -Infinity : 0);

function pointSeries(id: string, p: PointState, time: Bins): PointSeries {
  const bins = p.totals.map(() => new Array<number>(time.counts).fill(0));
  const times = p.times.view();
  for (let i = 0; i < times.length; i++) bins[p.verdictOf.get(i)][binOf(time, times[i] / 1e9)]++;
  return { id, nic: p.nic, hook: p.hook, verdicts: [...p.verdicts.keys()], totals: [...p.totals], bins };
}

function histogram(unit: string, bins: Bins, programs: Map<string, ProgramState>, of: (p: ProgramState) => GrowableF64, all: Float64Array, top: number, scale = 1): Histogram {
  const series = [...programs].map(([name, p]) => {
    const counts = new Array<number>(bins.counts).fill(0);
    for (const v of of(p).view()) counts[binOf(bins, v * scale)]++;
    return { name, counts };
  });
  const x = Array.from({ length: bins.counts }, (_, i) => bins.start + i * bins.width);
  return {
    unit, x, width: bins.width, series,
    clipped: all.reduce((n, v) => n + (v > top ? 1 : 0), 0),
    min: min(all), max: max(all), median: quantile(all, 0.5),
  };
}
