/**
 * The assembler's second syntax: LLVM's, as `llvm-objdump -d` and `xdplab disasm` print it
 * (`r0 = 0`, `if r1 > r2 goto +24 <LBB0_7>`, `*(u32 *)(r10 - 4) = r1`, `r1 = 0 ll`), so that
 * a listing assembles back to its bytes. What a listing adds around an instruction — its
 * address `12:`, its raw bytes, a jump's `<label>` — is ignored, and so are the lines that are
 * not instructions (the header, section and symbol lines, `; source` lines).
 *
 * Opcodes come from the one table (OPCODES), looked up by kind, name, width and operand form.
 * Where the text leaves a field out, a choice is made: `call N` is a helper call, `call -N` (what
 * clang leaves for a local call to another section, to be relocated) a local call — LLVM prints
 * a local call whose offset is known as `call N` too, so that one reads back as a helper call;
 * `callx rN` puts the register in dst, the kernel's encoding; `ld_pseudo rD, S, IMM` leaves the
 * second slot's immediate 0, as llvm-objdump does not print it.
 */
import {
  BPF_ADD, BPF_AND, BPF_CMPXCHG, BPF_FETCH, BPF_OR, BPF_PSEUDO_CALL, BPF_XCHG, BPF_XOR, OPCODE, OPCODES, type OpcodeKind,
} from './opcodes.js';
import { XdplabError } from '../errors.js';

export interface LlvmFields {
  code: number;
  dst: number;
  src: number;
  off: number;
  imm: number;
  immHi: number;
}

/** kind|name|64-bit|register operand|size → opcode, from OPCODES. */
const CODES: ReadonlyMap<string, number> = new Map(
  OPCODES.filter((i) => i !== undefined).map((i) => [`${i!.kind}|${i!.name}|${i!.is64}|${i!.usesSrcReg}|${i!.size}`, i!.code]),
);

function code(kind: OpcodeKind, name: string, is64: boolean, usesSrcReg: boolean, size = 0): number {
  const c = CODES.get(`${kind}|${name}|${is64}|${usesSrcReg}|${size}`);
  if (c === undefined) throw new XdplabError('ASM_SYNTAX', `no ${kind} ${name} (${is64 ? 64 : 32}-bit, ${usesSrcReg ? 'register' : 'immediate'}, ${size} bytes)`);
  return c;
}

const ALU: Record<string, [string, number]> = {
  '+=': ['add', 0], '-=': ['sub', 0], '*=': ['mul', 0], '/=': ['div', 0], 's/=': ['div', 1], '|=': ['or', 0], '&=': ['and', 0],
  '<<=': ['lsh', 0], '>>=': ['rsh', 0], '%=': ['mod', 0], 's%=': ['mod', 1], '^=': ['xor', 0], '=': ['mov', 0], 's>>=': ['arsh', 0],
};
const JUMP: Record<string, string> = {
  '==': 'jeq', '>': 'jgt', '>=': 'jge', '&': 'jset', '!=': 'jne', 's>': 'jsgt', 's>=': 'jsge', '<': 'jlt', '<=': 'jle', 's<': 'jslt', 's<=': 'jsle',
};
const ATOMIC_OPS: Record<string, number> = { '+=': BPF_ADD, '|=': BPF_OR, '&=': BPF_AND, '^=': BPF_XOR, add: BPF_ADD, or: BPF_OR, and: BPF_AND, xor: BPF_XOR };

const REG = '([rw])(\\d+)';
const NUM = '([+-]?(?:0x[0-9a-f]+|\\d+))';
const MEM = `r(\\d+) ([+-]) (\\d+)`;
const reg = (n: string): number => Number(n);
const bigint = (s: string): bigint => (s.startsWith('-') ? -BigInt(s.slice(1)) : BigInt(s.replace(/^\+/, '')));
const num = (s: string): number => Number(BigInt.asIntN(32, bigint(s)));
const offset = (sign: string, n: string): number => (sign === '-' ? -Number(n) : Number(n));
const fields = (f: Partial<LlvmFields> & { code: number }): LlvmFields => ({ dst: 0, src: 0, off: 0, imm: 0, immHi: 0, ...f });

type Rule = [RegExp, (m: RegExpExecArray) => LlvmFields];

const RULES: Rule[] = [
  [/^exit$/, () => fields({ code: code('exit', 'exit', true, false) })],
  [new RegExp(`^call ${NUM}$`), (m) => {
    const imm = num(m[1]);
    return fields({ code: code('call', 'call', true, false), imm, src: imm < 0 ? BPF_PSEUDO_CALL : 0 });
  }],
  [/^callx r(\d+)$/, (m) => fields({ code: code('callx', 'callx', true, true), dst: reg(m[1]) })],
  [new RegExp(`^goto ${NUM}$`), (m) => fields({ code: code('ja', 'ja', true, false), off: num(m[1]) })],
  [new RegExp(`^gotol ${NUM}$`), (m) => fields({ code: code('ja', 'ja', false, false), imm: num(m[1]) })],
  [new RegExp(`^if ${REG} (\\S+) (?:${REG}|${NUM}) goto ${NUM}$`), (m) => {
    const name = JUMP[m[3]];
    if (!name) throw new XdplabError('ASM_SYNTAX', `unknown comparison '${m[3]}'`);
    const x = m[4] !== undefined;
    return fields({ code: code('jcond', name, m[1] === 'r', x), dst: reg(m[2]), src: x ? reg(m[5]) : 0, imm: x ? 0 : num(m[6]), off: num(m[7]) });
  }],
  [new RegExp(`^r(\\d+) = ${NUM} ll$`), (m) => {
    const v = BigInt.asUintN(64, bigint(m[2]));
    return fields({ code: OPCODE.LDDW, dst: reg(m[1]), imm: Number(BigInt.asIntN(32, v)), immHi: Number(BigInt.asIntN(32, v >> 32n)) });
  }],
  [new RegExp(`^ld_pseudo\\s+r(\\d+), (\\d+), (\\d+)$`), (m) => fields({ code: OPCODE.LDDW, dst: reg(m[1]), src: Number(m[2]), imm: num(m[3]) })],
  [new RegExp(`^r0 = \\*\\(u(8|16|32) \\*\\)skb\\[${NUM}\\]$`), (m) => fields({ code: sized('ldabs', m[1]), imm: num(m[2]) })],
  [/^r0 = \*\(u(8|16|32) \*\)skb\[r(\d+)\]$/, (m) => fields({ code: sized('ldind', m[1]), src: reg(m[2]) })],
  [new RegExp(`^r(\\d+) = \\*\\(([us])(8|16|32|64) \\*\\)\\(${MEM}\\)$`), (m) => {
    const kind = m[2] === 'u' ? 'ldx' : 'ldxsx';
    const info = OPCODES.find((i) => i?.kind === kind && i.size * 8 === Number(m[3]))!;
    return fields({ code: info.code, dst: reg(m[1]), src: reg(m[4]), off: offset(m[5], m[6]) });
  }],
  [new RegExp(`^\\*\\(u(8|16|32|64) \\*\\)\\(${MEM}\\) = (?:r(\\d+)|${NUM})$`), (m) => {
    const kind = m[5] !== undefined ? 'stx' : 'st';
    const info = OPCODES.find((i) => i?.kind === kind && i.size * 8 === Number(m[1]))!;
    return fields({ code: info.code, dst: reg(m[2]), off: offset(m[3], m[4]), src: m[5] !== undefined ? reg(m[5]) : 0, imm: m[5] === undefined ? num(m[6]) : 0 });
  }],
  [new RegExp(`^lock \\*\\(u(32|64) \\*\\)\\(${MEM}\\) (\\S+) [rw](\\d+)$`), (m) => atomic(m[1], m[2], m[3], m[4], ATOMIC_OPS[m[5]], m[6])],
  [new RegExp(`^[rw](\\d+) = atomic_fetch_(add|or|and|xor)\\(\\(u(32|64) \\*\\)\\(${MEM}\\), [rw]\\d+\\)$`), (m) => atomic(m[3], m[4], m[5], m[6], ATOMIC_OPS[m[2]] | BPF_FETCH, m[1])],
  [new RegExp(`^[rw](\\d+) = xchg(?:_64|32_32)\\(${MEM}, [rw]\\d+\\)$`), (m) => atomic(m[0].includes('_64') ? '64' : '32', m[2], m[3], m[4], BPF_XCHG, m[1])],
  [new RegExp(`^[rw]0 = cmpxchg(?:_64|32_32)\\(${MEM}, [rw]0, [rw](\\d+)\\)$`), (m) => atomic(m[0].includes('_64') ? '64' : '32', m[1], m[2], m[3], BPF_CMPXCHG, m[4])],
  [/^r(\d+) = (le|be|bswap)(16|32|64) r\d+$/, (m) => {
    const info = OPCODES.find((i) => i?.kind === 'end' && i.name === m[2])!;
    return fields({ code: info.code, dst: reg(m[1]), imm: Number(m[3]) });
  }],
  [new RegExp(`^${REG} = -[rw]\\d+$`), (m) => fields({ code: code('alu', 'neg', m[1] === 'r', false), dst: reg(m[2]) })],
  [new RegExp(`^${REG} = \\(s(8|16|32)\\)[rw](\\d+)$`), (m) => fields({ code: code('alu', 'mov', m[1] === 'r', true), dst: reg(m[2]), src: reg(m[4]), off: Number(m[3]) })],
  [new RegExp(`^${REG} (\\S+) (?:${REG}|${NUM})$`), (m) => {
    const op = ALU[m[3]];
    if (!op) throw new XdplabError('ASM_SYNTAX', `unknown operator '${m[3]}'`);
    const x = m[4] !== undefined;
    return fields({ code: code('alu', op[0], m[1] === 'r', x), dst: reg(m[2]), src: x ? reg(m[5]) : 0, imm: x ? 0 : num(m[6]), off: op[1] });
  }],
];

/** The opcode of a memory instruction of `kind` and `bits` bits. */
function sized(kind: OpcodeKind, bits: string): number {
  const info = OPCODES.find((i) => i?.kind === kind && i.size * 8 === Number(bits));
  if (!info) throw new XdplabError('ASM_SYNTAX', `no ${bits}-bit ${kind}`);
  return info.code;
}

function atomic(size: string, dst: string, sign: string, off: string, imm: number | undefined, src: string): LlvmFields {
  if (imm === undefined) throw new XdplabError('ASM_SYNTAX', 'unknown atomic operation');
  const info = OPCODES.find((i) => i?.kind === 'atomic' && i.size * 8 === Number(size))!;
  return fields({ code: info.code, dst: reg(dst), src: reg(src), off: offset(sign, off), imm });
}

/** A listing line that is not an instruction: the header, a section or symbol line, a source line. */
export const isListingNoise = (line: string): boolean =>
  /^\s*;/.test(line) || /file format elf64-bpf/.test(line) || /^Disassembly of section /.test(line) || /^[0-9a-f]{16} <[^>]*>:\s*$/.test(line);

/** The instruction text of a listing line: without its `12:` address, raw bytes and `<label>` annotation. */
export function instructionText(line: string): string {
  return line
    .replace(/^\s*\d+:\s*/, '')
    .replace(/^(?:[0-9a-f]{2} ){7}[0-9a-f]{2}(?: (?:[0-9a-f]{2} ){7}[0-9a-f]{2})?\s+/, '')
    .replace(/\s+<[^\s<>]+>\s*$/, '')
    .trim();
}

/**
 * Whether an instruction's text is LLVM's syntax rather than the conformance suite's (`%r`).
 * `call -1` reads either way — a local call in LLVM's syntax, helper -1 in the suite's — so it
 * is LLVM's in a text that has other lines of LLVM's syntax (`inLlvmText`).
 */
export function looksLlvm(text: string, inLlvmText = false): boolean {
  if (/^call -/.test(text)) return inLlvmText;
  return !text.includes('%r') && /[=*(]|^if |^goto|^gotol|^callx r|^ld_pseudo/.test(text);
}

/** The fields of one instruction in LLVM's syntax; throws Error(message) when it does not read. */
export function parseLlvmInstruction(text: string): LlvmFields {
  const t = text.replace(/\s+/g, ' ').toLowerCase();
  for (const [re, make] of RULES) {
    const m = re.exec(t);
    if (m) return make(m);
  }
  throw new XdplabError('ASM_SYNTAX', `'${text}' is not an instruction in LLVM's syntax`);
}
