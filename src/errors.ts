/**
 * The one base class of every error xdplab throws on purpose.
 *
 * Each error has a stable `code` (see ERROR_CODES) that tools and tests can match on, a
 * message that says what to fix, and optionally the `cause` it wraps. Context is added as a
 * prefix while an error travels up ("load maps: section .maps: …"), as cilium/ebpf wraps
 * errors (fmt.Errorf("…: %w", err)): a new error whose `cause` is the one it wraps, never the
 * same error with its message changed. Every error xdplab throws is one of these (a lint rule
 * keeps `new Error` out of src/). This file is a leaf: every layer may import it, it imports
 * nothing.
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
  /** A program the kernel's verifier would refuse at load. */
  VERIFIER: 'refused by the verifier',
  /** xdplab broke one of its own rules: a bug to report, printed with its stack. */
  INTERNAL: 'internal error',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class XdplabError extends Error {
  readonly code: ErrorCode;
  /** More lines for a person to read after the one-line message (an explanation, a hint). */
  explanation?: string;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/**
 * An error saying where `err` happened: `withContext(e, "map counters")` is a new XdplabError,
 * "map counters: key too long", whose `cause` is `e` and whose code is e's (or `code`, for an
 * error that is not an XdplabError). `e` itself is left as it is. The same context is never
 * added twice: an XdplabError whose message already starts with it (a reader that named its
 * file, then a caller adding the file again) is returned as it is. `separator` joins the two
 * (": ", or ":" before a `line:column: message`).
 */
export function withContext(err: unknown, context: string, code: ErrorCode = 'BAD_INPUT', separator = ': '): XdplabError {
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof XdplabError && hasContext(message, context)) return err;
  const wrapped = hasContext(message, context) ? message : `${context}${separator}${message}`;
  const out = new XdplabError(err instanceof XdplabError ? err.code : code, wrapped, { cause: err });
  if (err instanceof XdplabError) out.explanation = err.explanation; // what a person reads after the line travels with it
  return out;
}

/** The first error of class `type` along the chain err, err.cause, err.cause.cause …, if any. */
export function causeOf<T extends Error>(err: unknown, type: abstract new (...args: never[]) => T): T | undefined {
  for (let e = err; e instanceof Error; e = e.cause) if (e instanceof type) return e;
  return undefined;
}

/** Whether `message` already begins with `context` as its prefix ("context: …" or "context:12:3: …"). */
export function hasContext(message: string, context: string): boolean {
  return message.startsWith(`${context}: `) || (message.startsWith(`${context}:`) && /^\d/.test(message.slice(context.length + 1)));
}

/** What a failed file-system call means, in words, by its errno code (Node's `err.code`). */
const FS_REASONS: Record<string, string> = {
  ENOENT: 'no such file or directory',
  ENOTDIR: 'a component of the path is not a directory',
  EISDIR: 'is a directory',
  EEXIST: 'already exists',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EFBIG: 'file too large',
  ENAMETOOLONG: 'file name too long',
  ELOOP: 'too many levels of symbolic links',
  EMFILE: 'too many open files',
  EBUSY: 'device or resource busy',
  EIO: 'input/output error',
  EINVAL: 'invalid argument',
  ENXIO: 'no such device or address',
  ETXTBSY: 'text file busy',
};

/** The reason a file-system call failed, as words ("read-only file system"), from its error. */
export function fsReason(err: unknown): string {
  const code = (err as { code?: unknown })?.code;
  if (typeof code === 'string' && code in FS_REASONS) return FS_REASONS[code];
  const message = err instanceof Error ? err.message : String(err);
  // Node's "EXYZ: text, syscall 'path'" without its code and path: the text.
  return message.replace(/^E[A-Z]+: /, '').replace(/, \w+ '.*'$/, '');
}

/**
 * A failed file operation as a user error: `${file}: cannot ${action}: ${reason}` — the path,
 * what xdplab tried, and why it failed, on one line.
 */
export function fileError(file: string, action: string, err: unknown): XdplabError {
  return new XdplabError('BAD_INPUT', `${file}: cannot ${action}: ${fsReason(err)}`, { cause: err });
}
