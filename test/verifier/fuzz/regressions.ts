/**
 * The regression table (test/fixtures/verifier/regressions.json): programs on which xdplab's
 * verifier once disagreed with the kernel, found by the fuzzer and shrunk, each with the
 * kernel's recorded answer in both privilege sets. `node scripts/verifier-fuzz.mjs --record`
 * re-records it as root; test/verifier/regressions.test.ts holds xdplab to it.
 */
export interface RecordedAnswer {
  accepted: boolean;
  errno: number;
  error: string;
  insns_processed: number | null;
}

export interface Regression {
  name: string;
  /** The kernel rule the program isolates, and what xdplab did wrong. */
  why: string;
  /** The program in the fuzzer's text form (program.ts: `prog`, `map`, `global` lines, then instructions). */
  text: string;
  root: RecordedAnswer;
  bpf: RecordedAnswer;
}
