/**
 * The kernel's verifier as the reference for xdplab's: test/support/kernel-verify.c, built
 * with gcc and libbpf on first use (cached under the OS temporary directory by the source's
 * hash), loads one program of an object at a time, as root or with CAP_BPF and CAP_NET_ADMIN
 * alone, and reports the verdict and the verifier's log. kernelErrorLine() reduces a log to
 * the one line that says why the program was refused (test/fixtures/verifier/README.md
 * states the rule; xdplab's verifier prints the same line).
 *
 * kernelVerifyUnavailable() says why the kernel cannot be asked (not root, no gcc, no libbpf
 * headers, no BPF filesystem…), or undefined when it can.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildCTool, gccUnavailable } from './c-tool.js';
import { kernelUnavailable } from './kernel.js';

/** `root`: uid 0 with every capability. `bpf`: CAP_BPF and CAP_NET_ADMIN only (no CAP_PERFMON, no CAP_SYS_ADMIN). */
export type Caps = 'root' | 'bpf';

export interface KernelVerdict {
  program: string;
  accepted: boolean;
  /** Positive errno of the refusal; 0 when accepted. */
  errno: number;
  /** The verifier's log (its last `tailBytes` when asked for a tail). */
  log: string;
  /** N of the log's "processed N insns" line, null without one. */
  insnsProcessed: number | null;
  /** Set when libbpf failed before asking the kernel (the log is then empty). */
  libbpfError?: string;
  /** The log overflowed its buffer: the verdict comes from a second load at log level 4. */
  logTruncated?: boolean;
}

export interface VerifyOptions {
  /** The verifier's log level: 1 (default), 2 (every state), 4 (statistics and errors only). */
  logLevel?: number;
  /** Keep only the last N bytes of each log (the recorder's --tail-bytes). */
  tailBytes?: number;
  /** Load the object's programs together (bpftool prog loadall), as tail-call chains need. */
  together?: boolean;
}

const SOURCE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'kernel-verify.c');
const LIBBPF_HEADER = '/usr/include/bpf/libbpf.h';

let reason: string | null | undefined;
let binary: string | undefined;

/** Why the kernel's verifier cannot be asked here, or undefined when it can. */
export function kernelVerifyUnavailable(): string | undefined {
  if (reason === undefined) reason = probe() ?? null;
  return reason ?? undefined;
}

function probe(): string | undefined {
  const kernel = kernelUnavailable();
  if (kernel) return kernel;
  const noGcc = gccUnavailable(SOURCE);
  if (noGcc) return noGcc;
  if (!existsSync(LIBBPF_HEADER)) return `no libbpf headers (${LIBBPF_HEADER}: apt install libbpf-dev)`;
  try {
    binary = buildCTool(SOURCE, ['-lbpf']);
  } catch (e) {
    return (e as Error).message;
  }
  return undefined;
}

function tool(): string {
  const why = kernelVerifyUnavailable();
  if (why) throw new Error(`the kernel's verifier cannot be asked: ${why}`);
  return binary!;
}

interface RawVerdict {
  program: string;
  accepted: boolean;
  errno: number;
  log: string;
  insns_processed: number | null;
  libbpf_error?: string;
  log_truncated?: boolean;
}

function run(args: string[]): unknown {
  const r = spawnSync(tool(), args, { encoding: 'utf8', maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`kernel-verify ${args.join(' ')}: ${(r.error?.message ?? r.stderr).trim()}`);
  return JSON.parse(r.stdout);
}

function optionArgs(caps: Caps, options: VerifyOptions): string[] {
  const args = ['--caps', caps, '--log-level', String(options.logLevel ?? 1)];
  if (options.tailBytes !== undefined) args.push('--tail-bytes', String(options.tailBytes));
  if (options.together) args.push('--together');
  return args;
}

const verdict = (raw: RawVerdict): KernelVerdict => ({
  program: raw.program,
  accepted: raw.accepted,
  errno: raw.errno,
  log: raw.log,
  insnsProcessed: raw.insns_processed,
  ...(raw.libbpf_error !== undefined ? { libbpfError: raw.libbpf_error } : {}),
  ...(raw.log_truncated ? { logTruncated: true } : {}),
});

/** The kernel's verdict on one program of an object, loaded alone. */
export function kernelVerify(objectPath: string, program: string, caps: Caps, options: VerifyOptions = {}): KernelVerdict {
  return verdict(run([...optionArgs(caps, options), objectPath, program]) as RawVerdict);
}

/** The kernel's verdicts on several programs of an object, each loaded alone, in one process. */
export function kernelVerifyMany(objectPath: string, programs: readonly string[], caps: Caps, options: VerifyOptions = {}): KernelVerdict[] {
  if (programs.length === 0) return [];
  const out = run([...optionArgs(caps, options), objectPath, ...programs]);
  return (Array.isArray(out) ? out : [out]).map((raw) => verdict(raw as RawVerdict));
}

/** The programs libbpf finds in an object, with their sections. */
export function kernelListPrograms(objectPath: string): { name: string; section: string }[] {
  return run(['--list', objectPath]) as { name: string; section: string }[];
}

// ---- the error line ------------------------------------------------------------------------

/** A line of the instruction trace: `12: (71) r3 = *(u8 *)(r2 +14)`, or `3: BUG_db` for an opcode the disassembler lacks. */
const INSN_LINE = /^\d+: (\([0-9a-f]{2}\)|BUG_)/;
/** A jump's disassembly ends at its target: `… goto pc-2`, `gotol pc+9`, `may_goto pc+2`, `call pc+4`. */
const JUMP_TAIL = /^(\d+: \([0-9a-f]{2}\) .*?\b(?:goto|gotol|may_goto|call) pc[+-]\d+)(?!\d)(.*)$/;
/**
 * Lines that are not messages: register and stack state (`12: R1=…`, `12: frame1: …`,
 * `from 3 to 5: …`, ` R1=…` and ` frame1: …` below `caller:`, `callee:`, `returning from
 * callee:`, `to caller at 7:`, `cur state: …`, `old state: …`), source lines (`; …`),
 * precision tracking (`mark_precise: …`, log level 2) and the narration of global functions
 * (`Validating f() func#1...`, `Func#1 ('f') is global and assumed valid.`).
 */
const STATE_LINE =
  /^(\d+: (R\d+|fp-?\d+|frame\d+)|from \d+ to \d+|\s+(R\d+|fp-?\d+|frame\d+)|caller:$|callee:$|returning from callee:$|to caller at \d+:$|cur state:|old state:|; |mark_precise:|Validating \S+ func#\d+\.\.\.$|Func#\d+ \(.*\) is global and assumed valid\.$)/;
/** The statistics at the end of every log. */
const STATS_LINE = /^(processed \d+ insns \(limit|verification time \d+ usec|stack depth )/;
/** The statistics continuing a message that lacked its newline. */
const STATS_JOINED = /(?<=.)(processed \d+ insns \(limit|verification time \d+ usec)/;

/**
 * The log as lines, each message on its own: the kernel sometimes continues a line it has
 * not ended — a message written after a jump when the verifier resumes a pending branch (the
 * log is cut back to the branch point, just after the jump's text), and a message without its
 * newline followed by the statistics.
 */
function logLines(log: string): string[] {
  const lines: string[] = [];
  for (const raw of log.split('\n')) {
    for (const part of raw.replace(STATS_JOINED, '\n$1').split('\n')) {
      const jump = JUMP_TAIL.exec(part);
      if (jump && jump[2].trim() !== '' && !/^\s*;/.test(jump[2])) lines.push(jump[1], jump[2].trim());
      else lines.push(part);
    }
  }
  return lines;
}

/**
 * The line that says why the kernel refused a program: after the last instruction-trace line,
 * the first line that is not register state, a source line, narration or the statistics; the
 * log's first such line when there is no instruction trace (errors found before instructions
 * are simulated, e.g. `unreachable insn 2`, and every error at log level 4). '' for an empty
 * log or one with no such line.
 */
export function kernelErrorLine(log: string): string {
  const lines = logLines(log);
  while (lines.length > 0 && (lines[lines.length - 1].trim() === '' || STATS_LINE.test(lines[lines.length - 1]))) lines.pop();
  let last = -1;
  lines.forEach((line, i) => {
    if (INSN_LINE.test(line)) last = i;
  });
  for (const line of lines.slice(last + 1)) {
    if (line.trim() === '' || STATE_LINE.test(line) || STATS_LINE.test(line)) continue;
    return line.trim();
  }
  return '';
}

/** The last `n` lines of a log, without trailing empty lines. */
export function logTail(log: string, n = 30): string[] {
  const lines = log.split('\n');
  while (lines.length > 0 && lines[lines.length - 1].trim() === '') lines.pop();
  return lines.slice(-n);
}
