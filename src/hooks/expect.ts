/**
 * Verdict expectations: what one program must return for a packet, written in the capture
 * (a pcapng packet comment line `expect: XDP_DROP — blocked port 23`) or in a JSON file
 * (`{"12": "XDP_DROP", "13-20": "XDP_REDIRECT ifindex 3"}`, packets counted from 1).
 *
 *   expect: <VERDICT> [ifindex N | cpu N | xsk N] [— note]
 *
 * VERDICT is any XDP action (XDP_ABORTED … XDP_REDIRECT) or TC action (TC_ACT_OK …
 * TC_ACT_TRAP) by its uapi name; a redirect may name where it goes: `ifindex N` (bpf_redirect,
 * or the devmap entry's ifindex), `cpu N` (a cpumap), `xsk N` (an xskmap's queue). Text after
 * an em dash (—) or `#` is a note for people. A comment's other lines are left alone, and an
 * `expect:` line about the network (`expect: delivered …`, net/outcomes.ts) is not a verdict.
 */
import { XdplabError } from '../errors.js';
import { TC_ACT } from '../uapi/pkt-cls.js';
import { XDP_ACTIONS } from './xdp.js';

/** Where a redirect went, as an expectation names it. */
export type RedirectPlace = 'ifindex' | 'cpu' | 'xsk';

export interface VerdictExpectation {
  /** The verdict's uapi name (XDP_DROP, TC_ACT_SHOT …). */
  verdict: string;
  redirect?: { place: RedirectPlace; target: number };
  /** The expectation as written (without its note). */
  text: string;
}

/** What a program did with a packet, as the checks compare it. */
export interface VerdictOutcome {
  verdict: string;
  redirect?: { kind: string; target: number };
}

const VERDICTS = new Set<string>([...XDP_ACTIONS, ...Object.keys(TC_ACT)]);
const PLACES: Record<string, RedirectPlace> = { ifindex: 'ifindex', cpu: 'cpu', xsk: 'xsk' };
/** The redirect kinds (helpers/env.ts RedirectTarget) each place matches. */
const KINDS: Record<RedirectPlace, string[]> = { ifindex: ['ifindex', 'devmap'], cpu: ['cpumap'], xsk: ['xskmap'] };
const EXPECT_LINE = /^\s*expect:\s*(.*)$/;

export const isVerdictName = (word: string): boolean => VERDICTS.has(word);

/** The expectation without its note: text before an em dash or `#`. */
export const withoutNote = (text: string): string => text.split(/\s+—|\s+#|^—|^#/)[0].trim();

/** Parse `XDP_DROP`, `XDP_REDIRECT ifindex 3` …; errors say what was wrong (the caller adds where). */
export function parseVerdictExpectation(written: string): VerdictExpectation {
  const text = withoutNote(written);
  const words = text.split(/\s+/).filter(Boolean);
  const [verdict, place, target, ...rest] = words;
  if (!verdict) throw new XdplabError('BAD_INPUT', 'expect: nothing expected (write a verdict such as XDP_DROP or TC_ACT_SHOT)');
  if (!VERDICTS.has(verdict)) throw new XdplabError('BAD_INPUT', `expect: ${JSON.stringify(verdict)} is not an XDP or TC verdict (XDP_DROP, XDP_PASS, TC_ACT_SHOT …)`);
  if (place === undefined) return { verdict, text };
  if (!verdict.endsWith('REDIRECT')) throw new XdplabError('BAD_INPUT', `expect: ${verdict} takes nothing after it (only a redirect names where it goes), got ${JSON.stringify(place)}`);
  const kind = PLACES[place];
  const n = Number(target);
  if (!kind || target === undefined || !Number.isInteger(n) || n < 0 || n > 0xffffffff || rest.length > 0) {
    throw new XdplabError('BAD_INPUT', `expect: ${JSON.stringify(text)}: a redirect names its target as "ifindex N", "cpu N" or "xsk N"`);
  }
  return { verdict, redirect: { place: kind, target: n }, text };
}

/** The text after `expect:` of each of a comment's expectation lines whose first word is (or is not) a verdict name. */
function expectLines(comment: string | undefined, verdicts: boolean): string[] {
  const out: string[] = [];
  for (const line of comment?.split('\n') ?? []) {
    const m = EXPECT_LINE.exec(line);
    if (m && isVerdictName(m[1].trim().split(/\s+/)[0]) === verdicts) out.push(m[1]);
  }
  return out;
}

/** The `expect:` lines of a comment that state a verdict (the first word a verdict name), as written. */
export const verdictLines = (comment: string | undefined): string[] => expectLines(comment, true);

/** The `expect:` lines of a comment that do not start with a verdict name (network outcomes). */
export const otherExpectLines = (comment: string | undefined): string[] => expectLines(comment, false);

/** Whether an outcome is what was expected. */
export function meetsVerdict(expected: VerdictExpectation, got: VerdictOutcome): boolean {
  if (expected.verdict !== got.verdict) return false;
  const want = expected.redirect;
  if (!want) return true;
  return got.redirect !== undefined && KINDS[want.place].includes(got.redirect.kind) && got.redirect.target === want.target;
}

/** An outcome in the expectation's words: `XDP_REDIRECT ifindex 3`, `XDP_DROP`. */
export function outcomeText(got: VerdictOutcome): string {
  const r = got.redirect;
  if (!r || !got.verdict.endsWith('REDIRECT')) return got.verdict;
  const place = Object.entries(KINDS).find(([, kinds]) => kinds.includes(r.kind))?.[0] ?? r.kind;
  return `${got.verdict} ${place} ${r.target}`;
}
