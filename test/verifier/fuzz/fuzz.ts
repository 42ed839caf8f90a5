/**
 * The differential driver: generated programs through the kernel's verifier
 * (test/support/kernel-load-insns.c, both capability sets, many programs a process) and
 * through xdplab's (verifyProgram on a hand-made CollectionSpec); verdicts, errnos, first
 * error lines and, for accepted programs, processed-instruction counts compared. Every
 * disagreement is shrunk (instructions dropped while it persists) and written as a
 * reproducer with both answers.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { verifyProgram } from '../../../src/verifier/index.js';
import { kernelLoadInsns, type KernelInsnsAnswer } from '../../support/kernel-insns.js';
import type { Caps } from '../../support/kernel-verify.js';
import { Rng } from './builder.js';
import { FAMILIES, ctxTable, generate, helperTable } from './gen.js';
import { deleteInsn, insnStarts, mutate } from './mutate.js';
import { toRaw, toSpec, toText, type FuzzProgram, type ProgKind } from './program.js';

export interface Answer {
  accepted: boolean;
  errno: number;
  error: string;
  insnsProcessed: number | null;
  crash?: string;
  log?: string;
}

/** Programs the kernel needed more instructions for than xdplab is given time for. */
export const XDPLAB_INSN_BUDGET = 300_000;

/** xdplab's verdict on a program. */
export function xdplabAnswer(p: FuzzProgram, caps: Caps, cpus: number, logLevel = 0): Answer {
  try {
    const { spec, program } = toSpec(p);
    const res = verifyProgram(spec, program, { caps, cpus, logLevel });
    return { accepted: res.accepted, errno: res.errno, error: res.error ?? '', insnsProcessed: res.insnsProcessed, ...(logLevel ? { log: res.log } : {}) };
  } catch (err) {
    return { accepted: false, errno: -1, error: '', insnsProcessed: null, crash: String((err as Error).stack ?? err).split('\n').slice(0, 4).join(' | ') };
  }
}

const kernelAnswer = (k: KernelInsnsAnswer): Answer => ({ accepted: k.accepted, errno: k.errno, error: k.error, insnsProcessed: k.insnsProcessed });

/** What differs, or undefined when both verifiers agree. */
export function difference(k: Answer, x: Answer): string | undefined {
  if (x.crash) return 'crash';
  if (k.accepted !== x.accepted) return 'verdict';
  if (k.errno !== x.errno) return 'errno';
  if (!k.accepted && k.error !== x.error) return 'error';
  return undefined;
}

const normalize = (s: string): string => s.replace(/-?\d+/g, 'N').replace(/0xN[0-9a-f]*/g, 'N');
const describe = (a: Answer): string => (a.crash ? `crash ${a.crash.split(' | ')[0]}` : a.accepted ? 'accepts' : `refuses (${a.errno}) ${a.error}`);

/** A disagreement's class, for grouping: what differs and both answers with numbers blurred. */
export const signature = (k: Answer, x: Answer): string =>
  `${difference(k, x)}: kernel ${normalize(describe(k))} | xdplab ${normalize(describe(x))}`;

export interface Disagreement {
  id: string;
  family: string;
  caps: Caps;
  signature: string;
  kernel: Answer;
  xdplab: Answer;
  text: string;
  original: string;
}

export interface Stats {
  programs: number;
  compared: number;
  skipped: number;
  setupErrors: number;
  acceptedBoth: number;
  rejectedBoth: number;
  disagreements: number;
  ratios: { id: string; kernel: number; xdplab: number }[];
  /** The kernel's refusals, by error line with numbers blurred. */
  errors: Map<string, number>;
}

const newStats = (): Stats => ({ programs: 0, compared: 0, skipped: 0, setupErrors: 0, acceptedBoth: 0, rejectedBoth: 0, disagreements: 0, ratios: [], errors: new Map() });

/** FNV-1a of a string, to seed each program on its own. */
function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

export interface FuzzOptions {
  seed: number;
  count: number;
  families: string[];
  kinds: ProgKind[];
  caps: Caps[];
  mutateRate: number;
  shrink: boolean;
  outDir?: string;
  cpus: number;
  log?: (line: string) => void;
}

/** The programs of one family: `count` per program kind, each seeded from (seed, family, kind, i). */
export function familyPrograms(family: string, o: Pick<FuzzOptions, 'seed' | 'count' | 'kinds' | 'mutateRate'>): { id: string; program: FuzzProgram }[] {
  const out: { id: string; program: FuzzProgram }[] = [];
  const tables: Record<string, (kind: ProgKind) => FuzzProgram[]> = { ctxtable: ctxTable, helpertable: helperTable };
  if (tables[family]) {
    for (const kind of o.kinds) tables[family](kind).forEach((program, i) => out.push({ id: `${family}-${kind}-${i}`, program }));
    return out;
  }
  for (const kind of o.kinds) {
    for (let i = 0; i < o.count; i++) {
      const id = `${family}-${kind}-${o.seed}-${i}`;
      const rng = new Rng(hash(id));
      let program = generate(FAMILIES[family], rng, kind);
      if (rng.chance(o.mutateRate)) program = mutate(program, rng);
      out.push({ id, program });
    }
  }
  return out;
}

/** Drop instructions while the disagreement keeps its signature. */
export function shrink(p: FuzzProgram, caps: Caps, sig: string, cpus: number): { program: FuzzProgram; kernel: Answer; xdplab: Answer } | undefined {
  let best: { program: FuzzProgram; kernel: Answer; xdplab: Answer } | undefined;
  let cur = p;
  for (let round = 0; round < 200; round++) {
    const starts = insnStarts(cur.slots).reverse();
    const candidates = starts.map((at) => deleteInsn(cur, at)).filter((c) => c.slots.length > 0);
    if (candidates.length === 0) break;
    const answers = kernelLoadInsns(candidates.map(toRaw), caps);
    let found = false;
    for (let i = 0; i < candidates.length; i++) {
      const k = answers[i];
      if (k.setupError || (k.insnsProcessed ?? 0) > XDPLAB_INSN_BUDGET) continue;
      const ka = kernelAnswer(k);
      const xa = xdplabAnswer(candidates[i], caps, cpus);
      if (difference(ka, xa) && signature(ka, xa) === sig) {
        cur = candidates[i];
        best = { program: cur, kernel: ka, xdplab: xa };
        found = true;
        break;
      }
    }
    if (!found) break;
  }
  return best;
}

const BATCH = 400;

/** Run the families; returns the disagreements and per-family, per-caps statistics. */
export function runFuzz(o: FuzzOptions): { disagreements: Disagreement[]; stats: Map<string, Stats> } {
  const log = o.log ?? (() => undefined);
  const disagreements: Disagreement[] = [];
  const stats = new Map<string, Stats>();
  for (const family of o.families) {
    const programs = familyPrograms(family, o);
    for (const caps of o.caps) {
      const st = newStats();
      stats.set(`${family}/${caps}`, st);
      const t0 = Date.now();
      for (let at = 0; at < programs.length; at += BATCH) {
        const batch = programs.slice(at, at + BATCH);
        const kernel = kernelLoadInsns(batch.map((p) => toRaw(p.program)), caps);
        batch.forEach(({ id, program }, i) => {
          st.programs++;
          const k = kernel[i];
          if (k.setupError) { st.setupErrors++; return; }
          if ((k.insnsProcessed ?? 0) > XDPLAB_INSN_BUDGET) { st.skipped++; return; }
          const ka = kernelAnswer(k);
          const xa = xdplabAnswer(program, caps, o.cpus);
          st.compared++;
          if (!ka.accepted) st.errors.set(normalize(ka.error), (st.errors.get(normalize(ka.error)) ?? 0) + 1);
          const diff = difference(ka, xa);
          if (!diff) {
            if (ka.accepted) {
              st.acceptedBoth++;
              if (ka.insnsProcessed && xa.insnsProcessed) st.ratios.push({ id, kernel: ka.insnsProcessed, xdplab: xa.insnsProcessed });
            } else st.rejectedBoth++;
            return;
          }
          st.disagreements++;
          const sig = signature(ka, xa);
          const seen = disagreements.filter((d) => d.signature === sig).length;
          let small: ReturnType<typeof shrink>;
          if (o.shrink && seen < 3) small = shrink(program, caps, sig, o.cpus);
          disagreements.push({
            id, family, caps, signature: sig, kernel: small?.kernel ?? ka, xdplab: small?.xdplab ?? xa,
            text: toText(small?.program ?? program), original: toText(program),
          });
        });
      }
      log(`${family}/${caps}: ${st.programs} programs, ${st.compared} compared, ${st.disagreements} disagree, `
        + `${st.acceptedBoth} accepted / ${st.rejectedBoth} refused by both, ${st.skipped} skipped, ${st.setupErrors} setup errors (${Date.now() - t0} ms)`);
    }
  }
  if (o.outDir) writeReport(o.outDir, disagreements, stats);
  return { disagreements, stats };
}

function quantile(sorted: number[], q: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : NaN;
}

export function ratioSummary(stats: Map<string, Stats>): string {
  const all = [...stats.values()].flatMap((s) => s.ratios);
  const r = all.map((x) => x.xdplab / x.kernel).sort((a, b) => a - b);
  const far = all.filter((x) => x.xdplab / x.kernel > 2 || x.xdplab / x.kernel < 0.5);
  return `insns_processed xdplab/kernel over ${r.length} accepted programs: min ${quantile(r, 0).toFixed(2)} p10 ${quantile(r, 0.1).toFixed(2)} `
    + `median ${quantile(r, 0.5).toFixed(2)} p90 ${quantile(r, 0.9).toFixed(2)} max ${quantile(r, 1).toFixed(2)}; `
    + `exact ${all.filter((x) => x.xdplab === x.kernel).length}; beyond 2x: ${far.length}`
    + (far.length ? '\n' + far.slice(0, 40).map((x) => `  ${x.id}: kernel ${x.kernel} xdplab ${x.xdplab}`).join('\n') : '');
}

function writeReport(dir: string, disagreements: Disagreement[], stats: Map<string, Stats>): void {
  mkdirSync(dir, { recursive: true });
  const groups = new Map<string, Disagreement[]>();
  for (const d of disagreements) groups.set(d.signature, [...(groups.get(d.signature) ?? []), d]);
  const lines: string[] = [];
  for (const [key, s] of stats) {
    lines.push(`${key}: ${s.programs} programs, ${s.compared} compared, ${s.disagreements} disagree, ${s.acceptedBoth} accepted / ${s.rejectedBoth} refused by both, ${s.skipped} skipped, ${s.setupErrors} setup errors`);
  }
  for (const [key, s] of stats) {
    const top = [...s.errors].sort((a, b) => b[1] - a[1]).slice(0, 8);
    lines.push(`${key} kernel refusals: ${top.map(([e, n]) => `${n}× ${e}`).join(' ; ')}`);
  }
  lines.push('', ratioSummary(stats), '', `${disagreements.length} disagreements in ${groups.size} classes:`);
  const sorted = [...groups.entries()].sort((a, b) => b[1].length - a[1].length);
  sorted.forEach(([sig, ds], gi) => {
    lines.push(`  [${gi}] ${ds.length}× ${sig}`);
    const d = ds.reduce((a, b) => (a.text.length <= b.text.length ? a : b));
    writeFileSync(path.join(dir, `class-${String(gi).padStart(3, '0')}.txt`), [
      `# ${sig}`, `# ${d.id} caps=${d.caps} (${ds.length} programs in this class: ${ds.slice(0, 10).map((x) => `${x.id}/${x.caps}`).join(' ')})`,
      `# kernel: ${describe(d.kernel)} insns=${d.kernel.insnsProcessed}`, `# xdplab: ${describe(d.xdplab)} insns=${d.xdplab.insnsProcessed}`,
      d.text, '# original:', ...d.original.split('\n').map((l) => `# ${l}`),
    ].join('\n'));
  });
  writeFileSync(path.join(dir, 'summary.txt'), lines.join('\n') + '\n');
  writeFileSync(path.join(dir, 'disagreements.json'), JSON.stringify(disagreements, null, 1));
}
