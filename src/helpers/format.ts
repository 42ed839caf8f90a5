import { XdplabError } from '../errors.js';
/**
 * The printf dialect of bpf_trace_printk, bpf_snprintf and bpf_trace_vprintk (the kernel's
 * bpf_bprintf_prepare): %d %i %u %x %X with l/ll/h/hh modifiers, %c, %s, %%, %p/%pK/%px
 * (hex), %pI4 %pi4 %pI6 %pi6 (addresses), width, zero padding, '-' and '+' flags. Any other
 * conversion is an error, as in the kernel (-EINVAL). Not a hot path: BigInt is fine here.
 */

/** A format string bpf_trace_printk / bpf_snprintf refuse (the helper returns -EINVAL). */
export class FormatError extends XdplabError {
  constructor(message: string) {
    super('BAD_INPUT', message);
  }
}

/** Reads what `%s` and `%pI4` point at. */
export interface FormatMemory {
  /** The NUL-terminated string at addr (at most `max` bytes), or undefined if unreadable. */
  string(addr: number, max: number): string | undefined;
  /** `n` bytes at addr, or undefined if unreadable. */
  bytes(addr: number, n: number): Uint8Array | undefined;
}

const MAX_STRING = 1024;

function pad(text: string, width: number, left: boolean, zero: boolean): string {
  if (text.length >= width) return text;
  if (left) return text.padEnd(width);
  if (zero) {
    const sign = text[0] === '-' || text[0] === '+' ? text[0] : '';
    return sign + text.slice(sign.length).padStart(width - sign.length, '0');
  }
  return text.padStart(width);
}

function ipv4(b: Uint8Array, zeroPadded: boolean): string {
  return [...b].map((x) => (zeroPadded ? String(x).padStart(3, '0') : String(x))).join('.');
}

/** printk's %pI6: eight 4-digit groups with colons; %pi6: the 32 digits without them. */
function ipv6(b: Uint8Array, colons: boolean): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((b[i] << 8) | b[i + 1]).toString(16).padStart(4, '0'));
  return groups.join(colons ? ':' : '');
}

/**
 * Format `fmt` with 64-bit `args` (as BigInt, the registers' raw values). Throws FormatError
 * for a conversion the kernel rejects or more conversions than arguments.
 */
export function formatBpf(fmt: string, args: readonly bigint[], memory: FormatMemory): string {
  let out = '';
  let next = 0;
  const take = (): bigint => {
    if (next >= args.length) throw new FormatError(`more conversions than the ${args.length} arguments`);
    return args[next++];
  };
  for (let i = 0; i < fmt.length; i++) {
    const ch = fmt[i];
    if (ch !== '%') {
      out += ch;
      continue;
    }
    const spec = /^%([-+0 ]*)(\d*)(hh|h|ll|l|z)?([diuxXcsp%])/.exec(fmt.slice(i));
    if (!spec) throw new FormatError(`unsupported conversion at "${fmt.slice(i, i + 4)}"`);
    i += spec[0].length - 1;
    const [, flags, widthText, length = '', conv] = spec;
    const width = widthText ? Number(widthText) : 0;
    const left = flags.includes('-');
    const zero = flags.includes('0');
    const bits = length === 'll' || length === 'l' || length === 'z' ? 64 : length === 'h' ? 16 : length === 'hh' ? 8 : 32;
    switch (conv) {
      case '%':
        out += '%';
        break;
      case 'd':
      case 'i': {
        const v = BigInt.asIntN(bits, take());
        out += pad((flags.includes('+') && v >= 0n ? '+' : '') + v.toString(), width, left, zero);
        break;
      }
      case 'u':
        out += pad(BigInt.asUintN(bits, take()).toString(), width, left, zero);
        break;
      case 'x':
      case 'X': {
        const hex = BigInt.asUintN(bits, take()).toString(16);
        out += pad(conv === 'X' ? hex.toUpperCase() : hex, width, left, zero);
        break;
      }
      case 'c':
        out += pad(String.fromCharCode(Number(BigInt.asUintN(8, take()))), width, left, false);
        break;
      case 's': {
        const s = memory.string(Number(BigInt.asUintN(32, take())), MAX_STRING);
        out += pad(s ?? '(null)', width, left, false);
        break;
      }
      case 'p':
        out += formatPointer(fmt, i, take(), memory, (skip) => { i += skip; });
        break;
    }
  }
  return out;
}

/** %p and its extensions; `advance` consumes the extension letters after the 'p'. */
function formatPointer(fmt: string, at: number, value: bigint, memory: FormatMemory, advance: (n: number) => void): string {
  const ext = /^(I4|i4|I6|i6|K|x|ks|us)?/.exec(fmt.slice(at + 1))![0];
  advance(ext.length);
  const addr = Number(BigInt.asUintN(32, value));
  if (ext === 'I4' || ext === 'i4') {
    const b = memory.bytes(addr, 4);
    return b ? ipv4(b, ext === 'i4') : '(null)';
  }
  if (ext === 'I6' || ext === 'i6') {
    const b = memory.bytes(addr, 16);
    return b ? ipv6(b, ext === 'I6') : '(null)';
  }
  if (ext === 'ks' || ext === 'us') return memory.string(addr, MAX_STRING) ?? '(null)';
  return `0x${BigInt.asUintN(64, value).toString(16).padStart(16, '0')}`;
}
