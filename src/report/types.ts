/**
 * The report's data: plain, JSON-ready, what `buildReportHtml` turns into a page and what the
 * page embeds (`<script type="application/json" id="xdplab-report-data">`) for its plots.
 */

/** The network as drawn: nodes with their interfaces, the programs at each hook, the links. */
export interface TopologyPicture {
  nodes: Array<{
    name: string;
    kind: string;
    nics: Array<{ name: string; id: string; host?: string; hooks: Array<{ hook: string; programs: string[] }> }>;
  }>;
  /** Wires, by interface id (node/iface). */
  links: Array<[string, string]>;
  /** Captures fed into interfaces. */
  traffic: Array<{ nic: string; pcap: string }>;
}

/** One interface and hook where programs ran: its verdicts, in all and over capture time. */
export interface PointSeries {
  /** "node/iface hook". */
  id: string;
  nic: string;
  hook: string;
  /** Verdict names in first-seen order ("fault" for a run that faulted). */
  verdicts: string[];
  /** Runs by verdict, in the order of `verdicts`. */
  totals: number[];
  /** Per verdict (same order), runs per time bin. */
  bins: number[][];
  /** Details of the verdicts, not more runs: where XDP_REDIRECT sent the packets ("redirect → eth2"). */
  details?: Array<[string, number]>;
}

/** A histogram with one series per program: bars from x[i] to x[i] + width. */
export interface Histogram {
  unit: string;
  x: number[];
  width: number;
  series: Array<{ name: string; counts: number[] }>;
  /** Runs past the last bin's start counted in it (run time: the slowest 1%). */
  clipped: number;
  min: number;
  max: number;
  median: number;
}

/** One source file's line counts (from the lcov tracefile --coverage writes). */
export interface CoverageFile {
  file: string;
  /** [line, hits] for every line with code. */
  lines: Array<[number, number]>;
  /** The file's text by line (index 0 is line 1), when it could be read. */
  source?: string[];
}

export interface ReportData {
  /** What ran: the topology's name, or the program and its capture. */
  title: string;
  command: 'run' | 'replay';
  /** Input files (topology, object, capture), as given. */
  inputs: string[];
  packets: number;
  /** Program runs (a packet may pass several programs in a topology). */
  runs: number;
  faults: number;
  dropped: number;
  /** The capture-time bins of `points`: seconds from the first packet. */
  time: { binSeconds: number; bins: number; spanSeconds: number };
  points: PointSeries[];
  drops: { byReason: Array<[string, number]>; byLine: Array<[string, number]> };
  instructions: Histogram;
  /** Run time in microseconds (undefined: not measured). */
  runTime?: Histogram;
  coverage?: CoverageFile[];
  topology: TopologyPicture;
}
