/**
 * A fuzzed program as plain data — its type, maps, functions and instruction slots — and what
 * each side needs of it: the raw program kernel-load-insns loads (with a BTF blob and
 * func_info when it has several functions), the CollectionSpec xdplab's verifier takes, and a
 * text form (assembler syntax, `.raw code dst src off imm` for slots the assembler cannot
 * write) that reproducers and the regression table keep.
 */
import { parseBtf } from '../../../src/btf/btf.js';
import { formatInstruction } from '../../../src/isa/disasm.js';
import { assembleInstructions } from '../../../src/isa/asm.js';
import { Instruction, decodeInstructions } from '../../../src/isa/instruction.js';
import { OPCODES } from '../../../src/isa/opcodes.js';
import { BtfSections } from '../../../src/spec/btf-maps.js';
import type { CollectionSpec, MapReference, MapSpec, ProgramSpec } from '../../../src/spec/types.js';
import { BPF_ATTACH_TYPE, BPF_PROG_TYPE } from '../../../src/uapi/bpf.js';
import type { RawProgram } from '../../support/kernel-insns.js';

/** One 8-byte instruction slot, as the kernel reads it. */
export interface Slot {
  code: number;
  dst: number;
  src: number;
  off: number;
  imm: number;
}

export interface FuzzMap {
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
  /** Maps of maps: the index of an earlier map, the inner map's template. */
  inner?: number;
}

/** A global function's argument, as its BTF prototype declares it. */
export type FuncArg = 'scalar' | 'ctx' | 'mem';

export interface FuzzFunc {
  /** The first slot of the function. */
  start: number;
  global: boolean;
  args: FuncArg[];
}

export type ProgKind = 'xdp' | 'tc';

export interface FuzzProgram {
  kind: ProgKind;
  /** expected_attach_type (0, or BPF_XDP_DEVMAP for XDP programs of devmaps). */
  attachType: number;
  /** BPF_F_XDP_HAS_FRAGS. */
  frags: boolean;
  maps: FuzzMap[];
  slots: Slot[];
  /** Global functions (by start slot); every other function is static. */
  globals: FuzzFunc[];
}

export const BPF_F_XDP_HAS_FRAGS = 1 << 5;
const LDDW = 0x18;

export const progType = (kind: ProgKind): number => (kind === 'xdp' ? BPF_PROG_TYPE.BPF_PROG_TYPE_XDP : BPF_PROG_TYPE.BPF_PROG_TYPE_SCHED_CLS);

export function encodeSlots(slots: readonly Slot[]): Uint8Array {
  const out = new Uint8Array(slots.length * 8);
  const view = new DataView(out.buffer);
  slots.forEach((s, i) => {
    view.setUint8(i * 8, s.code);
    view.setUint8(i * 8 + 1, ((s.src & 0xf) << 4) | (s.dst & 0xf));
    view.setInt16(i * 8 + 2, s.off, true);
    view.setInt32(i * 8 + 4, s.imm, true);
  });
  return out;
}

const isPseudoCall = (s: Slot): boolean => s.code === 0x85 && s.src === 1;
const isPseudoFunc = (s: Slot): boolean => s.code === LDDW && s.src === 4;

/** The functions' first slots (add_subprog_and_kfunc): 0 and every call or callback target in range. */
export function functionStarts(slots: readonly Slot[]): number[] {
  const starts = new Set([0]);
  slots.forEach((s, i) => {
    if (isPseudoCall(s) || isPseudoFunc(s)) {
      const t = i + s.imm + 1;
      if (t >= 0 && t < slots.length) starts.add(t);
    }
  });
  return [...starts].sort((a, b) => a - b);
}

const funcName = (start: number): string => (start === 0 ? 'prog' : `f${start}`);

// ---- BTF: an int, the context struct, one prototype per function, a FUNC per function ---------

class BtfWriter {
  private readonly types: number[] = [];
  private readonly strings: number[] = [0];
  private count = 0;

  str(s: string): number {
    const off = this.strings.length;
    for (const c of Buffer.from(s)) this.strings.push(c);
    this.strings.push(0);
    return off;
  }

  add(words: number[]): number {
    this.types.push(...words);
    return ++this.count;
  }

  blob(): Uint8Array {
    const typeLen = this.types.length * 4;
    const out = new Uint8Array(24 + typeLen + this.strings.length);
    const v = new DataView(out.buffer);
    v.setUint16(0, 0xeb9f, true);
    v.setUint8(2, 1);
    v.setUint8(3, 0);
    v.setUint32(4, 24, true);
    v.setUint32(8, 0, true);
    v.setUint32(12, typeLen, true);
    v.setUint32(16, typeLen, true);
    v.setUint32(20, this.strings.length, true);
    this.types.forEach((w, i) => v.setUint32(24 + i * 4, w >>> 0, true));
    out.set(this.strings, 24 + typeLen);
    return out;
  }
}

const kindInfo = (kind: number, vlen: number): number => (kind << 24) | vlen;

/** The BTF a program with several functions is loaded with, and its func_info. */
export function programBtf(p: FuzzProgram): { blob: Uint8Array; funcInfo: [number, number][] } | undefined {
  const starts = functionStarts(p.slots);
  if (starts.length === 1 && p.globals.length === 0) return undefined;
  const w = new BtfWriter();
  const int = w.add([w.str('int'), kindInfo(1, 0), 4, (1 << 24) | 32]);
  const ctx = w.add([w.str(p.kind === 'xdp' ? 'xdp_md' : '__sk_buff'), kindInfo(4, 0), p.kind === 'xdp' ? 24 : 192]);
  const ctxPtr = w.add([0, kindInfo(2, 0), ctx]);
  const intPtr = w.add([0, kindInfo(2, 0), int]);
  const funcInfo: [number, number][] = [];
  for (const start of starts) {
    const g = p.globals.find((f) => f.start === start);
    const args = start === 0 ? ['ctx' as const] : g?.args ?? [];
    const params = args.flatMap((a, i) => [w.str(`a${i}`), a === 'ctx' ? ctxPtr : a === 'mem' ? intPtr : int]);
    const proto = w.add([0, kindInfo(13, args.length), int, ...params]);
    const fn = w.add([w.str(funcName(start)), kindInfo(12, g && start !== 0 ? 1 : 0), proto]);
    funcInfo.push([start, fn]);
  }
  return { blob: w.blob(), funcInfo };
}

export function toRaw(p: FuzzProgram): RawProgram {
  const btf = programBtf(p);
  return {
    progType: progType(p.kind), expectedAttachType: p.attachType, progFlags: p.frags ? BPF_F_XDP_HAS_FRAGS : 0,
    maps: p.maps, insns: encodeSlots(p.slots), btf: btf?.blob, funcInfo: btf?.funcInfo,
  };
}

// ---- xdplab's CollectionSpec -------------------------------------------------------------------

const mapName = (i: number): string => `m${i}`;

function mapSpec(maps: readonly FuzzMap[], i: number): MapSpec {
  const m = maps[i];
  return {
    name: mapName(i), type: m.type, keySize: m.keySize, valueSize: m.valueSize, maxEntries: m.maxEntries, flags: m.flags,
    pinning: 0, keyTypeId: 0, valueTypeId: 0, origin: 'fuzz', innerMap: m.inner !== undefined ? mapSpec(maps, m.inner) : undefined,
  };
}

/** The program as xdplab's loader would hand it to the verifier. */
export function toSpec(p: FuzzProgram): { spec: CollectionSpec; program: ProgramSpec } {
  const invalid = new Map<number, string>();
  const decoded = decodeInstructions(encodeSlots(p.slots), invalid);
  const mapReferences: MapReference[] = [];
  p.slots.forEach((s, i) => {
    if (s.code !== LDDW || (s.src !== 1 && s.src !== 2) || !decoded.pcs.includes(i)) return;
    if (s.imm < 0 || s.imm >= p.maps.length) return;
    mapReferences.push({ pc: i, map: mapName(s.imm), kind: s.src === 1 ? 'map' : 'value', offset: s.src === 2 ? (p.slots[i + 1]?.imm ?? 0) : 0 });
  });
  const btf = programBtf(p);
  const functions = new Map(functionStarts(p.slots).map((s) => [s, funcName(s)]));
  const program: ProgramSpec = {
    name: 'prog', sectionName: p.kind === 'xdp' ? (p.frags ? 'xdp.frags' : 'xdp') : 'tc', type: progType(p.kind),
    attachType: p.attachType === 0 ? BPF_ATTACH_TYPE.NONE : p.attachType, fragments: p.frags,
    instructions: [...decoded.insns], mapReferences, license: 'GPL', kernelVersion: 0, functions, lineInfo: new Map(),
    invalidInstructions: invalid,
  };
  const spec: CollectionSpec = {
    source: 'fuzz', maps: new Map(p.maps.map((_, i) => [mapName(i), mapSpec(p.maps, i)])), programs: new Map([['prog', program]]),
    license: 'GPL', kernelVersion: 0, btf: btf ? new BtfSections(parseBtf(btf.blob, 'fuzz'), undefined) : undefined,
  };
  return { spec, program };
}

// ---- text ---------------------------------------------------------------------------------------

const MAP_TYPE_WORDS: Record<number, string> = {
  1: 'hash', 2: 'array', 3: 'prog_array', 5: 'percpu_hash', 6: 'percpu_array', 9: 'lru_hash', 10: 'lru_percpu_hash', 11: 'lpm_trie',
  12: 'array_of_maps', 13: 'hash_of_maps', 14: 'devmap', 16: 'cpumap', 17: 'xskmap', 22: 'queue', 23: 'stack', 25: 'devmap_hash',
  27: 'ringbuf', 30: 'bloom_filter', 4: 'perf_event_array', 15: 'sockmap', 18: 'sockhash', 24: 'sk_storage',
};
const MAP_TYPE_NUMBERS = new Map(Object.entries(MAP_TYPE_WORDS).map(([n, w]) => [w, Number(n)]));

const rawLine = (s: Slot): string => `.raw 0x${s.code.toString(16).padStart(2, '0')} ${s.dst} ${s.src} ${s.off} ${s.imm}`;

/** One instruction (one or two slots) as assembler text, or `.raw` lines when the text would not give the same slots back. */
function insnText(slots: readonly Slot[], i: number): { text: string[]; width: number } {
  const s = slots[i];
  const wide = s.code === LDDW;
  if (!OPCODES[s.code] || (wide && i + 1 >= slots.length)) return { text: [rawLine(s)], width: 1 };
  const next = wide ? slots[i + 1] : undefined;
  const insn = new Instruction(s.code, s.dst, s.src, s.off, s.imm, next?.imm ?? 0);
  const raw = wide ? [rawLine(s), rawLine(next!)] : [rawLine(s)];
  if (next && (next.code || next.dst || next.src || next.off)) return { text: raw, width: 2 };
  let text: string;
  try {
    text = formatInstruction(insn, 'asm');
    const back = assembleInstructions(text);
    const b = back[0];
    if (back.length !== 1 || b.code !== s.code || b.dst !== s.dst || b.src !== s.src || b.off !== s.off || b.imm !== s.imm
      || (wide && b.immHi !== next!.imm)) return { text: raw, width: raw.length };
  } catch {
    return { text: raw, width: raw.length };
  }
  return { text: [text], width: wide ? 2 : 1 };
}

export function toText(p: FuzzProgram): string {
  const lines: string[] = [];
  lines.push(`prog ${p.kind}${p.attachType ? ` attach ${p.attachType}` : ''}${p.frags ? ' frags' : ''}`);
  p.maps.forEach((m, i) => {
    lines.push(`map ${i} ${MAP_TYPE_WORDS[m.type] ?? m.type} key ${m.keySize} value ${m.valueSize} entries ${m.maxEntries} flags ${m.flags}`
      + (m.inner !== undefined ? ` inner ${m.inner}` : ''));
  });
  for (const g of p.globals) lines.push(`global ${g.start} ${g.args.join(',') || '-'}`);
  for (let i = 0; i < p.slots.length;) {
    const { text, width } = insnText(p.slots, i);
    text.forEach((t, k) => lines.push(`${String(i + k).padStart(4)}: ${t}`));
    i += width;
  }
  return lines.join('\n') + '\n';
}

export function fromText(text: string): FuzzProgram {
  const p: FuzzProgram = { kind: 'xdp', attachType: 0, frags: false, maps: [], slots: [], globals: [] };
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) continue;
    const words = line.split(/\s+/);
    if (words[0] === 'prog') {
      p.kind = words[1] as ProgKind;
      const at = words.indexOf('attach');
      if (at > 0) p.attachType = Number(words[at + 1]);
      p.frags = words.includes('frags');
    } else if (words[0] === 'map') {
      const field = (name: string): number => Number(words[words.indexOf(name) + 1]);
      const type = MAP_TYPE_NUMBERS.get(words[2]) ?? Number(words[2]);
      const m: FuzzMap = { type, keySize: field('key'), valueSize: field('value'), maxEntries: field('entries'), flags: field('flags') };
      if (words.includes('inner')) m.inner = field('inner');
      p.maps.push(m);
    } else if (words[0] === 'global') {
      p.globals.push({ start: Number(words[1]), global: true, args: words[2] === '-' ? [] : (words[2].split(',') as FuncArg[]) });
    } else {
      const body = line.replace(/^\d+:\s*/, '');
      if (body.startsWith('.raw')) {
        const [, code, dst, src, off, imm] = body.split(/\s+/);
        p.slots.push({ code: Number(code), dst: Number(dst), src: Number(src), off: Number(off), imm: Number(imm) });
        continue;
      }
      for (const insn of assembleInstructions(body)) {
        p.slots.push({ code: insn.code, dst: insn.dst, src: insn.src, off: insn.off, imm: insn.imm });
        if (insn.width === 2) p.slots.push({ code: 0, dst: 0, src: 0, off: 0, imm: insn.immHi });
      }
    }
  }
  return p;
}
