/**
 * The assembler: text in the conformance suite's syntax (`ldxw %r0, [%r1+4]`) to bytes.
 *
 * It reads the suite's syntax (see the suite's README) and everything the 'asm' syntax of
 * formatInstruction prints, so that disassembling any valid instruction and assembling the
 * text gives back the same bytes. Mnemonics come from the one opcode table (OPCODES,
 * ATOMIC_OPS): this file derives its lookup from there and keeps no opcode list of its own.
 *
 * One instruction a line; `#` starts a comment; `name:` defines a label (on its own line or
 * before an instruction); the first `exit` also defines the label `exit`. Jump targets are a
 * label or `+N`/`-N` slots relative to the next instruction (lddw takes 2 slots).
 * Register-indirect calls: `call %rX` puts the register in dst (the kernel's encoding);
 * `callx %rX` puts it in imm (the encoding of LLVM before 19), as the disassembler prints it.
 * It also reads LLVM's syntax (`r0 = 0`, `if r1 > r2 goto +3`), line by line, as `xdplab
 * disasm` and llvm-objdump print it, listing decorations and all (asm-llvm.ts).
 * Errors are XdplabError('ASM_SYNTAX', "line:column: message"), both 1-based.
 */
import { XdplabError } from '../errors.js';
import { LDDW_PSEUDO_NAMES } from './disasm.js';
import { instructionText, isListingNoise, looksLlvm, parseLlvmInstruction } from './asm-llvm.js';
import { Instruction, encodeProgram } from './instruction.js';
import {
  ATOMIC_OPS, BPF_CLASS, BPF_DIV, BPF_JMP32, BPF_MOD, BPF_MOV, BPF_NEG, BPF_OP, BPF_PSEUDO_CALL, BPF_PSEUDO_KFUNC_CALL,
  MAX_BPF_REG, MOVSX_OFFSETS_32, MOVSX_OFFSETS_64, OPCODE, OPCODES, type OpcodeKind,
} from './opcodes.js';

/** What a mnemonic stands for: its opcodes, plus fixed field values. */
interface Mnemonic {
  readonly kind: OpcodeKind;
  /** The opcode; for alu and jcond the immediate (BPF_K) form; undefined for movsx. */
  readonly code?: number;
  /** For alu and jcond: the register (BPF_X) form; undefined for neg. */
  readonly codeX?: number;
  /** A fixed offset: 1 for sdiv/smod, the source width for movsx. */
  readonly off?: number;
  /** A fixed immediate: the width of le/be/bswap. */
  readonly imm?: number;
}

/** Mnemonic → meaning, derived once from OPCODES. */
const MNEMONICS: ReadonlyMap<string, Mnemonic> = buildMnemonics();
/** `lock` operation words (`fetch add32`, `xchg`, …) → opcode and imm, from ATOMIC_OPS. */
const ATOMIC_MNEMONICS: ReadonlyMap<string, { code: number; imm: number }> = buildAtomicMnemonics();

function buildMnemonics(): Map<string, Mnemonic> {
  const table = new Map<string, Mnemonic>();
  /** Add an opcode under a name; a name collects both the K and the X form of an operation. */
  const add = (name: string, kind: OpcodeKind, code: number, isX: boolean, extra: Partial<Mnemonic> = {}): void => {
    table.set(name, { ...table.get(name), kind, ...extra, ...(isX ? { codeX: code } : { code }) });
  };
  for (const info of OPCODES) {
    if (!info) continue;
    const { kind, name, code, is64, usesSrcReg } = info;
    switch (kind) {
      case 'alu': {
        const op = BPF_OP(code);
        for (const suffix of is64 ? ['', '64'] : ['32']) {
          add(name + suffix, kind, code, usesSrcReg);
          if (op === BPF_DIV || op === BPF_MOD) add(`s${name}${suffix}`, kind, code, usesSrcReg, { off: 1 });
        }
        if (op === BPF_MOV && usesSrcReg) {
          for (const width of is64 ? MOVSX_OFFSETS_64 : MOVSX_OFFSETS_32) {
            add(`movsx${width}${is64 ? '64' : '32'}`, kind, code, true, { off: width });
          }
        }
        break;
      }
      case 'jcond':
      case 'ja':
        add(name + (is64 ? '' : '32'), kind, code, usesSrcReg);
        break;
      case 'end':
        for (const width of [16, 32, 64]) {
          add(`${name}${width}`, kind, code, false, { imm: width });
          // The conformance suite also spells bswap as swap.
          if (name === 'bswap') add(`swap${width}`, kind, code, false, { imm: width });
        }
        break;
      case 'atomic':
        break; // `lock …`: see ATOMIC_MNEMONICS
      default:
        add(name, kind, code, false);
    }
  }
  return table;
}

function buildAtomicMnemonics(): Map<string, { code: number; imm: number }> {
  const table = new Map<string, { code: number; imm: number }>();
  for (const info of OPCODES) {
    if (info?.kind !== 'atomic') continue;
    for (const [imm, name] of ATOMIC_OPS) table.set(name + (info.is64 ? '' : '32'), { code: info.code, imm });
  }
  return table;
}

/** One operand's text (trimmed) and the 1-based column where it starts. */
interface Operand {
  readonly text: string;
  readonly col: number;
}

/** An instruction whose jump target may name a label not seen yet. */
interface Pending {
  readonly line: number;
  readonly pc: number;
  readonly fields: { code: number; dst: number; src: number; off: number; imm: number; immHi: number };
  readonly target?: { operand: Operand; field: 'off' | 'imm' };
}

const fail = (line: number, col: number, message: string): XdplabError =>
  new XdplabError('ASM_SYNTAX', `${line}:${col}: ${message}`);

const LABEL = /^\s*([A-Za-z_.][\w.]*)\s*:/;
const INTEGER = /^([+-]?)(0x[0-9a-f]+|[0-9]+)$/i;
const MEMORY = /^\[\s*(%?\w+)\s*(?:([+-])\s*(\w+)\s*)?\]$/;

/** Assemble text to program bytes. */
export function assemble(text: string): Uint8Array {
  return encodeProgram(assembleInstructions(text));
}

/** Assemble text to instructions (lddw is one instruction of width 2). */
export function assembleInstructions(text: string): Instruction[] {
  const labels = new Map<string, number>();
  let firstExit: number | undefined;
  const pending: Pending[] = [];
  let pc = 0;
  const llvmText = text.split('\n').some((l) => looksLlvm(instructionText(l.replace(/#.*/, ''))));
  text.split('\n').forEach((raw, index) => {
    const line = index + 1;
    let rest = raw.replace(/\r$/, '');
    const hash = rest.indexOf('#');
    if (hash >= 0) rest = rest.slice(0, hash);
    if (isListingNoise(rest)) return;
    const llvm = instructionText(rest);
    if (looksLlvm(llvm, llvmText) || /^\d+:/.test(rest.trim())) {
      // LLVM's syntax, as llvm-objdump and `xdplab disasm` print it (asm-llvm.ts).
      let f: Pending['fields'];
      try {
        f = parseLlvmInstruction(llvm);
      } catch (err) {
        throw fail(line, rest.indexOf(llvm.split(' ')[0]) + 1, (err as Error).message);
      }
      if (OPCODES[f.code]!.kind === 'exit' && firstExit === undefined) firstExit = pc;
      pending.push({ line, pc, fields: f });
      pc += f.code === OPCODE.LDDW ? 2 : 1;
      return;
    }
    let at = 0; // characters of the raw line consumed before `rest`
    const label = LABEL.exec(rest);
    if (label) {
      const name = label[1];
      if (labels.has(name)) throw fail(line, rest.indexOf(name) + 1, `label '${name}' is already defined`);
      labels.set(name, pc);
      at = label[0].length;
      rest = rest.slice(at);
    }
    if (rest.trim() === '') return;
    const insn = parseLine(rest, line, at, pc);
    const { kind } = OPCODES[insn.fields.code]!;
    if (kind === 'exit' && firstExit === undefined) firstExit = pc;
    pending.push(insn);
    pc += kind === 'lddw' ? 2 : 1;
  });

  return pending.map(({ line, pc: insnPc, fields, target }) => {
    let { off, imm } = fields;
    if (target) {
      const rel = resolveTarget(target.operand, line, insnPc, labels, firstExit);
      const bits = target.field === 'off' ? 16 : 32;
      if (rel < -(2 ** (bits - 1)) || rel >= 2 ** (bits - 1)) {
        throw fail(line, target.operand.col, `jump offset ${rel} does not fit in int${bits}`);
      }
      if (target.field === 'off') off = rel;
      else imm = rel;
    }
    return new Instruction(fields.code, fields.dst, fields.src, off, imm, fields.immHi);
  });
}

function resolveTarget(operand: Operand, line: number, pc: number, labels: Map<string, number>, firstExit?: number): number {
  const { text, col } = operand;
  if (/^[+-]/.test(text)) {
    const value = parseInteger(text);
    if (value === undefined) throw fail(line, col, `bad jump offset '${text}'`);
    return Number(value);
  }
  if (!/^[A-Za-z_.][\w.]*$/.test(text)) throw fail(line, col, `expected a label or +N/-N, got '${text}'`);
  const target = labels.get(text) ?? (text === 'exit' ? firstExit : undefined);
  if (target === undefined) throw fail(line, col, `unknown label '${text}'`);
  return target - (pc + 1);
}

function parseInteger(text: string): bigint | undefined {
  const m = INTEGER.exec(text);
  if (!m) return undefined;
  const magnitude = BigInt(m[2]);
  return m[1] === '-' ? -magnitude : magnitude;
}

/** Parse one instruction; `at` is how many characters of the raw line precede `text`. */
function parseLine(text: string, line: number, at: number, pc: number): Pending {
  return new LineParser(text, line, at, pc).parse();
}

type Target = Pending['target'];

/** One line's instruction: its mnemonic, its operands (each with its column), then its fields. */
class LineParser {
  private mnemonic: string;
  private readonly mnemonicCol: number;
  /** Where the operands start in `text`. */
  private end: number;
  /** For `lock …`: the atomic operation's opcode and imm. */
  private atomic: { code: number; imm: number } | undefined;
  private readonly operands: Operand[];
  private readonly fields = { code: 0, dst: 0, src: 0, off: 0, imm: 0, immHi: 0 };

  constructor(
    private readonly text: string,
    private readonly line: number,
    private readonly at: number,
    private readonly pc: number,
  ) {
    const start = text.search(/\S/);
    this.end = text.slice(start).search(/\s|$/) + start;
    this.mnemonic = text.slice(start, this.end).toLowerCase();
    this.mnemonicCol = at + start + 1;
    if (this.mnemonic === 'lock') this.readLockWords();
    this.operands = this.splitOperands();
  }

  parse(): Pending {
    if (this.atomic) return this.parseAtomic(this.atomic);
    const info = MNEMONICS.get(this.mnemonic);
    if (!info) throw this.err(this.mnemonicCol, `unknown mnemonic '${this.mnemonic}'`);
    this.fields.code = info.code ?? info.codeX!;
    this.fields.off = info.off ?? 0;
    this.fields.imm = info.imm ?? 0;
    return this.parseKind(info);
  }

  // ---- the mnemonic and the operands ----

  private err(col: number, message: string): XdplabError {
    return fail(this.line, col, message);
  }

  /** `lock` takes several words before its operands: `lock fetch add32 [%r1+0], %r2`. */
  private readLockWords(): void {
    const { text, end } = this;
    const bracket = text.indexOf('[', end);
    const words = text.slice(end, bracket < 0 ? undefined : bracket).trim().split(/\s+/).join(' ');
    this.atomic = ATOMIC_MNEMONICS.get(words.toLowerCase());
    if (!this.atomic) throw this.err(this.mnemonicCol, `unknown atomic operation 'lock ${words}'`);
    this.end = bracket < 0 ? text.length : bracket;
    this.mnemonic = `lock ${words}`;
  }

  /** The rest of the line split at commas, each with its column. */
  private splitOperands(): Operand[] {
    const operands: Operand[] = [];
    const rest = this.text.slice(this.end);
    if (rest.trim() === '') return operands;
    let offset = this.at + this.end;
    for (const piece of rest.split(',')) {
      const lead = piece.length - piece.trimStart().length;
      const col = offset + lead + 1;
      if (piece.trim() === '') throw this.err(col, 'missing operand');
      operands.push({ text: piece.trim(), col });
      offset += piece.length + 1;
    }
    return operands;
  }

  private expect(...counts: number[]): void {
    if (!counts.includes(this.operands.length)) {
      const want = counts.join(' or ');
      throw this.err(this.mnemonicCol, `${this.mnemonic} takes ${want} operand${want === '1' ? '' : 's'}, got ${this.operands.length}`);
    }
  }

  // ---- operand kinds ----

  private reg(op: Operand): number {
    const m = /^%r(\d+)$/.exec(op.text);
    if (!m || Number(m[1]) >= MAX_BPF_REG) throw this.err(op.col, `bad register '${op.text}' (expected %r0 … %r10)`);
    return Number(m[1]);
  }

  private int(text: string, col: number, min: bigint, max: bigint, what: string): bigint {
    const value = parseInteger(text);
    if (value === undefined) throw this.err(col, `bad ${what} '${text}'`);
    if (value < min || value > max) throw this.err(col, `${what} ${text} is out of range`);
    return value;
  }

  /** int32: decimal is signed; hex is the uint32 bit pattern. */
  private imm32({ text, col }: Operand): number {
    const hex = /^\+?0x/i.test(text);
    return Number(BigInt.asIntN(32, this.int(text, col, -(2n ** 31n), hex ? 2n ** 32n - 1n : 2n ** 31n - 1n, 'immediate')));
  }

  private off16(op: Operand): number {
    return Number(this.int(op.text, op.col, -32768n, 32767n, 'offset'));
  }

  private mem(op: Operand): { reg: number; off: number } {
    const m = MEMORY.exec(op.text);
    if (!m) throw this.err(op.col, `bad memory operand '${op.text}' (expected [%rN], [%rN+off] or [%rN-off])`);
    const r = this.reg({ text: m[1], col: op.col + op.text.indexOf(m[1]) });
    if (m[3] === undefined) return { reg: r, off: 0 };
    return { reg: r, off: this.off16({ text: m[2] + m[3], col: op.col + op.text.indexOf(m[2]) }) };
  }

  /** Split `word rest` (as in `local +3`, `map_fd 5`) into the keyword and an operand. */
  private keyword(op: Operand): [string, Operand] | undefined {
    const m = /^([a-z_]+)\s+(\S.*)$/.exec(op.text);
    return m ? [m[1], { text: m[2], col: op.col + op.text.indexOf(m[2], m[1].length) }] : undefined;
  }

  /** Register or immediate second operand: picks the BPF_X or BPF_K opcode. */
  private source(info: Mnemonic, op: Operand): void {
    if (isRegister(op)) {
      if (info.codeX === undefined) throw this.err(op.col, `${this.mnemonic} takes no register operand`);
      Object.assign(this.fields, { code: info.codeX, src: this.reg(op) });
    } else {
      if (info.code === undefined) throw this.err(op.col, `${this.mnemonic} needs a register source`);
      Object.assign(this.fields, { code: info.code, imm: this.imm32(op) });
    }
  }

  private done(target?: Target): Pending {
    return { line: this.line, pc: this.pc, fields: this.fields, target };
  }

  // ---- instruction shapes ----

  private parseKind(info: Mnemonic): Pending {
    const { operands, fields } = this;
    switch (info.kind) {
      case 'alu':
        if (BPF_OP(fields.code) === BPF_NEG) return this.oneRegister();
        this.expect(2);
        fields.dst = this.reg(operands[0]);
        this.source(info, operands[1]);
        return this.done();
      case 'end':
        return this.oneRegister();
      case 'ja':
        this.expect(1);
        return this.done({ operand: operands[0], field: BPF_CLASS(info.code!) === BPF_JMP32 ? 'imm' : 'off' });
      case 'jcond':
        this.expect(3);
        fields.dst = this.reg(operands[0]);
        this.source(info, operands[1]);
        return this.done({ operand: operands[2], field: 'off' });
      case 'call':
        return this.parseCall();
      case 'callx':
        this.expect(1);
        fields.imm = this.reg(operands[0]);
        return this.done();
      case 'exit':
        this.expect(0);
        return this.done();
      case 'lddw':
        return this.parseLddw();
      case 'ldabs':
        this.expect(1);
        fields.imm = this.imm32(operands[0]);
        return this.done();
      case 'ldind':
        this.expect(2);
        fields.src = this.reg(operands[0]);
        fields.imm = this.imm32(operands[1]);
        return this.done();
      case 'ldx':
      case 'ldxsx':
        return this.parseLoad();
      case 'st':
      case 'stx':
        return this.parseStore(info.kind);
      case 'atomic':
        throw this.err(this.mnemonicCol, `unknown mnemonic '${this.mnemonic}'`); // reached only through `lock`
    }
  }

  private oneRegister(): Pending {
    this.expect(1);
    this.fields.dst = this.reg(this.operands[0]);
    return this.done();
  }

  private parseAtomic(atomic: { code: number; imm: number }): Pending {
    this.expect(2);
    const { reg: dst, off } = this.mem(this.operands[0]);
    Object.assign(this.fields, { code: atomic.code, imm: atomic.imm, dst, off, src: this.reg(this.operands[1]) });
    return this.done();
  }

  /** `call N` (a helper), `call local +N`, `call kfunc N[, off]`, `call %rN` (callx). */
  private parseCall(): Pending {
    const { operands, fields } = this;
    this.expect(1, 2);
    const [first] = operands;
    const word = this.keyword(first);
    if (word?.[0] === 'kfunc') {
      Object.assign(fields, { src: BPF_PSEUDO_KFUNC_CALL, imm: this.imm32(word[1]) });
      if (operands.length === 2) fields.off = this.off16(operands[1]);
      return this.done();
    }
    this.expect(1);
    if (word?.[0] === 'local') {
      fields.src = BPF_PSEUDO_CALL;
      return this.done({ operand: word[1], field: 'imm' });
    }
    if (isRegister(first)) Object.assign(fields, { code: MNEMONICS.get('callx')!.code, dst: this.reg(first) });
    else fields.imm = this.imm32(first);
    return this.done();
  }

  /** `lddw %rN, value` or `lddw %rN, <pseudo> imm, immHi` (map_fd, map_value, …). */
  private parseLddw(): Pending {
    const { operands, fields } = this;
    this.expect(2, 3);
    fields.dst = this.reg(operands[0]);
    const word = this.keyword(operands[1]);
    const pseudo = word ? (LDDW_PSEUDO_NAMES as readonly string[]).indexOf(word[0]) : -1;
    if (word && pseudo > 0) {
      this.expect(3);
      Object.assign(fields, { src: pseudo, imm: this.imm32(word[1]), immHi: this.imm32(operands[2]) });
      return this.done();
    }
    this.expect(2);
    const value = BigInt.asUintN(64, this.int(operands[1].text, operands[1].col, -(2n ** 63n), 2n ** 64n - 1n, 'immediate'));
    fields.imm = Number(BigInt.asIntN(32, value));
    fields.immHi = Number(BigInt.asIntN(32, value >> 32n));
    return this.done();
  }

  private parseLoad(): Pending {
    this.expect(2);
    this.fields.dst = this.reg(this.operands[0]);
    const { reg: src, off } = this.mem(this.operands[1]);
    Object.assign(this.fields, { src, off });
    return this.done();
  }

  private parseStore(kind: 'st' | 'stx'): Pending {
    this.expect(2);
    const { reg: dst, off } = this.mem(this.operands[0]);
    Object.assign(this.fields, { dst, off });
    if (kind === 'st') this.fields.imm = this.imm32(this.operands[1]);
    else this.fields.src = this.reg(this.operands[1]);
    return this.done();
  }
}

const isRegister = (op: Operand): boolean => op.text.startsWith('%');
