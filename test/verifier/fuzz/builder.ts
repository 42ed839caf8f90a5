/**
 * A small assembler for the generator: emits instruction slots with symbolic jump targets,
 * and a seeded random source. Encodings follow include/uapi/linux/bpf.h; nothing here checks
 * that an instruction is valid (the fuzzer wants invalid ones too).
 */
import type { Slot } from './program.js';

export const LD = 0x00, LDX = 0x01, ST = 0x02, STX = 0x03, ALU = 0x04, JMP = 0x05, JMP32 = 0x06, ALU64 = 0x07;
export const K = 0x00, X = 0x08;
export const SIZE = { 4: 0x00, 2: 0x08, 1: 0x10, 8: 0x18 } as const;
export type Size = 1 | 2 | 4 | 8;
export const MEM = 0x60, MEMSX = 0x80, ATOMIC = 0xc0, ABS = 0x20, IND = 0x40, IMM = 0x00;

export const ALU_OPS = {
  add: 0x00, sub: 0x10, mul: 0x20, div: 0x30, or: 0x40, and: 0x50, lsh: 0x60, rsh: 0x70, neg: 0x80, mod: 0x90, xor: 0xa0,
  mov: 0xb0, arsh: 0xc0, end: 0xd0,
} as const;
export type AluOp = keyof typeof ALU_OPS;

export const JMP_OPS = {
  jeq: 0x10, jgt: 0x20, jge: 0x30, jset: 0x40, jne: 0x50, jsgt: 0x60, jsge: 0x70, jlt: 0xa0, jle: 0xb0, jslt: 0xc0, jsle: 0xd0,
} as const;
export type JmpOp = keyof typeof JMP_OPS;
export const JMP_OP_NAMES = Object.keys(JMP_OPS) as JmpOp[];

/** Helper ids (include/uapi/linux/bpf.h). */
export const FN = {
  map_lookup_elem: 1, map_update_elem: 2, map_delete_elem: 3, probe_read: 4, ktime_get_ns: 5, trace_printk: 6, get_prandom_u32: 7,
  get_smp_processor_id: 8, skb_store_bytes: 9, l3_csum_replace: 10, tail_call: 12, get_current_comm: 16, redirect: 23,
  perf_event_output: 25, skb_load_bytes: 26, csum_diff: 28, skb_change_tail: 38, skb_pull_data: 39, xdp_adjust_head: 44,
  redirect_map: 51, xdp_adjust_meta: 54, xdp_adjust_tail: 65, fib_lookup: 69, sk_lookup_tcp: 84, sk_lookup_udp: 85,
  sk_release: 86, map_push_elem: 87, map_pop_elem: 88, map_peek_elem: 89, spin_lock: 93, spin_unlock: 94, sk_fullsock: 95,
  tcp_sock: 96, get_listener_sock: 98, skc_lookup_tcp: 99, strtol: 105, strtoul: 106, probe_read_kernel: 113,
  ringbuf_output: 130, ringbuf_reserve: 131, ringbuf_submit: 132, ringbuf_discard: 133, ringbuf_query: 134,
  check_mtu: 163, for_each_map_elem: 164, snprintf: 165, loop: 181, strncmp: 182, xdp_get_buff_len: 188,
  xdp_load_bytes: 189, xdp_store_bytes: 190, map_lookup_percpu_elem: 195, ktime_get_boot_ns: 125, jiffies64: 118,
  get_numa_node_id: 42, get_hash_recalc: 34, skb_vlan_push: 18, csum_update: 40, skb_load_bytes_relative: 68,
} as const;

export const MAP = {
  hash: 1, array: 2, prog_array: 3, perf_event_array: 4, percpu_hash: 5, percpu_array: 6, lru_hash: 9, lru_percpu_hash: 10,
  lpm_trie: 11, array_of_maps: 12, hash_of_maps: 13, devmap: 14, cpumap: 16, xskmap: 17, queue: 22, stack: 23,
  devmap_hash: 25, ringbuf: 27, bloom_filter: 30,
} as const;

/** A register, or an immediate. */
export type Operand = { reg: number } | number;
export const r = (n: number): { reg: number } => ({ reg: n });

type Target = string | number;

export class Builder {
  readonly slots: Slot[] = [];
  private readonly labels = new Map<string, number>();
  private readonly fixups: { at: number; target: string; field: 'off' | 'imm' }[] = [];
  private next = 0;

  get pc(): number {
    return this.slots.length;
  }

  /** A fresh label name. */
  fresh(prefix = 'L'): string {
    return `${prefix}${this.next++}`;
  }

  label(name: string): this {
    this.labels.set(name, this.slots.length);
    return this;
  }

  emit(code: number, dst: number, src: number, off: number, imm: number): this {
    this.slots.push({ code: code & 0xff, dst: dst & 0xf, src: src & 0xf, off: (off << 16) >> 16, imm: imm | 0 });
    return this;
  }

  private target(t: Target, field: 'off' | 'imm'): number {
    if (typeof t === 'number') return t;
    this.fixups.push({ at: this.slots.length, target: t, field });
    return 0;
  }

  alu(op: AluOp, dst: number, src: Operand, is64 = true, off = 0): this {
    const cls = is64 ? ALU64 : ALU;
    if (typeof src === 'number') return this.emit(cls | K | ALU_OPS[op], dst, 0, off, src);
    return this.emit(cls | X | ALU_OPS[op], dst, src.reg, off, 0);
  }

  alu32(op: AluOp, dst: number, src: Operand): this {
    return this.alu(op, dst, src, false);
  }

  mov(dst: number, src: Operand): this {
    return this.alu('mov', dst, src);
  }

  mov32(dst: number, src: Operand): this {
    return this.alu('mov', dst, src, false);
  }

  /** movsx: dst = (s8/s16/s32) src. */
  movsx(dst: number, src: number, bits: 8 | 16 | 32, is64 = true): this {
    return this.emit((is64 ? ALU64 : ALU) | X | ALU_OPS.mov, dst, src, bits, 0);
  }

  /** le/be (ALU) or bswap (ALU64) of 16, 32 or 64 bits. */
  end(dst: number, bits: 16 | 32 | 64, kind: 'le' | 'be' | 'bswap'): this {
    if (kind === 'bswap') return this.emit(ALU64 | ALU_OPS.end, dst, 0, 0, bits);
    return this.emit(ALU | (kind === 'be' ? X : K) | ALU_OPS.end, dst, 0, 0, bits);
  }

  ldx(size: Size, dst: number, src: number, off: number): this {
    return this.emit(LDX | MEM | SIZE[size], dst, src, off, 0);
  }

  ldxsx(size: Size, dst: number, src: number, off: number): this {
    return this.emit(LDX | MEMSX | SIZE[size], dst, src, off, 0);
  }

  stx(size: Size, dst: number, off: number, src: number): this {
    return this.emit(STX | MEM | SIZE[size], dst, src, off, 0);
  }

  st(size: Size, dst: number, off: number, imm: number): this {
    return this.emit(ST | MEM | SIZE[size], dst, 0, off, imm);
  }

  /** An atomic operation (imm: BPF_ADD…, | BPF_FETCH, BPF_XCHG, BPF_CMPXCHG, load-acquire 0x100, store-release 0x110). */
  atomic(size: Size, dst: number, off: number, src: number, imm: number): this {
    return this.emit(STX | ATOMIC | SIZE[size], dst, src, off, imm);
  }

  jmp(op: JmpOp, dst: number, src: Operand, t: Target, is32 = false): this {
    const cls = is32 ? JMP32 : JMP;
    const off = this.target(t, 'off');
    if (typeof src === 'number') return this.emit(cls | K | JMP_OPS[op], dst, 0, off, src);
    return this.emit(cls | X | JMP_OPS[op], dst, src.reg, off, 0);
  }

  ja(t: Target): this {
    return this.emit(JMP | 0x00, 0, 0, this.target(t, 'off'), 0);
  }

  mayGoto(t: Target): this {
    return this.emit(JMP | 0xe0, 0, 0, this.target(t, 'off'), 0);
  }

  call(helper: number): this {
    return this.emit(JMP | 0x80, 0, 0, 0, helper);
  }

  callLocal(t: Target): this {
    return this.emit(JMP | 0x80, 0, 1, 0, this.target(t, 'imm'));
  }

  exit(): this {
    return this.emit(JMP | 0x90, 0, 0, 0, 0);
  }

  lddw(dst: number, value: bigint, src = 0): this {
    const v = BigInt.asUintN(64, value);
    this.emit(LD | IMM | 0x18, dst, src, 0, Number(BigInt.asIntN(32, v & 0xffffffffn)));
    return this.emit(0, 0, 0, 0, Number(BigInt.asIntN(32, v >> 32n)));
  }

  ldMap(dst: number, index: number): this {
    this.emit(LD | IMM | 0x18, dst, 1, 0, index);
    return this.emit(0, 0, 0, 0, 0);
  }

  ldMapValue(dst: number, index: number, off: number): this {
    this.emit(LD | IMM | 0x18, dst, 2, 0, index);
    return this.emit(0, 0, 0, 0, off);
  }

  ldFunc(dst: number, t: Target): this {
    this.emit(LD | IMM | 0x18, dst, 4, 0, this.target(t, 'imm'));
    return this.emit(0, 0, 0, 0, 0);
  }

  ldAbs(size: Size, imm: number): this {
    return this.emit(LD | ABS | SIZE[size], 0, 0, 0, imm);
  }

  ldInd(size: Size, src: number, imm: number): this {
    return this.emit(LD | IND | SIZE[size], 0, src, 0, imm);
  }

  /** The slots, every symbolic target resolved (relative to the next slot). */
  build(): Slot[] {
    for (const f of this.fixups) {
      const to = this.labels.get(f.target);
      if (to === undefined) throw new Error(`builder: unknown label ${f.target}`);
      this.slots[f.at][f.field] = to - (f.at + 1);
    }
    return this.slots;
  }
}

/** mulberry32: a small seeded generator, good enough to pick templates. */
export class Rng {
  private s: number;

  constructor(seed: number) {
    this.s = seed >>> 0;
  }

  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  /** An interesting 32-bit immediate. */
  imm(): number {
    return this.pick([
      () => this.pick([0, 1, -1, 2, 3, 4, 7, 8, 15, 16, 31, 32, 63, 64, 127, 128, 255, 256, 0x7fff, 0xffff, 0x10000, 0x7fffffff,
        -0x80000000, -2, -8, -16, -128, -256, 0x0fff, 0xff00, 1500, 4096, 14, 20, 34, 54]),
      () => this.int(-20, 80),
      () => this.int(0, 0xffff),
      () => (this.int(0, 0xffffffff) | 0),
    ])();
  }

  size(): Size {
    return this.pick([1, 2, 4, 8] as const);
  }
}
