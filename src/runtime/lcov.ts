/**
 * Coverage of BPF C code as an lcov tracefile (the format of geninfo(1): TN/SF/FN/FNDA/BRDA/DA
 * records per source file), which genhtml, Codecov and every CI coverage tool read. The counts
 * come from the engine (vm/coverage.ts: exact per instruction and per side of each conditional
 * jump); the lines from the object's BTF line info. A line's count is the most any of its
 * instructions ran (a line whose code ran at all counts as run); functions count their entry;
 * each conditional jump is a branch with two sides, jumped and fell through. Programs of one
 * object share source files: their counts add up.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { ProgramSpec } from '../spec/types.js';
import { sourceLineAt } from '../spec/line-info.js';
import type { Coverage, ImageCoverage } from '../vm/coverage.js';
import { Program } from './program.js';

/** One source file's counts. */
interface FileCounts {
  lines: Map<number, number>;
  functions: Map<string, { line: number; count: number }>;
  /** line → branches, each [jumped, fell through] (undefined sides: the jump never ran). */
  branches: Map<number, Array<[number, number] | undefined>>;
}

export interface LcovOptions {
  /** The path to write in SF: for a source file as line info names it (default: as named). */
  sourcePath?: (file: string, program: ProgramSpec) => string;
  /** The test name (TN). */
  testName?: string;
}

const LINE = /^(.*):(\d+):/;

/** The lcov tracefile of what ran, as text. Images without line info (no BTF) add nothing. */
export function formatLcov(coverage: Coverage, options: LcovOptions = {}): string {
  const files = new Map<string, FileCounts>();
  for (const cover of coverage.all) {
    const program = Program.of(cover.image);
    if (program) addImage(files, cover, program.spec, options.sourcePath ?? ((file) => file));
  }
  // geninfo's test names are word characters only ("firewall.bpf.o" → "firewall_bpf_o").
  const testName = (options.testName ?? '').replace(/\W/g, '_');
  return [...files.keys()].sort().map((file) => record(file, files.get(file)!, testName)).join('');
}

function fileOf(files: Map<string, FileCounts>, name: string): FileCounts {
  let f = files.get(name);
  if (!f) files.set(name, (f = { lines: new Map(), functions: new Map(), branches: new Map() }));
  return f;
}

function addImage(files: Map<string, FileCounts>, cover: ImageCoverage, spec: ProgramSpec, sourcePath: (file: string, program: ProgramSpec) => string): void {
  const lineOf = (pc: number): { file: FileCounts; line: number } | undefined => {
    const m = LINE.exec(sourceLineAt(spec, pc) ?? '');
    const line = m ? Number(m[2]) : 0;
    return line > 0 ? { file: fileOf(files, sourcePath(m![1], spec)), line } : undefined;
  };
  // Lines: the most any instruction of the line ran, per program; programs add up.
  const perProgram = new Map<FileCounts, Map<number, number>>();
  for (let pc = 0; pc < cover.image.slots; pc++) {
    if (!cover.image.insnAt[pc]) continue;
    const at = lineOf(pc);
    if (!at) continue;
    let lines = perProgram.get(at.file);
    if (!lines) perProgram.set(at.file, (lines = new Map()));
    lines.set(at.line, Math.max(lines.get(at.line) ?? 0, cover.counts[pc]));
    if (cover.isBranch[pc]) {
      const list = at.file.branches.get(at.line) ?? [];
      const ran = cover.taken[pc] + cover.notTaken[pc] > 0;
      list.push(ran ? [cover.taken[pc], cover.notTaken[pc]] : undefined);
      at.file.branches.set(at.line, list);
    }
  }
  for (const [file, lines] of perProgram) {
    for (const [line, count] of lines) file.lines.set(line, (file.lines.get(line) ?? 0) + count);
  }
  for (const [start, name] of spec.functions) {
    const at = lineOf(start) ?? firstLineFrom(spec, start, lineOf);
    if (!at) continue;
    const fn = at.file.functions.get(name) ?? { line: at.line, count: 0 };
    fn.count += cover.counts[start];
    at.file.functions.set(name, fn);
  }
}

/** A function whose first instruction has no line: the first line of its body. */
function firstLineFrom(spec: ProgramSpec, start: number, lineOf: (pc: number) => { file: FileCounts; line: number } | undefined) {
  for (let pc = start + 1; pc < spec.instructions.length + 1 && !spec.functions.has(pc); pc++) {
    const at = spec.lineInfo.has(pc) ? lineOf(pc) : undefined;
    if (at) return at;
  }
  return undefined;
}

function record(file: string, f: FileCounts, testName: string): string {
  const out = [`TN:${testName}`, `SF:${file}`];
  const functions = [...f.functions].sort((a, b) => a[1].line - b[1].line);
  for (const [name, fn] of functions) out.push(`FN:${fn.line},${name}`);
  for (const [name, fn] of functions) out.push(`FNDA:${fn.count},${name}`);
  out.push(`FNF:${functions.length}`, `FNH:${functions.filter(([, fn]) => fn.count > 0).length}`);
  let found = 0;
  let hit = 0;
  let block = 0;
  for (const line of [...f.branches.keys()].sort((a, b) => a - b)) {
    for (const sides of f.branches.get(line)!) {
      for (let side = 0; side < 2; side++) {
        const taken = sides === undefined ? '-' : String(sides[side]);
        out.push(`BRDA:${line},${block},${side},${taken}`);
        found++;
        if (sides !== undefined && sides[side] > 0) hit++;
      }
      block++;
    }
  }
  out.push(`BRF:${found}`, `BRH:${hit}`);
  const lines = [...f.lines].sort((a, b) => a[0] - b[0]);
  for (const [line, count] of lines) out.push(`DA:${line},${count}`);
  out.push(`LF:${lines.length}`, `LH:${lines.filter(([, c]) => c > 0).length}`, 'end_of_record');
  return out.join('\n') + '\n';
}

/**
 * A source file as line info names it (BTF keeps a header's name without its directory),
 * found beside the object, in a directory next to the object's (../include/x.h), or one up;
 * left as named when it is in none of them.
 */
export function sourcePathBeside(objectPath: string): (file: string) => string {
  const dir = path.dirname(objectPath);
  const siblings = readdirSafe(path.join(dir, '..')).map((d) => path.join(dir, '..', d));
  return (file) => {
    if (path.isAbsolute(file)) return file;
    const found = [dir, ...siblings, path.join(dir, '..')].map((d) => path.join(d, file)).find((f) => existsSync(f));
    return found ?? file;
  };
}

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();
  } catch {
    return [];
  }
}
