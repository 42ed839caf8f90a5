/**
 * The reference interpreter: executes a ProgramImage over the arena.
 *
 * Registers are 11 × 64 bits held as (low, high) int32 pairs in one Int32Array: V8 runs
 * int32 arithmetic many times faster than BigInt (bench/ measures it). Dispatch is a single
 * switch over the extended opcode (isa/xop.ts). Its cases are literals, for speed (V8 makes a
 * jump table of literal cases only); each names its xop and its assembly in a comment, and
 * test/vm/interpreter-opcodes.test.ts holds every literal to the named opcode. Every memory access is checked against the arena's page table; any fault ends
 * the run with a VmFault naming program, pc, instruction and reason.
 *
 * Frames follow the kernel's bpf-to-bpf call rules: r1–r5 pass arguments, r0 returns, r6–r9
 * are preserved across the call, r10 is the frame's own 512-byte stack (8 frames at most).
 */
import { Arena, REGION_READ, REGION_WRITE, type Region } from './arena.js';
import type { VmFault } from './fault.js';
import { HELPER_CONTINUE, HELPER_STOP, type HelperCall, type HelperTable } from './helper-table.js';
import {
  CALL_DEPTH_DETAIL, DEFAULT_BUDGET, HelperCaller, LEGACY_PACKET_DETAIL, describeKfuncFault, PcFault as Fault, checkCallback, describeBudgetFault, describeMemoryFault,
  isInstructionIndex, loadCallbackArgs, loadRunArgs, storeRegister, toVmFault, type InterpreterOptions, type LegacyPacket,
  type RunArgs,
} from './engine-core.js';
import { XOP } from '../isa/xop.js';
import type { Coverage } from './coverage.js';
import type { ProgramImage } from './image.js';
import { ORIGIN_HERE } from './r0-origin.js';
import { atomic } from './atomic.js';
import {
  bswap16, bswap32, int64, mul64, sar64, sdiv32, sdiv64, shl64, shr64, slt64, smod32, smod64, udiv32,
  udiv64, ult64, umod32, umod64, pairToBigInt,
} from './int64.js';
import { BPF_IND, BPF_MODE, MAX_BPF_STACK, MAX_CALL_FRAMES, sizeBytes } from '../isa/opcodes.js';

/** The dispatch code of an instruction that notes an origin, as a constant (a property load each instruction is not free). */
const ORIGIN_MARK = XOP.ORIGIN_MARK;
/** The dispatch code of every instruction while coverage is counted (vm/coverage.ts). */
const COVER_MARK = XOP.COVER_MARK;

export class Interpreter implements HelperCall {
  /** r0..r10 as (low, high) pairs: r_n is regs[2n] (low) and regs[2n+1] (high). */
  readonly regs = new Int32Array(22);
  readonly stack: Region;
  /** Address just past the stack; frame k's r10 is stackTop - k * 512. */
  readonly stackTop: number;
  budget: number;
  /** Set by the runtime before a run that may execute LD_ABS / LD_IND. */
  legacyPacket: LegacyPacket | undefined;
  /** Per-run state for helpers (HelperCall.env). */
  env: unknown;
  /** Instructions executed by the last run. */
  executed = 0;
  /** When set, every instruction executed is counted in it (coverage); undefined: nothing counted. */
  coverage: Coverage | undefined;
  /** The pc of the instruction that ended the last run (its exit), in the image that ran last. */
  exitPc = 0;
  /**
   * The pc, in the image that ran last, of the instruction that made the value r0 held when the
   * run ended (through copies and calls: r0-origin.ts) — where its return value was decided;
   * -1 when unknown.
   */
  r0Pc = -1;

  // HelperCall state
  image!: ProgramImage;
  tailCalls = 0;
  tailCallTarget: ProgramImage | undefined;

  private readonly saved = new Int32Array(MAX_CALL_FRAMES * 9);
  /** Each register's origin (r0-origin.ts), one file per nesting of execute (callbacks nest). */
  private readonly originFiles = Array.from({ length: MAX_CALL_FRAMES + 1 }, () => new Int32Array(11));
  /** The origins of r6–r9 a local call keeps for its caller, per frame. */
  private readonly savedOrigins = new Int32Array(MAX_CALL_FRAMES * 4);
  private readonly helperCaller: HelperCaller;
  /** The current frame's depth (0 = the program's own), kept for callbacks. */
  private depth = 0;
  /** The caller's registers while a callback runs, one buffer per depth (nothing allocates per call). */
  private readonly callbackSaves = Array.from({ length: MAX_CALL_FRAMES }, () => new Int32Array(22));

  constructor(
    readonly arena: Arena,
    readonly helpers: HelperTable,
    options: InterpreterOptions = {},
  ) {
    this.budget = options.budget ?? DEFAULT_BUDGET;
    this.stack = options.stack ?? arena.alloc(MAX_BPF_STACK * MAX_CALL_FRAMES, 'stack', 'bpf stack');
    this.stackTop = this.stack.end;
    this.helperCaller = new HelperCaller(helpers);
  }

  /** r0 of the last run as an unsigned 64-bit BigInt. */
  get r0(): bigint {
    return pairToBigInt(this.regs[0], this.regs[1]);
  }

  /** Set a register to a 64-bit value before a run. */
  setReg(n: number, value: bigint): void {
    storeRegister(this.regs, n, value);
  }

  /**
   * Run a program. r1..r5 come from `args` (registers not given are 0) or were set with
   * setReg before (pass `undefined` to keep them). Returns the low 32 bits of r0 as an
   * unsigned number (the verdict of a networking program); `r0` has all 64 bits.
   */
  run(image: ProgramImage, args?: RunArgs): number {
    const regs = this.regs;
    if (args) loadRunArgs(regs, args);
    this.tailCalls = 0;
    this.executed = 0;
    this.depth = 0;
    this.r0Pc = -1;
    try {
      this.execute(image, 0, 0);
    } catch (err) {
      if (err instanceof Fault) throw this.toVmFault(err);
      throw err;
    }
    return regs[0] >>> 0;
  }

  private toVmFault(fault: Fault): VmFault {
    return toVmFault(this.image, fault);
  }

  private memoryFault(pc: number, addr: number, hi: number, size: number, write: boolean): Fault {
    return new Fault('MEMORY', pc, describeMemoryFault(this.arena, addr, hi, size, write));
  }

  // The dispatch loop. Long by nature: one case per instruction form.
  /**
   * Call a function of the running program from inside a helper (bpf_loop's callback,
   * bpf_for_each_map_elem's): r1..r5 as given, a frame of its own one level below the
   * caller's, every register of the caller restored afterwards. Returns the callback's r0
   * (low 32 bits, signed: callbacks return 0 or 1).
   */
  callFunction(pc: number, args: readonly number[]): number {
    const image = this.image;
    checkCallback(image, pc, this.depth);
    const R = this.regs;
    const depth = this.depth;
    const saved = this.callbackSaves[depth];
    saved.set(R);
    try {
      loadCallbackArgs(R, args);
      this.execute(image, pc, depth + 1);
      return R[0];
    } finally {
      R.set(saved);
      this.depth = depth;
      this.image = image;
    }
  }

  /** The pcs of the helper call in progress and of each call site below it, innermost first. */
  callChain(): number[] {
    const chain = [this.helperCaller.pc];
    for (let d = this.depth; d > 0; d--) chain.push(this.saved[(d - 1) * 9 + 8] - 1);
    return chain;
  }

  /** Run from `startPc` in frame `baseDepth` until that frame exits. */
  private execute(entry: ProgramImage, startPc: number, baseDepth: number): void {
    const R = this.regs;
    const arena = this.arena;
    // The tables are views into the arena: a helper that grows it replaces them (see refresh).
    let pageRegion = arena.pageRegion, regionStart = arena.regionStart, regionEnd = arena.regionEnd;
    let regionFlags = arena.regionFlags;
    const saved = this.saved;
    const budget = this.budget;
    let u8 = arena.u8, dv = arena.view;
    let image = entry;
    this.image = image;
    let xop = image.xop, dst2 = image.dst2, src2 = image.src2, offs = image.off, imms = image.imm;
    // Dispatch codes: xop, or ORIGIN_MARK where an instruction notes an origin (image.ts).
    let cover = this.coverage?.of(image);
    let dispatch = cover ? cover.dispatch : image.dispatch;
    /** Coverage: the pc of the conditional jump just executed, whose side the next pc tells; -1 none. */
    let branchAt = -1;
    let originKind = image.origins.kind, originReg = image.origins.reg, originFrom = image.origins.from;
    const origin = this.originFiles[baseDepth];
    origin.fill(-1);
    const savedOrigins = this.savedOrigins;
    let depth = baseDepth;
    let n = 0;
    let pc = startPc;
    R[20] = this.stackTop - depth * MAX_BPF_STACK;
    R[21] = 0;

    // Resolve [base + off, +size) for an access; returns the address or throws a Fault whose
    // pc the loop's catch fills in (capturing `pc` here would slow every instruction).
    const access = (base: number, off: number, size: number, flag: number): number => {
      const hi = R[base + 1];
      const a = (R[base] >>> 0) + off;
      const id = pageRegion[a >>> 12];
      if (hi !== 0 || id === 0 || a < regionStart[id] || a + size > regionEnd[id] || (regionFlags[id] & flag) === 0) {
        throw this.memoryFault(-1, a, hi, size, flag === REGION_WRITE);
      }
      return a;
    };

    try {
    for (;;) {
      n++;
      const d = dst2[pc];
      let op = dispatch[pc];
      if (op >= ORIGIN_MARK) { // the marks sort above every xop: one test when there are none
        if (op === COVER_MARK) { // count it (and the side the jump before it took), then run it
          branchAt = cover!.count(pc, branchAt);
          op = image.dispatch[pc];
        }
        if (op === ORIGIN_MARK) { // note where the value comes from, then run the instruction
          origin[originReg[pc]] = originKind[pc] === ORIGIN_HERE ? pc : origin[originFrom[pc]];
          op = xop[pc];
        }
      }
      switch (op) {

        // ---- ALU64, immediate: dst op= (s64)imm
        case 0x07: { // ADD64_IMM: add dst, imm
          const k = imms[pc], lo = R[d], r = (lo + k) | 0;
          R[d + 1] = (R[d + 1] + (k >> 31) + (r >>> 0 < lo >>> 0 ? 1 : 0)) | 0;
          R[d] = r;
          break;
        }
        case 0x17: { // SUB64_IMM: sub dst, imm
          const k = imms[pc], lo = R[d], r = (lo - k) | 0;
          R[d + 1] = (R[d + 1] - (k >> 31) - (lo >>> 0 < k >>> 0 ? 1 : 0)) | 0;
          R[d] = r;
          break;
        }
        case 0x27: { const k = imms[pc]; R[d] = mul64(R[d], R[d + 1], k, k >> 31); R[d + 1] = int64.hi; break; } // MUL64_IMM: mul dst, imm
        case 0x37: { const k = imms[pc]; R[d] = udiv64(R[d], R[d + 1], k, k >> 31); R[d + 1] = int64.hi; break; } // DIV64_IMM: div dst, imm
        case 0x100: { const k = imms[pc]; R[d] = sdiv64(R[d], R[d + 1], k, k >> 31); R[d + 1] = int64.hi; break; } // SDIV64_IMM: sdiv dst, imm
        case 0x47: { const k = imms[pc]; R[d] |= k; R[d + 1] |= k >> 31; break; } // OR64_IMM: or dst, imm
        case 0x57: { const k = imms[pc]; R[d] &= k; R[d + 1] &= k >> 31; break; } // AND64_IMM: and dst, imm
        case 0x67: R[d] = shl64(R[d], R[d + 1], imms[pc]); R[d + 1] = int64.hi; break; // LSH64_IMM: lsh dst, imm
        case 0x77: R[d] = shr64(R[d], R[d + 1], imms[pc]); R[d + 1] = int64.hi; break; // RSH64_IMM: rsh dst, imm
        case 0x87: { const lo = R[d]; R[d] = -lo | 0; R[d + 1] = (~R[d + 1] + (lo === 0 ? 1 : 0)) | 0; break; } // NEG64: neg dst
        case 0x97: { const k = imms[pc]; R[d] = umod64(R[d], R[d + 1], k, k >> 31); R[d + 1] = int64.hi; break; } // MOD64_IMM: mod dst, imm
        case 0x102: { const k = imms[pc]; R[d] = smod64(R[d], R[d + 1], k, k >> 31); R[d + 1] = int64.hi; break; } // SMOD64_IMM: smod dst, imm
        case 0xa7: { const k = imms[pc]; R[d] ^= k; R[d + 1] ^= k >> 31; break; } // XOR64_IMM: xor dst, imm
        case 0xb7: { const k = imms[pc]; R[d] = k; R[d + 1] = k >> 31; break; } // MOV64_IMM: mov dst, imm
        case 0xc7: R[d] = sar64(R[d], R[d + 1], imms[pc]); R[d + 1] = int64.hi; break; // ARSH64_IMM: arsh dst, imm

        // ---- ALU64, register: dst op= src
        case 0x0f: { // ADD64_REG: add dst, src
          const s = src2[pc], lo = R[d], r = (lo + R[s]) | 0;
          R[d + 1] = (R[d + 1] + R[s + 1] + (r >>> 0 < lo >>> 0 ? 1 : 0)) | 0;
          R[d] = r;
          break;
        }
        case 0x1f: { // SUB64_REG: sub dst, src
          const s = src2[pc], lo = R[d], k = R[s], r = (lo - k) | 0;
          R[d + 1] = (R[d + 1] - R[s + 1] - (lo >>> 0 < k >>> 0 ? 1 : 0)) | 0;
          R[d] = r;
          break;
        }
        case 0x2f: { const s = src2[pc]; R[d] = mul64(R[d], R[d + 1], R[s], R[s + 1]); R[d + 1] = int64.hi; break; } // MUL64_REG: mul dst, src
        case 0x3f: { const s = src2[pc]; R[d] = udiv64(R[d], R[d + 1], R[s], R[s + 1]); R[d + 1] = int64.hi; break; } // DIV64_REG: div dst, src
        case 0x101: { const s = src2[pc]; R[d] = sdiv64(R[d], R[d + 1], R[s], R[s + 1]); R[d + 1] = int64.hi; break; } // SDIV64_REG: sdiv dst, src
        case 0x4f: { const s = src2[pc]; R[d] |= R[s]; R[d + 1] |= R[s + 1]; break; } // OR64_REG: or dst, src
        case 0x5f: { const s = src2[pc]; R[d] &= R[s]; R[d + 1] &= R[s + 1]; break; } // AND64_REG: and dst, src
        case 0x6f: R[d] = shl64(R[d], R[d + 1], R[src2[pc]]); R[d + 1] = int64.hi; break; // LSH64_REG: lsh dst, src
        case 0x7f: R[d] = shr64(R[d], R[d + 1], R[src2[pc]]); R[d + 1] = int64.hi; break; // RSH64_REG: rsh dst, src
        case 0x9f: { const s = src2[pc]; R[d] = umod64(R[d], R[d + 1], R[s], R[s + 1]); R[d + 1] = int64.hi; break; } // MOD64_REG: mod dst, src
        case 0x103: { const s = src2[pc]; R[d] = smod64(R[d], R[d + 1], R[s], R[s + 1]); R[d + 1] = int64.hi; break; } // SMOD64_REG: smod dst, src
        case 0xaf: { const s = src2[pc]; R[d] ^= R[s]; R[d + 1] ^= R[s + 1]; break; } // XOR64_REG: xor dst, src
        case 0xbf: { const s = src2[pc]; R[d] = R[s]; R[d + 1] = R[s + 1]; break; } // MOV64_REG: mov dst, src
        case 0x108: { const v = (R[src2[pc]] << 24) >> 24; R[d] = v; R[d + 1] = v >> 31; break; } // MOVSX64_8: movsx dst, src (s8)
        case 0x109: { const v = (R[src2[pc]] << 16) >> 16; R[d] = v; R[d + 1] = v >> 31; break; } // MOVSX64_16: movsx dst, src (s16)
        case 0x10a: { const v = R[src2[pc]]; R[d] = v; R[d + 1] = v >> 31; break; } // MOVSX64_32: movsx dst, src (s32)
        case 0xcf: R[d] = sar64(R[d], R[d + 1], R[src2[pc]]); R[d + 1] = int64.hi; break; // ARSH64_REG: arsh dst, src

        // ---- ALU (32-bit), immediate and register: results zero-extend
        case 0x04: R[d] = (R[d] + imms[pc]) | 0; R[d + 1] = 0; break; // ADD32_IMM: add32 dst, imm
        case 0x14: R[d] = (R[d] - imms[pc]) | 0; R[d + 1] = 0; break; // SUB32_IMM: sub32 dst, imm
        case 0x24: R[d] = Math.imul(R[d], imms[pc]); R[d + 1] = 0; break; // MUL32_IMM: mul32 dst, imm
        case 0x34: R[d] = udiv32(R[d], imms[pc]); R[d + 1] = 0; break; // DIV32_IMM: div32 dst, imm
        case 0x104: R[d] = sdiv32(R[d], imms[pc]); R[d + 1] = 0; break; // SDIV32_IMM: sdiv32 dst, imm
        case 0x44: R[d] |= imms[pc]; R[d + 1] = 0; break; // OR32_IMM: or32 dst, imm
        case 0x54: R[d] &= imms[pc]; R[d + 1] = 0; break; // AND32_IMM: and32 dst, imm
        case 0x64: R[d] <<= imms[pc]; R[d + 1] = 0; break; // LSH32_IMM: lsh32 dst, imm (JS masks the count to 5 bits, as BPF)
        case 0x74: R[d] = R[d] >>> imms[pc]; R[d + 1] = 0; break; // RSH32_IMM: rsh32 dst, imm
        case 0x84: R[d] = -R[d] | 0; R[d + 1] = 0; break; // NEG32: neg32 dst
        case 0x94: R[d] = umod32(R[d], imms[pc]); R[d + 1] = 0; break; // MOD32_IMM: mod32 dst, imm
        case 0x106: R[d] = smod32(R[d], imms[pc]); R[d + 1] = 0; break; // SMOD32_IMM: smod32 dst, imm
        case 0xa4: R[d] ^= imms[pc]; R[d + 1] = 0; break; // XOR32_IMM: xor32 dst, imm
        case 0xb4: R[d] = imms[pc]; R[d + 1] = 0; break; // MOV32_IMM: mov32 dst, imm
        case 0xc4: R[d] >>= imms[pc]; R[d + 1] = 0; break; // ARSH32_IMM: arsh32 dst, imm
        case 0x0c: R[d] = (R[d] + R[src2[pc]]) | 0; R[d + 1] = 0; break; // ADD32_REG: add32 dst, src
        case 0x1c: R[d] = (R[d] - R[src2[pc]]) | 0; R[d + 1] = 0; break; // SUB32_REG: sub32 dst, src
        case 0x2c: R[d] = Math.imul(R[d], R[src2[pc]]); R[d + 1] = 0; break; // MUL32_REG: mul32 dst, src
        case 0x3c: R[d] = udiv32(R[d], R[src2[pc]]); R[d + 1] = 0; break; // DIV32_REG: div32 dst, src
        case 0x105: R[d] = sdiv32(R[d], R[src2[pc]]); R[d + 1] = 0; break; // SDIV32_REG: sdiv32 dst, src
        case 0x4c: R[d] |= R[src2[pc]]; R[d + 1] = 0; break; // OR32_REG: or32 dst, src
        case 0x5c: R[d] &= R[src2[pc]]; R[d + 1] = 0; break; // AND32_REG: and32 dst, src
        case 0x6c: R[d] <<= R[src2[pc]]; R[d + 1] = 0; break; // LSH32_REG: lsh32 dst, src
        case 0x7c: R[d] = R[d] >>> R[src2[pc]]; R[d + 1] = 0; break; // RSH32_REG: rsh32 dst, src
        case 0x9c: R[d] = umod32(R[d], R[src2[pc]]); R[d + 1] = 0; break; // MOD32_REG: mod32 dst, src
        case 0x107: R[d] = smod32(R[d], R[src2[pc]]); R[d + 1] = 0; break; // SMOD32_REG: smod32 dst, src
        case 0xac: R[d] ^= R[src2[pc]]; R[d + 1] = 0; break; // XOR32_REG: xor32 dst, src
        case 0xbc: R[d] = R[src2[pc]]; R[d + 1] = 0; break; // MOV32_REG: mov32 dst, src
        case 0x10b: R[d] = (R[src2[pc]] << 24) >> 24; R[d + 1] = 0; break; // MOVSX32_8: movsx32 dst, src (s8)
        case 0x10c: R[d] = (R[src2[pc]] << 16) >> 16; R[d + 1] = 0; break; // MOVSX32_16: movsx32 dst, src (s16)
        case 0xcc: R[d] >>= R[src2[pc]]; R[d + 1] = 0; break; // ARSH32_REG: arsh32 dst, src

        // ---- byte order: le/be convert from host (little-endian) order; bswap always swaps
        case 0x10d: R[d] &= 0xffff; R[d + 1] = 0; break; // LE16: le16 dst
        case 0x10e: R[d + 1] = 0; break; // LE32: le32 dst
        case 0x10f: break; // LE64: le64 dst
        case 0x110: // BE16: be16 dst
        case 0x113: // BSWAP16: bswap16 dst
          R[d] = bswap16(R[d]); R[d + 1] = 0; break;
        case 0x111: // BE32: be32 dst
        case 0x114: // BSWAP32: bswap32 dst
          R[d] = bswap32(R[d]); R[d + 1] = 0; break;
        case 0x112: // BE64: be64 dst
        case 0x115: // BSWAP64: bswap64 dst
          { const lo = R[d]; R[d] = bswap32(R[d + 1]); R[d + 1] = bswap32(lo); break; }

        // ---- jumps (JMP: 64-bit compare; JMP32: low words)
        case 0x05: if (offs[pc] < 0 && n > budget) throw this.budgetFault(pc); pc += offs[pc]; break; // JA: ja +off
        case 0x06: if (imms[pc] < 0 && n > budget) throw this.budgetFault(pc); pc += imms[pc]; break; // JA32: gotol +imm
        case 0x15: // JEQ_IMM: jeq dst, imm, +off
        case 0x1d: // JEQ_REG: jeq dst, src, +off
        case 0x55: // JNE_IMM: jne dst, imm, +off
        case 0x5d: // JNE_REG: jne dst, src, +off
        case 0x25: // JGT_IMM: jgt dst, imm, +off
        case 0x2d: // JGT_REG: jgt dst, src, +off
        case 0x35: // JGE_IMM: jge dst, imm, +off
        case 0x3d: // JGE_REG: jge dst, src, +off
        case 0xa5: // JLT_IMM: jlt dst, imm, +off
        case 0xad: // JLT_REG: jlt dst, src, +off
        case 0xb5: // JLE_IMM: jle dst, imm, +off
        case 0xbd: // JLE_REG: jle dst, src, +off
        case 0x45: // JSET_IMM: jset dst, imm, +off
        case 0x4d: // JSET_REG: jset dst, src, +off
        case 0x65: // JSGT_IMM: jsgt dst, imm, +off
        case 0x6d: // JSGT_REG: jsgt dst, src, +off
        case 0x75: // JSGE_IMM: jsge dst, imm, +off
        case 0x7d: // JSGE_REG: jsge dst, src, +off
        case 0xc5: // JSLT_IMM: jslt dst, imm, +off
        case 0xcd: // JSLT_REG: jslt dst, src, +off
        case 0xd5: // JSLE_IMM: jsle dst, imm, +off
        case 0xdd: { // JSLE_REG: jsle dst, src, +off
          const code = xop[pc];
          let blo: number, bhi: number;
          if (code & 0x08) { const s = src2[pc]; blo = R[s]; bhi = R[s + 1]; } else { blo = imms[pc]; bhi = blo >> 31; } // BPF_X: src
          const alo = R[d], ahi = R[d + 1];
          let taken: boolean;
          switch (code & 0xf0) { // BPF_OP
            case 0x10: taken = alo === blo && ahi === bhi; break; // BPF_JEQ
            case 0x50: taken = alo !== blo || ahi !== bhi; break; // BPF_JNE
            case 0x20: taken = ult64(blo, bhi, alo, ahi); break; // BPF_JGT
            case 0x30: taken = !ult64(alo, ahi, blo, bhi); break; // BPF_JGE
            case 0xa0: taken = ult64(alo, ahi, blo, bhi); break; // BPF_JLT
            case 0xb0: taken = !ult64(blo, bhi, alo, ahi); break; // BPF_JLE
            case 0x40: taken = (alo & blo) !== 0 || (ahi & bhi) !== 0; break; // BPF_JSET
            case 0x60: taken = slt64(blo, bhi, alo, ahi); break; // BPF_JSGT
            case 0x70: taken = !slt64(alo, ahi, blo, bhi); break; // BPF_JSGE
            case 0xc0: taken = slt64(alo, ahi, blo, bhi); break; // BPF_JSLT
            default: taken = !slt64(blo, bhi, alo, ahi); break; // BPF_JSLE
          }
          if (taken) {
            if (offs[pc] < 0 && n > budget) throw this.budgetFault(pc);
            pc += offs[pc];
          }
          break;
        }
        case 0x16: // JEQ32_IMM: jeq32 dst, imm, +off
        case 0x1e: // JEQ32_REG: jeq32 dst, src, +off
        case 0x56: // JNE32_IMM: jne32 dst, imm, +off
        case 0x5e: // JNE32_REG: jne32 dst, src, +off
        case 0x26: // JGT32_IMM: jgt32 dst, imm, +off
        case 0x2e: // JGT32_REG: jgt32 dst, src, +off
        case 0x36: // JGE32_IMM: jge32 dst, imm, +off
        case 0x3e: // JGE32_REG: jge32 dst, src, +off
        case 0xa6: // JLT32_IMM: jlt32 dst, imm, +off
        case 0xae: // JLT32_REG: jlt32 dst, src, +off
        case 0xb6: // JLE32_IMM: jle32 dst, imm, +off
        case 0xbe: // JLE32_REG: jle32 dst, src, +off
        case 0x46: // JSET32_IMM: jset32 dst, imm, +off
        case 0x4e: // JSET32_REG: jset32 dst, src, +off
        case 0x66: // JSGT32_IMM: jsgt32 dst, imm, +off
        case 0x6e: // JSGT32_REG: jsgt32 dst, src, +off
        case 0x76: // JSGE32_IMM: jsge32 dst, imm, +off
        case 0x7e: // JSGE32_REG: jsge32 dst, src, +off
        case 0xc6: // JSLT32_IMM: jslt32 dst, imm, +off
        case 0xce: // JSLT32_REG: jslt32 dst, src, +off
        case 0xd6: // JSLE32_IMM: jsle32 dst, imm, +off
        case 0xde: { // JSLE32_REG: jsle32 dst, src, +off
          const code = xop[pc];
          const a = R[d], b = code & 0x08 ? R[src2[pc]] : imms[pc]; // BPF_X: src
          let taken: boolean;
          switch (code & 0xf0) { // BPF_OP
            case 0x10: taken = a === b; break; // BPF_JEQ
            case 0x50: taken = a !== b; break; // BPF_JNE
            case 0x20: taken = a >>> 0 > b >>> 0; break; // BPF_JGT
            case 0x30: taken = a >>> 0 >= b >>> 0; break; // BPF_JGE
            case 0xa0: taken = a >>> 0 < b >>> 0; break; // BPF_JLT
            case 0xb0: taken = a >>> 0 <= b >>> 0; break; // BPF_JLE
            case 0x40: taken = (a & b) !== 0; break; // BPF_JSET
            case 0x60: taken = a > b; break; // BPF_JSGT
            case 0x70: taken = a >= b; break; // BPF_JSGE
            case 0xc0: taken = a < b; break; // BPF_JSLT
            default: taken = a <= b; break; // BPF_JSLE
          }
          if (taken) {
            if (offs[pc] < 0 && n > budget) throw this.budgetFault(pc);
            pc += offs[pc];
          }
          break;
        }

        // ---- calls and exit
        case 0x85: { // CALL: call imm (a helper)
          const action = this.helperCaller.callById(this, imms[pc], pc);
          u8 = arena.u8; dv = arena.view;
          pageRegion = arena.pageRegion; regionStart = arena.regionStart; regionEnd = arena.regionEnd; regionFlags = arena.regionFlags;
          if (action === HELPER_CONTINUE) break;
          if (action === HELPER_STOP) {
            this.exitPc = pc;
            this.r0Pc = pc;
            return;
          }
          // HELPER_TAIL_CALL: the target replaces this program in the current frame.
          image = this.tailCallTarget!;
          this.tailCallTarget = undefined;
          this.tailCalls++;
          this.image = image;
          xop = image.xop; dst2 = image.dst2; src2 = image.src2; offs = image.off; imms = image.imm;
          cover = this.coverage?.of(image);
          dispatch = cover ? cover.dispatch : image.dispatch;
          originKind = image.origins.kind; originReg = image.origins.reg; originFrom = image.origins.from;
          origin.fill(-1);
          pc = 0;
          continue;
        }
        case 0x116: // CALL_LOCAL: call +imm (a local function)
        case 0x8d: { // CALLX: callx src (the register holds a function's instruction index, or a helper id)
          let target: number;
          if (xop[pc] === 0x116) { // CALL_LOCAL
            target = pc + 1 + imms[pc];
          } else {
            const s = src2[pc];
            target = R[s];
            if (!isInstructionIndex(image, target, R[s + 1])) {
              const action = this.helperCaller.callxHelper(this, target, R[s + 1], pc);
              u8 = arena.u8; dv = arena.view;
              pageRegion = arena.pageRegion; regionStart = arena.regionStart; regionEnd = arena.regionEnd; regionFlags = arena.regionFlags;
              if (action === HELPER_STOP) {
                this.r0Pc = pc;
                return;
              }
              break;
            }
          }
          if (depth + 1 >= MAX_CALL_FRAMES) throw new Fault('CALL_DEPTH', pc, CALL_DEPTH_DETAIL);
          if (n > budget) throw this.budgetFault(pc);
          const at = depth * 9;
          saved[at] = R[12]; saved[at + 1] = R[13]; saved[at + 2] = R[14]; saved[at + 3] = R[15];
          saved[at + 4] = R[16]; saved[at + 5] = R[17]; saved[at + 6] = R[18]; saved[at + 7] = R[19];
          saved[at + 8] = pc + 1;
          // r6–r9 are the caller's again after the call, and so are their origins.
          savedOrigins[depth * 4] = origin[6]; savedOrigins[depth * 4 + 1] = origin[7];
          savedOrigins[depth * 4 + 2] = origin[8]; savedOrigins[depth * 4 + 3] = origin[9];
          depth++;
          this.depth = depth;
          R[20] = this.stackTop - depth * MAX_BPF_STACK;
          pc = target;
          continue;
        }
        case 0x117: // CALL_KFUNC: call imm (a kernel function)
          throw new Fault('KFUNC', pc, describeKfuncFault(imms[pc]));
        case 0x95: { // EXIT: exit
          if (depth === baseDepth) {
            this.exitPc = pc;
            this.r0Pc = origin[0];
            return;
          }
          depth--;
          this.depth = depth;
          const at = depth * 9;
          R[12] = saved[at]; R[13] = saved[at + 1]; R[14] = saved[at + 2]; R[15] = saved[at + 3];
          R[16] = saved[at + 4]; R[17] = saved[at + 5]; R[18] = saved[at + 6]; R[19] = saved[at + 7];
          R[20] = this.stackTop - depth * MAX_BPF_STACK;
          origin[6] = savedOrigins[depth * 4]; origin[7] = savedOrigins[depth * 4 + 1];
          origin[8] = savedOrigins[depth * 4 + 2]; origin[9] = savedOrigins[depth * 4 + 3];
          pc = saved[at + 8];
          continue;
        }

        // ---- 64-bit immediate loads
        case 0x18: R[d] = imms[pc]; R[d + 1] = imms[pc + 1]; pc++; break; // LDDW: lddw dst, imm64
        case 0x118: R[d] = pc + 1 + imms[pc]; R[d + 1] = 0; pc++; break; // LDDW_FUNC: lddw dst, +imm (a function's address)

        // ---- loads: dst = *(size *)(src + off)
        case 0x71: R[d] = u8[access(src2[pc], offs[pc], 1, REGION_READ)]; R[d + 1] = 0; break; // LDXB: ldxb dst, [src+off]
        case 0x69: R[d] = dv.getUint16(access(src2[pc], offs[pc], 2, REGION_READ), true); R[d + 1] = 0; break; // LDXH: ldxh dst, [src+off]
        case 0x61: R[d] = dv.getInt32(access(src2[pc], offs[pc], 4, REGION_READ), true); R[d + 1] = 0; break; // LDXW: ldxw dst, [src+off]
        case 0x79: { // LDXDW: ldxdw dst, [src+off]
          const a = access(src2[pc], offs[pc], 8, REGION_READ);
          R[d] = dv.getInt32(a, true);
          R[d + 1] = dv.getInt32(a + 4, true);
          break;
        }
        case 0x91: { const v = dv.getInt8(access(src2[pc], offs[pc], 1, REGION_READ)); R[d] = v; R[d + 1] = v >> 31; break; } // LDXSB: ldxsb dst, [src+off]
        case 0x89: { const v = dv.getInt16(access(src2[pc], offs[pc], 2, REGION_READ), true); R[d] = v; R[d + 1] = v >> 31; break; } // LDXSH: ldxsh dst, [src+off]
        case 0x81: { const v = dv.getInt32(access(src2[pc], offs[pc], 4, REGION_READ), true); R[d] = v; R[d + 1] = v >> 31; break; } // LDXSW: ldxsw dst, [src+off]

        // ---- stores: *(size *)(dst + off) = imm | src
        case 0x72: u8[access(d, offs[pc], 1, REGION_WRITE)] = imms[pc]; break; // STB: stb [dst+off], imm
        case 0x6a: dv.setInt16(access(d, offs[pc], 2, REGION_WRITE), imms[pc], true); break; // STH: sth [dst+off], imm
        case 0x62: dv.setInt32(access(d, offs[pc], 4, REGION_WRITE), imms[pc], true); break; // STW: stw [dst+off], imm
        case 0x7a: { // STDW: stdw [dst+off], imm
          const a = access(d, offs[pc], 8, REGION_WRITE), k = imms[pc];
          dv.setInt32(a, k, true);
          dv.setInt32(a + 4, k >> 31, true);
          break;
        }
        case 0x73: u8[access(d, offs[pc], 1, REGION_WRITE)] = R[src2[pc]]; break; // STXB: stxb [dst+off], src
        case 0x6b: dv.setInt16(access(d, offs[pc], 2, REGION_WRITE), R[src2[pc]], true); break; // STXH: stxh [dst+off], src
        case 0x63: dv.setInt32(access(d, offs[pc], 4, REGION_WRITE), R[src2[pc]], true); break; // STXW: stxw [dst+off], src
        case 0x7b: { // STXDW: stxdw [dst+off], src
          const a = access(d, offs[pc], 8, REGION_WRITE), s = src2[pc];
          dv.setInt32(a, R[s], true);
          dv.setInt32(a + 4, R[s + 1], true);
          break;
        }

        // ---- legacy packet loads (socket buffer data, network byte order)
        case 0x30: // LD_ABS_B: ldabsb imm
        case 0x28: // LD_ABS_H: ldabsh imm
        case 0x20: // LD_ABS_W: ldabsw imm
        case 0x50: // LD_IND_B: ldindb src, imm
        case 0x48: // LD_IND_H: ldindh src, imm
        case 0x40: { // LD_IND_W: ldindw src, imm
          const code = xop[pc];
          const pkt = this.legacyPacket;
          if (!pkt) throw new Fault('LEGACY_PACKET', pc, LEGACY_PACKET_DETAIL);
          const size = sizeBytes(code);
          const offset = (BPF_MODE(code) === BPF_IND ? R[src2[pc]] : 0) + imms[pc];
          const a = pkt.dataStart + offset;
          if (offset < 0 || a + size > pkt.dataEnd) {
            // The kernel ends the program with r0 = 0 when the load is outside the packet.
            R[0] = 0;
            R[1] = 0;
            this.exitPc = pc;
            this.r0Pc = pc;
            return;
          }
          R[0] = size === 1 ? u8[a] : size === 2 ? dv.getUint16(a, false) : dv.getInt32(a, false);
          R[1] = 0;
          break;
        }

        // ---- atomics: lock <op>[32] [dst + off], src
        case 0x120: // ATOMIC32_ADD: lock add32 [dst+off], src
        case 0x121: // ATOMIC32_OR: lock or32 [dst+off], src
        case 0x122: // ATOMIC32_AND: lock and32 [dst+off], src
        case 0x123: // ATOMIC32_XOR: lock xor32 [dst+off], src
        case 0x124: // ATOMIC32_FETCH_ADD: lock fetch add32 [dst+off], src
        case 0x125: // ATOMIC32_FETCH_OR: lock fetch or32 [dst+off], src
        case 0x126: // ATOMIC32_FETCH_AND: lock fetch and32 [dst+off], src
        case 0x127: // ATOMIC32_FETCH_XOR: lock fetch xor32 [dst+off], src
        case 0x128: // ATOMIC32_XCHG: lock xchg32 [dst+off], src
        case 0x129: // ATOMIC32_CMPXCHG: lock cmpxchg32 [dst+off], src
          atomic(R, dv, xop[pc], access(d, offs[pc], 4, REGION_WRITE), src2[pc]);
          break;
        case 0x130: // ATOMIC64_ADD: lock add [dst+off], src
        case 0x131: // ATOMIC64_OR: lock or [dst+off], src
        case 0x132: // ATOMIC64_AND: lock and [dst+off], src
        case 0x133: // ATOMIC64_XOR: lock xor [dst+off], src
        case 0x134: // ATOMIC64_FETCH_ADD: lock fetch add [dst+off], src
        case 0x135: // ATOMIC64_FETCH_OR: lock fetch or [dst+off], src
        case 0x136: // ATOMIC64_FETCH_AND: lock fetch and [dst+off], src
        case 0x137: // ATOMIC64_FETCH_XOR: lock fetch xor [dst+off], src
        case 0x138: // ATOMIC64_XCHG: lock xchg [dst+off], src
        case 0x139: // ATOMIC64_CMPXCHG: lock cmpxchg [dst+off], src
          atomic(R, dv, xop[pc], access(d, offs[pc], 8, REGION_WRITE), src2[pc]);
          break;

        default:
          throw new Fault('BAD_CALL', pc, `opcode 0x${xop[pc].toString(16)} reached the interpreter undecoded`);
      }
      pc++;
    }
    } catch (err) {
      if (err instanceof Fault && err.pc < 0) throw new Fault(err.reason, pc, err.detail);
      throw err;
    } finally {
      this.executed += n;
    }
  }

  private budgetFault(pc: number): Fault {
    return new Fault('BUDGET', pc, describeBudgetFault(this.budget));
  }
}

export { REGION_READ, REGION_WRITE };
