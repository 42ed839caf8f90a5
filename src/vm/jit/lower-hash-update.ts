/**
 * bpf_map_update_elem and bpf_map_delete_elem on BPF_MAP_TYPE_HASH and PERCPU_HASH compiled to
 * wasm functions of the program's module (as lower-hash.ts does lookups): HashMap.update3 and
 * deleteElem over the same arena words — buckets, element records, values and the pool's state
 * (elements in use, free list head, the spare element plain maps' replacements use;
 * map-layout.ts); a per-CPU update writes the running CPU's slot (in place, or in a new element
 * whose other slots are zeroed). The result is the helper's: 0 or a negative errno,
 * sign-extended into r0. A key or value not wholly inside the memory takes the helper path (it
 * reads zeros past the end), as do LRU maps, whose updates keep JS state (their lists).
 */
import { BPF_EXIST, BPF_NOEXIST } from '../../uapi/bpf.js';
import { ERRNO } from '../../uapi/errno.js';
import { HASH_STATE, type HashLookupLayout } from '../map-layout.js';
import { LOCAL, SCRATCH, reg } from './layout.js';
import { emitBucketAddress, emitFind, emitKeyHash, emitMetaAddress, emitValueAddress, type HashLocals } from './lower-hash.js';
import { CodeWriter, OP } from './wasm-writer.js';

/** Byte offsets of the pool's state words (map-layout.ts, HASH_STATE). */
const COUNT = 4 * HASH_STATE.COUNT, FREE = 4 * HASH_STATE.FREE, SPARE = 4 * HASH_STATE.SPARE;

/** update(key, value, flags) and delete(key): params, then jhash's and find's locals, then `old`. */
const L: HashLocals = { key: 0, a: 3, b: 4, c: 5, e: 6, m: 7 };
const VALUE = 1, FLAGS = 2, OLD = 8;
/** Locals past the params: update has 3 params, delete 1 (its locals 1 and 2 stand for value and flags). */
export const UPDATE_LOCALS = 6;
export const DELETE_LOCALS = 8;

/** memory.copy (bulk memory): dst, src, n on the stack. */
const memoryCopy = (w: CodeWriter): CodeWriter => w.byte(0xfc).u32(10).byte(0).byte(0);

/** memory.fill: dst, byte, n on the stack. */
const memoryFill = (w: CodeWriter): CodeWriter => w.byte(0xfc).u32(11).byte(0);

/** Push the address of element `e` - 1's value slot of the running CPU. */
function emitCpuSlot(w: CodeWriter, layout: HashLookupLayout, e: number): void {
  emitValueAddress(w, layout, e);
  w.i32(0).mem(OP.i32_load, SCRATCH.CPU).i32(layout.cpuStride).op(OP.i32_mul).op(OP.i32_add);
}

/** return -errno when the i32 on the stack is non-zero. */
const failIf = (w: CodeWriter, errno: number): void => {
  w.if().i32(-errno).op(OP.return).end();
};

/** update(key, value, flags) → 0 or -errno (htab_map_update_elem, from a program). */
export function emitHashUpdateFunction(layout: HashLookupLayout): CodeWriter {
  const w = new CodeWriter();
  const state = layout.update!.stateBase;
  const { c, e, m } = L;
  // BPF_F_LOCK (no value of ours holds a spin lock) and any flag past BPF_EXIST: -EINVAL.
  w.get(FLAGS).i32(BPF_EXIST).op(OP.i32_gt_u);
  failIf(w, ERRNO.EINVAL);
  emitKeyHash(w, layout.keySize, L);
  emitFind(w, layout, L);
  w.get(e).tee(OLD).op(OP.i32_eqz).op(OP.i32_eqz).get(FLAGS).i32(BPF_NOEXIST).op(OP.i32_eq).op(OP.i32_and);
  failIf(w, ERRNO.EEXIST);
  w.get(OLD).op(OP.i32_eqz).get(FLAGS).i32(BPF_EXIST).op(OP.i32_eq).op(OP.i32_and);
  failIf(w, ERRNO.ENOENT);
  w.get(OLD).if();
  if (layout.cpuStride !== 0) {
    // Per-CPU: the running CPU's slot of the element, in place.
    emitCpuSlot(w, layout, OLD);
    w.get(VALUE).i32(layout.update!.valueSize);
    memoryCopy(w);
    w.i32(0).op(OP.return);
  }
  // Replace: the spare element takes the new value, the old one becomes the spare.
  w.i32(0).mem(OP.i32_load, state + SPARE).set(e);
  w.i32(0).get(OLD).mem(OP.i32_store, state + SPARE);
  emitMetaAddress(w, layout, e);
  w.set(m);
  w.else();
  w.i32(0).mem(OP.i32_load, state + FREE).tee(e).op(OP.i32_eqz);
  failIf(w, ERRNO.E2BIG);
  emitMetaAddress(w, layout, e);
  w.tee(m).mem(OP.i32_load, layout.nextOffset).set(FLAGS); // FLAGS is free now: the next free element
  w.i32(0).get(FLAGS).mem(OP.i32_store, state + FREE);
  w.i32(0).i32(0).mem(OP.i32_load, state + COUNT).i32(1).op(OP.i32_add).mem(OP.i32_store, state + COUNT);
  w.end();
  // writeKey, writeValue, linkHead
  w.get(m).get(c).mem(OP.i32_store, layout.hashOffset);
  w.get(m).i32(layout.keyOffset).op(OP.i32_add).get(L.key).i32(layout.keySize);
  memoryCopy(w);
  if (layout.cpuStride !== 0) {
    // pcpu_init_value: the other CPUs' slots zeroed
    emitValueAddress(w, layout, e);
    w.i32(0).i32(layout.valueStride);
    memoryFill(w);
    emitCpuSlot(w, layout, e);
  } else {
    emitValueAddress(w, layout, e);
  }
  w.get(VALUE).i32(layout.update!.valueSize);
  memoryCopy(w);
  emitBucketAddress(w, layout, c);
  w.tee(FLAGS).mem(OP.i32_load).set(L.a);
  w.get(m).get(L.a).mem(OP.i32_store, layout.nextOffset);
  w.get(FLAGS).get(e).mem(OP.i32_store);
  w.get(OLD).if();
  emitUnlink(w, layout, OLD, FLAGS);
  w.end();
  w.i32(0).end();
  return w;
}

/** delete(key) → 0 or -ENOENT (htab_map_delete_elem). */
export function emitHashDeleteFunction(layout: HashLookupLayout): CodeWriter {
  const w = new CodeWriter();
  const state = layout.update!.stateBase;
  const { e, m } = L;
  emitKeyHash(w, layout.keySize, L);
  emitFind(w, layout, L);
  w.get(e).op(OP.i32_eqz);
  failIf(w, ERRNO.ENOENT);
  emitUnlink(w, layout, e, FLAGS);
  // Back to the free list.
  w.get(m).i32(0).mem(OP.i32_load, state + FREE).mem(OP.i32_store, layout.nextOffset);
  w.i32(0).get(e).mem(OP.i32_store, state + FREE);
  w.i32(0).i32(0).mem(OP.i32_load, state + COUNT).i32(1).op(OP.i32_sub).mem(OP.i32_store, state + COUNT);
  w.i32(0).end();
  return w;
}

/**
 * HashMap.unlink: take element `victim` (1 + index; its hash is L.c) out of its bucket's
 * chain. `at` (a local) walks the links.
 */
function emitUnlink(w: CodeWriter, layout: HashLookupLayout, victim: number, at: number): void {
  emitBucketAddress(w, layout, L.c);
  w.set(at);
  w.block().loop();
  w.get(at).mem(OP.i32_load).tee(L.a).op(OP.i32_eqz).brIf(1);
  w.get(L.a).get(victim).op(OP.i32_eq).if();
  emitMetaAddress(w, layout, victim);
  w.mem(OP.i32_load, layout.nextOffset).set(L.b);
  w.get(at).get(L.b).mem(OP.i32_store);
  w.br(2);
  w.end();
  emitMetaAddress(w, layout, L.a);
  w.i32(layout.nextOffset).op(OP.i32_add).set(at);
  w.br(0);
  w.end().end();
}

/** The call site: r0 = update(r2, r3, r4) when the key and the value are wholly inside the memory, else `fallback`. */
export function emitHashUpdateCall(w: CodeWriter, fn: number, layout: HashLookupLayout, fallback: () => void): void {
  inMemory(w, 2, layout.keySize);
  inMemory(w, 3, layout.update!.valueSize);
  w.op(OP.i32_and).if();
  w.get(reg(2)).op(OP.i32_wrap_i64).get(reg(3)).op(OP.i32_wrap_i64).get(reg(4)).op(OP.i32_wrap_i64).call(fn);
  w.op(OP.i64_extend_i32_s).set(reg(0));
  w.else();
  fallback();
  w.end();
}

/** The call site: r0 = delete(r2) when the key is wholly inside the memory, else `fallback`. */
export function emitHashDeleteCall(w: CodeWriter, fn: number, layout: HashLookupLayout, fallback: () => void): void {
  inMemory(w, 2, layout.keySize);
  w.if();
  w.get(reg(2)).op(OP.i32_wrap_i64).call(fn).op(OP.i64_extend_i32_s).set(reg(0));
  w.else();
  fallback();
  w.end();
}

/** Push whether `size` bytes at r`r`'s low 32 bits are inside the memory. */
function inMemory(w: CodeWriter, r: number, size: number): void {
  w.get(reg(r)).op(OP.i32_wrap_i64).tee(LOCAL.T32).op(OP.i64_extend_i32_u).i64(size).op(OP.i64_add);
  w.byte(0x3f).byte(0x00).op(OP.i64_extend_i32_u).i64(16).op(OP.i64_shl).op(OP.i64_le_u);
}
