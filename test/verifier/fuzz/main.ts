/**
 * The fuzzer's command line (run through scripts/verifier-fuzz.mjs, as root):
 *
 *   node scripts/verifier-fuzz.mjs [--seed N] [--count N] [--families a,b] [--kinds xdp,tc]
 *                                  [--caps root,bpf] [--mutate 0.4] [--no-shrink] [--out DIR]
 *   node scripts/verifier-fuzz.mjs --check FILE [--caps root] [--log|--log2]   (one reproducer, both answers)
 *   node scripts/verifier-fuzz.mjs --add NAME FILE WHY     (a reproducer into the regression table, all re-recorded)
 *   node scripts/verifier-fuzz.mjs --record                (test/fixtures/verifier/regressions.json re-recorded)
 *
 * --count is per family and program kind; `ctxtable` (every context offset, size and access)
 * is a family of its own, not random. The report (summary.txt, class-NNN.txt reproducers,
 * disagreements.json) goes to --out, /tmp/xdplab-vfuzz by default.
 */
import { execSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadCollectionSpec } from '../../../src/spec/loader.js';
import { verifyProgram } from '../../../src/verifier/index.js';
import path from 'node:path';
import type { Regression } from './regressions.js';
import { kernelLoadInsns } from '../../support/kernel-insns.js';
import type { Caps } from '../../support/kernel-verify.js';
import { FAMILIES } from './gen.js';
import { ratioSummary, runFuzz, xdplabAnswer } from './fuzz.js';
import { fromText, toRaw } from './program.js';
import type { ProgKind } from './program.js';


function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
}

function cpus(): number {
  const possible = readFileSync('/sys/devices/system/cpu/possible', 'utf8').trim();
  const m = /(\d+)$/.exec(possible);
  return m ? Number(m[1]) + 1 : 1;
}

const REGRESSIONS = path.join(process.env.XDPLAB_REPO_ROOT ?? '.', 'test/fixtures/verifier/regressions.json');

interface RegressionFile {
  kernel: string;
  programs: Regression[];
}

/** Ask the kernel again about every regression program (and add one: --add NAME FILE WHY). */
function record(): void {
  const file: RegressionFile = existsSync(REGRESSIONS) ? JSON.parse(readFileSync(REGRESSIONS, 'utf8')) : { kernel: '', programs: [] };
  const add = arg('add', '');
  if (add) {
    const [name, source, why] = process.argv.slice(process.argv.indexOf('--add') + 1);
    const text = readFileSync(source, 'utf8').split('\n').filter((l) => !l.startsWith('#')).join('\n').trim() + '\n';
    file.programs = file.programs.filter((p) => p.name !== name);
    file.programs.push({ name, why, text, root: undefined!, bpf: undefined! });
  }
  for (const caps of ['root', 'bpf'] as const) {
    const answers = kernelLoadInsns(file.programs.map((p) => toRaw(fromText(p.text))), caps);
    file.programs.forEach((p, i) => {
      const k = answers[i];
      if (k.setupError) throw new Error(`${p.name}: ${k.setupError}`);
      p[caps] = { accepted: k.accepted, errno: k.errno, error: k.error, insns_processed: k.insnsProcessed };
    });
  }
  file.kernel = execSync('uname -r', { encoding: 'utf8' }).trim();
  file.programs.sort((a, b) => a.name.localeCompare(b.name));
  writeFileSync(REGRESSIONS, JSON.stringify(file, null, 1) + '\n');
  console.log(`${file.programs.length} programs recorded in ${REGRESSIONS}`);
}

/** insns_processed of xdplab against the kernel's record, on the corpus's accepted programs. */
function corpusInsns(): void {
  const root = process.env.XDPLAB_REPO_ROOT ?? '.';
  const dir = path.join(root, 'test/fixtures/verifier');
  const rec = JSON.parse(readFileSync(path.join(dir, 'kernel.json'), 'utf8')).programs;
  let exact = 0;
  let total = 0;
  const off: string[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.bpf.o')).sort()) {
    const spec = loadCollectionSpec(readFileSync(path.join(dir, file)), file);
    for (const program of spec.programs.values()) {
      const r = rec[`${file}/${program.name}`];
      if (!r) continue;
      for (const caps of ['root', 'bpf'] as const) {
        if (!r[caps].accepted || r[caps].insns_processed === null) continue;
        const x = verifyProgram(spec, program, { caps, cpus: 2 });
        total++;
        if (x.insnsProcessed === r[caps].insns_processed) exact++;
        else off.push(`${file}/${program.name} [${caps}]: kernel ${r[caps].insns_processed} xdplab ${x.insnsProcessed}`);
      }
    }
  }
  console.log(`${exact}/${total} accepted corpus programs with the kernel's exact count`);
  for (const o of off) console.log(`  ${o}`);
}

export function main(): void {
  if (process.argv.includes('--corpus-insns')) {
    corpusInsns();
    return;
  }
  if (process.argv.includes('--record') || process.argv.includes('--add')) {
    record();
    return;
  }
  const check = arg('check', '');
  const capsList = arg('caps', 'root,bpf').split(',') as Caps[];
  if (check) {
    const p = fromText(readFileSync(check, 'utf8'));
    for (const caps of capsList) {
      const logLevel = process.argv.includes('--log2') ? 2 : process.argv.includes('--log') ? 1 : 0;
      const [k] = kernelLoadInsns([toRaw(p)], caps, logLevel || 1, 0);
      const x = xdplabAnswer(p, caps, cpus(), logLevel);
      console.log(`[${caps}] kernel: ${k.accepted ? 'accepts' : `refuses (${k.errno}) ${k.error}`} insns=${k.insnsProcessed}${k.setupError ? ` setup: ${k.setupError}` : ''}`);
      console.log(`[${caps}] xdplab: ${x.accepted ? 'accepts' : `refuses (${x.errno}) ${x.error}`} insns=${x.insnsProcessed}${x.crash ? ` crash: ${x.crash}` : ''}`);
      if (logLevel) {
        console.log(`---- kernel log [${caps}]\n${k.log}---- xdplab log [${caps}]\n${x.log}`);
      }
    }
    return;
  }
  const families = arg('families', ['ctxtable', 'helpertable', ...Object.keys(FAMILIES)].join(',')).split(',');
  const { disagreements, stats } = runFuzz({
    seed: Number(arg('seed', '1')), count: Number(arg('count', '200')), families, kinds: arg('kinds', 'xdp,tc').split(',') as ProgKind[],
    caps: capsList, mutateRate: Number(arg('mutate', '0.4')), shrink: !process.argv.includes('--no-shrink'),
    outDir: arg('out', '/tmp/xdplab-vfuzz'), cpus: cpus(), log: (l) => console.log(l),
  });
  console.log(ratioSummary(stats));
  const classes = new Map<string, number>();
  for (const d of disagreements) classes.set(d.signature, (classes.get(d.signature) ?? 0) + 1);
  console.log(`${disagreements.length} disagreements in ${classes.size} classes`);
  for (const [sig, n] of [...classes].sort((a, b) => b[1] - a[1]).slice(0, 60)) console.log(`  ${n}× ${sig}`);
}
