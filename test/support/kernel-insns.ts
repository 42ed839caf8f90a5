/**
 * The kernel's verifier on raw instruction streams: test/support/kernel-load-insns.c, built
 * with gcc on first use (cached under the OS temporary directory by the source's hash), loads
 * many programs in one process — each with its own maps, and BTF func_info when it has
 * callbacks — as root or with CAP_BPF and CAP_NET_ADMIN alone, and reports each verdict and
 * log. The verifier fuzzer (test/verifier/fuzz) and the regression test use it.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildCTool, gccUnavailable } from './c-tool.js';
import { kernelUnavailable } from './kernel.js';
import { kernelErrorLine, type Caps } from './kernel-verify.js';

export interface RawMap {
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
  /** Maps of maps: the index of an earlier map in the list, the inner map's template. */
  inner?: number;
}

export interface RawProgram {
  progType: number;
  expectedAttachType: number;
  progFlags: number;
  maps: readonly RawMap[];
  /** The instruction slots, 8 bytes each (an lddw takes two). */
  insns: Uint8Array;
  /** A raw BTF blob and the program's func_info (insn_off, type_id) pairs. */
  btf?: Uint8Array;
  funcInfo?: readonly (readonly [number, number])[];
}

export interface KernelInsnsAnswer {
  accepted: boolean;
  /** Positive errno of the refusal, 0 when accepted. */
  errno: number;
  log: string;
  /** kernelErrorLine(log): '' when accepted. */
  error: string;
  /** N of the log's "processed N insns", null without one. */
  insnsProcessed: number | null;
  /** The loader could not set the program up (a map or the BTF was refused): no verdict. */
  setupError?: string;
}

/** Beside this file; scripts that bundle it name the repository in XDPLAB_REPO_ROOT. */
const SOURCE = process.env.XDPLAB_REPO_ROOT
  ? path.join(process.env.XDPLAB_REPO_ROOT, 'test/support/kernel-load-insns.c')
  : path.join(path.dirname(fileURLToPath(import.meta.url)), 'kernel-load-insns.c');

let reason: string | null | undefined;
let binary: string | undefined;

/** Why raw programs cannot be handed to the kernel here, or undefined when they can. */
export function kernelInsnsUnavailable(): string | undefined {
  if (reason === undefined) reason = probe() ?? null;
  return reason ?? undefined;
}

function probe(): string | undefined {
  const kernel = kernelUnavailable();
  if (kernel) return kernel;
  const noGcc = gccUnavailable(SOURCE);
  if (noGcc) return noGcc;
  try {
    binary = buildCTool(SOURCE);
  } catch (e) {
    return (e as Error).message;
  }
  return undefined;
}

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

/** One stdin line of kernel-load-insns. */
export function programLine(p: RawProgram, logLevel: number): string {
  const maps = p.maps.length === 0 ? '-'
    : p.maps.map((m) => [m.type, m.keySize, m.valueSize, m.maxEntries, m.flags, ...(m.inner !== undefined ? [m.inner] : [])].join(':')).join(',');
  const fields = [p.progType, p.expectedAttachType, logLevel, p.progFlags, maps, hex(p.insns)];
  if (p.btf) fields.push(hex(p.btf), p.funcInfo && p.funcInfo.length ? p.funcInfo.map(([o, t]) => `${o}:${t}`).join(',') : '-');
  return fields.join(' ');
}

const PROCESSED = /processed (\d+) insns/;
const ENOSPC = 28;

function answer(raw: { accepted?: boolean; errno?: number; log?: string; error?: string }): KernelInsnsAnswer {
  if (raw.error !== undefined) return { accepted: false, errno: 0, log: '', error: '', insnsProcessed: null, setupError: raw.error };
  const log = raw.log ?? '';
  const m = PROCESSED.exec(log);
  return {
    accepted: !!raw.accepted, errno: raw.errno ?? 0, log, error: raw.accepted ? '' : kernelErrorLine(log),
    insnsProcessed: m ? Number(m[1]) : null,
  };
}

function run(programs: readonly RawProgram[], caps: Caps, logLevel: number, tailBytes: number): KernelInsnsAnswer[] {
  const why = kernelInsnsUnavailable();
  if (why) throw new Error(`the kernel's verifier cannot be asked: ${why}`);
  const input = programs.map((p) => programLine(p, logLevel)).join('\n') + '\n';
  const r = spawnSync(binary!, ['--caps', caps, '--tail-bytes', String(tailBytes)], { input, encoding: 'utf8', maxBuffer: 1 << 29 });
  if (r.status !== 0) throw new Error(`kernel-load-insns --caps ${caps}: ${(r.error?.message ?? r.stderr).trim()}`);
  const lines = r.stdout.split('\n').filter((l) => l.trim() !== '');
  if (lines.length !== programs.length) throw new Error(`kernel-load-insns: ${lines.length} answers for ${programs.length} programs: ${r.stderr}`);
  return lines.map((l) => answer(JSON.parse(l)));
}

/**
 * The kernel's verdicts on raw programs, each loaded alone, many per process. Logs are at
 * level 1, and only their last `tailBytes` are kept (0: whole logs) — enough for the error
 * line and the statistics; a log that overflows the loader's 16 MiB (ENOSPC, whatever the
 * verdict) is asked again at level 4 for the verdict and count, keeping the first log.
 */
export function kernelLoadInsns(programs: readonly RawProgram[], caps: Caps, logLevel = 1, tailBytes = 16384): KernelInsnsAnswer[] {
  if (programs.length === 0) return [];
  const out = run(programs, caps, logLevel, tailBytes);
  const again = out.map((a, i) => (a.errno === ENOSPC ? i : -1)).filter((i) => i >= 0);
  if (again.length) {
    const stats = run(again.map((i) => programs[i]), caps, 4, tailBytes);
    again.forEach((i, k) => {
      out[i] = { ...stats[k], log: out[i].log, error: stats[k].accepted ? '' : kernelErrorLine(stats[k].log) };
    });
  }
  return out;
}
