/**
 * The one base class of every error xdplab throws on purpose.
 *
 * Each error has a stable `code` (see ERROR_CODES) that tools and tests can match on, a
 * message that says what to fix, and optionally the `cause` it wraps. Context is added as a
 * prefix while an error travels up ("load maps: section .maps: …"), as cilium/ebpf wraps
 * errors. This file is a leaf: every layer may import it, it imports nothing.
 */

export const ERROR_CODES = {
  /** Bytes that are not a valid BPF instruction or program. */
  BAD_INSTRUCTION: 'bad instruction',
  /** Assembler input that does not parse. */
  ASM_SYNTAX: 'assembly syntax error',
  /** A program fault at run time: bad memory access, unknown helper, call depth, budget. */
  VM_FAULT: 'program fault',
  /** Something xdplab deliberately does not implement (yet), said clearly. */
  UNSUPPORTED: 'not supported',
  /** A malformed input file (ELF, capture, JSON, hex …). */
  BAD_INPUT: 'bad input',
  /** Bad command-line usage. */
  USAGE: 'usage',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class XdplabError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/**
 * Prefix an error with where it happened, keeping its class and code: `withContext(e, "map
 * counters")` turns "key too long" into "map counters: key too long". Foreign errors are
 * wrapped into an XdplabError of the given code.
 */
export function withContext(err: unknown, context: string, code: ErrorCode = 'BAD_INPUT'): XdplabError {
  if (err instanceof XdplabError) {
    err.message = `${context}: ${err.message}`;
    return err;
  }
  const message = err instanceof Error ? err.message : String(err);
  return new XdplabError(code, `${context}: ${message}`, { cause: err });
}
