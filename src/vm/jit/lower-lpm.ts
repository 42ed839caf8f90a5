/**
 * bpf_map_lookup_elem on an LPM trie compiled to a wasm function of the program's module
 * (map-functions.ts), LpmTrieMap.lookupElem over the same arena words (map-layout.ts,
 * LpmLookupLayout and LPM_NODE): descend by the external bitmaps one key byte a level, keeping
 * the path in the map's scratch words, then look for the longest internal match from the deepest
 * node up; else the /0 prefix. It returns the value address the helper returns; the call site is
 * lower-hash.ts's (the key wholly inside the memory, else the helper).
 */
import { LPM_NODE, type LpmLookupLayout } from '../map-layout.js';
import { CodeWriter, I32, OP } from './wasm-writer.js';

/** The param and locals. */
const KEY = 0, PLEN = 1, NODE = 2, DEPTH = 3, SP = 4, B = 5, EW = 6, MASK = 7, L = 8, POS = 9, IW = 10;
export const LPM_LOOKUP_LOCALS = 10;
const W = (word: number): number => word * 4;

/** lookup(key) → the value address, or 0 (trie_lookup_elem). */
export function emitLpmLookupFunction(layout: LpmLookupLayout): CodeWriter {
  const w = new CodeWriter();
  w.get(KEY).mem(OP.i32_load).tee(PLEN).i32(layout.maxPrefixLen).op(OP.i32_gt_u).if().i32(0).op(OP.return).end();
  w.i32(layout.root).set(NODE);
  emitDescend(w, layout);
  emitClimb(w, layout);
  // The /0 prefix, if stored.
  w.i32(0).mem(OP.i32_load, layout.control + 4).tee(POS).if(I32);
  emitEntryValue(w, layout, () => w.get(POS).i32(1).op(OP.i32_sub));
  w.else().i32(0).end();
  w.end();
  return w;
}

/** Record (node, byte) a level on the path while the key's bits go on and a child holds them; SP levels. */
function emitDescend(w: CodeWriter, layout: LpmLookupLayout): void {
  w.block().loop();
  w.get(DEPTH).get(PLEN).op(OP.i32_ge_u).brIf(1);
  w.get(KEY).get(DEPTH).i32(3).op(OP.i32_shr_u).op(OP.i32_add).mem(OP.i32_load8_u, 4).set(B);
  w.get(SP).i32(3).op(OP.i32_shl).tee(L).get(NODE).mem(OP.i32_store, layout.path);
  w.get(L).get(B).mem(OP.i32_store, layout.path + 4);
  w.get(SP).i32(1).op(OP.i32_add).set(SP);
  w.get(DEPTH).i32(8).op(OP.i32_add).get(PLEN).op(OP.i32_ge_u).brIf(1);
  // the external bit of b
  w.get(NODE).get(B).i32(5).op(OP.i32_shr_u).i32(2).op(OP.i32_shl).op(OP.i32_add).mem(OP.i32_load, W(LPM_NODE.EXT)).tee(EW);
  w.get(B).op(OP.i32_shr_u).i32(1).op(OP.i32_and).op(OP.i32_eqz).brIf(1);
  // node = children + (cumulative count of the words before + bits below b in its word) × node size
  w.get(NODE).mem(OP.i32_load, W(LPM_NODE.CHILD)).i32(2).op(OP.i32_shl);
  w.get(NODE).get(B).i32(6).op(OP.i32_shr_u).i32(2).op(OP.i32_shl).op(OP.i32_add).mem(OP.i32_load, W(LPM_NODE.EXTCUM));
  w.get(B).i32(5).op(OP.i32_shr_u).i32(1).op(OP.i32_and).i32(4).op(OP.i32_shl).op(OP.i32_shr_u).i32(0xffff).op(OP.i32_and);
  w.get(EW).i32(-1).get(B).op(OP.i32_shl).i32(-1).op(OP.i32_xor).op(OP.i32_and).op(OP.i32_popcnt).op(OP.i32_add);
  w.i32(W(LPM_NODE.WORDS)).op(OP.i32_mul).op(OP.i32_add).set(NODE);
  w.get(DEPTH).i32(8).op(OP.i32_add).set(DEPTH);
  w.br(0);
  w.end().end();
}

/** From the deepest level up: the longest stored prefix no longer than the key's; returns its value. */
function emitClimb(w: CodeWriter, layout: LpmLookupLayout): void {
  w.block().loop();
  w.get(SP).op(OP.i32_eqz).brIf(1);
  w.get(SP).i32(1).op(OP.i32_sub).tee(SP).i32(3).op(OP.i32_shl).tee(L).mem(OP.i32_load, layout.path).set(NODE);
  w.get(L).mem(OP.i32_load, layout.path + 4).set(B);
  // mask: the relative lengths present, up to limit = plen - 8 × sp
  w.get(NODE).mem(OP.i32_load, W(LPM_NODE.INFO));
  w.i32(0x1fe);
  w.i32(1).get(PLEN).get(SP).i32(3).op(OP.i32_shl).op(OP.i32_sub).tee(L).i32(1).op(OP.i32_add).op(OP.i32_shl).i32(2).op(OP.i32_sub);
  w.get(L).i32(8).op(OP.i32_ge_u).op(OP.select);
  w.op(OP.i32_and).set(MASK);
  w.block().loop();
  w.get(MASK).op(OP.i32_eqz).brIf(1);
  w.i32(31).get(MASK).op(OP.i32_clz).op(OP.i32_sub).tee(L);
  w.i32(1).get(L).op(OP.i32_shl).get(MASK).op(OP.i32_xor).set(MASK);
  // pos = (1 << l) - 2 + (b >> (8 - l)); iw = the internal word of pos
  w.i32(1).get(L).op(OP.i32_shl).i32(2).op(OP.i32_sub).get(B).i32(8).get(L).op(OP.i32_sub).op(OP.i32_shr_u).op(OP.i32_add).set(POS);
  w.get(NODE).get(POS).i32(5).op(OP.i32_shr_u).i32(3).op(OP.i32_shl).op(OP.i32_add).tee(L).mem(OP.i32_load, W(LPM_NODE.INT)).tee(IW);
  w.get(POS).op(OP.i32_shr_u).i32(1).op(OP.i32_and).if();
  // entry = results[rank]; rank = the pair's count + bits below pos in its word
  emitEntryValue(w, layout, () => {
    w.get(NODE).mem(OP.i32_load, W(LPM_NODE.RESULT)).i32(2).op(OP.i32_shl);
    w.get(L).mem(OP.i32_load, W(LPM_NODE.INT) + 4);
    w.get(IW).i32(-1).get(POS).op(OP.i32_shl).i32(-1).op(OP.i32_xor).op(OP.i32_and).op(OP.i32_popcnt).op(OP.i32_add);
    w.i32(2).op(OP.i32_shl).op(OP.i32_add).mem(OP.i32_load);
  });
  w.op(OP.return);
  w.end();
  w.br(0);
  w.end().end();
  w.br(0);
  w.end().end();
}

/** Push entry e's value address, e pushed by `entry` (kept in IW). */
function emitEntryValue(w: CodeWriter, layout: LpmLookupLayout, entry: () => void): void {
  entry();
  w.tee(IW).i32(layout.chunkShift).op(OP.i32_shr_u).i32(3).op(OP.i32_shl).mem(OP.i32_load, layout.dirBase);
  w.get(IW).i32(layout.chunkMask).op(OP.i32_and).i32(layout.valueStride).op(OP.i32_mul).op(OP.i32_add);
}
