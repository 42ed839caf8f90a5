/**
 * The filter compiler against libpcap itself: for every expression of expressions.ts and every
 * capture of captures.ts, the packets the compiled XDP program passes in xdplab are exactly
 * the packets `tcpdump -r CAP EXPR` prints, so are those the TC program passes (of the frames a
 * TC test run takes), and the kernel (BPF_PROG_TEST_RUN of the same objects, loaded by bpftool)
 * gives xdplab's verdicts for both.
 *
 * tcpdump's and the kernel's answers are kept in test/fixtures/filter/answers.json (packet
 * indices from 0, per capture and expression): where tcpdump or the kernel cannot be asked, the
 * record is the oracle; where they can, they are asked again and must equal the record.
 * `XDPLAB_RECORD_KERNEL=1 npx vitest run test/filter/tcpdump.test.ts` (as root, with tcpdump)
 * rewrites it.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileFilter, type CompiledFilter } from '../../src/filter/index.js';
import { kernelMissing } from '../../src/kernel/bpftool.js';
import { repoRoot } from '../support/paths.js';
import { titled } from '../support/skip.js';
import { CAPTURES, writeCaptures } from './captures.js';
import { EXPRESSIONS } from './expressions.js';
import { kernelRun, tcpdumpMatches, tcpdumpMissing, xdplabRun, type Passes } from './run.js';

type Answers = Record<string, Record<string, number[]>>;
interface Record_ {
  tcpdump: Answers;
  /** The kernel's passes of the XDP objects, and of the TC objects. */
  kernel: Answers;
  kernelTc: Answers;
}

const RECORD_FILE = path.join(repoRoot, 'test/fixtures/filter/answers.json');
const RECORDING = process.env.XDPLAB_RECORD_KERNEL === '1';
const noTcpdump = tcpdumpMissing();
const noKernel = process.env.XDPLAB_NO_KERNEL ? 'XDPLAB_NO_KERNEL is set' : kernelMissing();
const recorded: Record_ = existsSync(RECORD_FILE) ? JSON.parse(readFileSync(RECORD_FILE, 'utf8')) as Record_ : { tcpdump: {}, kernel: {}, kernelTc: {} };
const fresh: Record_ = { tcpdump: {}, kernel: {}, kernelTc: {} };

const packets = Object.fromEntries(Object.entries(CAPTURES).map(([name, make]) => [name, make()]));
const compiled = new Map<string, CompiledFilter>();
const compiledTc = new Map<string, CompiledFilter>();
let files: Record<string, string> = {};

beforeAll(async () => {
  for (const expr of EXPRESSIONS) {
    compiled.set(expr, compileFilter(expr));
    compiledTc.set(expr, compileFilter(expr, { hook: 'tc' }));
  }
  files = await writeCaptures();
});

afterAll(() => {
  if (!RECORDING) return;
  mkdirSync(path.dirname(RECORD_FILE), { recursive: true });
  writeFileSync(RECORD_FILE, JSON.stringify(fresh, null, 1) + '\n');
});

/** A recorded answer, or a failure naming the command that records it. */
function recordedAnswer(kind: keyof Record_, capture: string, expr: string): number[] {
  if (RECORDING && kind === 'tcpdump') return tcpdumpMatches(files[capture], expr);
  const answer = (RECORDING ? fresh : recorded)[kind][capture]?.[expr];
  if (!answer) throw new Error(`no recorded ${kind} answer for '${expr}' on ${capture}: XDPLAB_RECORD_KERNEL=1 npx vitest run test/filter/tcpdump.test.ts`);
  return answer;
}

const keep = (kind: keyof Record_, capture: string, expr: string, answer: number[]): void => {
  (fresh[kind][capture] ??= {})[expr] = answer;
};

const same = (a: readonly number[], b: readonly number[] | undefined): boolean => JSON.stringify(a) === JSON.stringify(b);

const NAMES = Object.keys(CAPTURES);
/** Every capture's packets through one run of the program (one Runtime per expression and hook), split back per capture. */
const memo = new Map<string, Record<string, Passes>>();
function xdplab(expr: string, hook: 'xdp' | 'tc'): Record<string, Passes> {
  const key = `${hook} ${expr}`;
  let answers = memo.get(key);
  if (!answers) {
    const run = xdplabRun((hook === 'xdp' ? compiled : compiledTc).get(expr)!, NAMES.flatMap((n) => packets[n]), hook === 'xdp' ? 'xdp' : 'tc-ingress');
    answers = {};
    let from = 0;
    for (const name of NAMES) {
      const n = packets[name].length;
      const mine = (list: number[]): number[] => list.filter((i) => i >= from && i < from + n).map((i) => i - from);
      answers[name] = { passed: mine(run.passed), refused: mine(run.refused) };
      from += n;
    }
    memo.set(key, answers);
  }
  return answers;
}

describe.each(Object.keys(CAPTURES))('capture %s', (capture) => {
  it(`${capture}: xdplab passes exactly the packets tcpdump prints (${EXPRESSIONS.length} expressions, recorded answers)`, () => {
    const differ: string[] = [];
    for (const expr of EXPRESSIONS) {
      const want = recordedAnswer('tcpdump', capture, expr);
      const got = xdplab(expr, 'xdp')[capture].passed;
      if (!same(got, want)) differ.push(`'${expr}': tcpdump ${JSON.stringify(want)}, xdplab ${JSON.stringify(got)}`);
    }
    expect(differ).toEqual([]);
  });

  it.skipIf(noTcpdump !== undefined)(titled(`${capture}: tcpdump, asked now, prints the recorded packets`, noTcpdump), () => {
    const differ: string[] = [];
    for (const expr of EXPRESSIONS) {
      const live = tcpdumpMatches(files[capture], expr);
      keep('tcpdump', capture, expr, live);
      if (!RECORDING && !same(live, recorded.tcpdump[capture]?.[expr])) differ.push(`'${expr}': now ${JSON.stringify(live)}`);
    }
    expect(differ).toEqual([]);
  });

  it(`${capture}: the TC program passes what tcpdump prints (packets a TC test run takes)`, () => {
    const differ: string[] = [];
    for (const expr of EXPRESSIONS) {
      const run = xdplab(expr, 'tc')[capture];
      const want = recordedAnswer('tcpdump', capture, expr).filter((i) => !run.refused.includes(i));
      if (!same(run.passed, want)) differ.push(`'${expr}': tcpdump ${JSON.stringify(want)}, xdplab tc ${JSON.stringify(run.passed)}`);
    }
    expect(differ).toEqual([]);
  });
});

describe.each(['xdp', 'tc'] as const)('the kernel, %s', (hook) => {
  const kind = hook === 'xdp' ? 'kernel' : 'kernelTc';
  it(`the kernel's verdicts (BPF_PROG_TEST_RUN of the ${hook} object) are xdplab's, every capture${noKernel ? ` (recorded; the live kernel cannot be asked: ${noKernel})` : ' (live and recorded)'}`, () => {
    const differ: string[] = [];
    const all = NAMES.flatMap((n) => packets[n]);
    for (const expr of EXPRESSIONS) {
      const live = noKernel ? undefined : kernelRun((hook === 'xdp' ? compiled : compiledTc).get(expr)!, all);
      let from = 0;
      for (const capture of NAMES) {
        const n = packets[capture].length;
        const mine = (list: number[]): number[] => list.filter((i) => i >= from && i < from + n).map((i) => i - from);
        const got = xdplab(expr, hook)[capture];
        let kernel: number[];
        if (live === undefined) {
          kernel = recordedAnswer(kind, capture, expr);
        } else {
          kernel = mine(live.passed);
          keep(kind, capture, expr, kernel);
          if (!same(mine(live.refused), got.refused)) differ.push(`${capture} '${expr}': the kernel refused ${JSON.stringify(mine(live.refused))}, xdplab ${JSON.stringify(got.refused)}`);
          if (!RECORDING && !same(kernel, recordedAnswer(kind, capture, expr))) differ.push(`${capture} '${expr}': the kernel now ${JSON.stringify(kernel)}, recorded otherwise`);
        }
        if (!same(got.passed, kernel)) differ.push(`${capture} '${expr}': kernel ${JSON.stringify(kernel)}, xdplab ${JSON.stringify(got.passed)}`);
        from += n;
      }
    }
    expect(differ).toEqual([]);
  }, 600_000);
});
