/**
 * BPF_MAP_TYPE_LPM_TRIE with the kernel's semantics (kernel/bpf/lpm_trie.c) over a faster
 * structure than the kernel's path-compressed binary trie.
 *
 * Semantics kept:
 * - a key is { u32 prefixlen (host order); u8 data[key_size - 4] }, bits counted from the
 *   most significant bit of data[0]; prefixlen > 8 * (key_size - 4) is -EINVAL for update and
 *   delete and finds nothing on lookup;
 * - lookup (from programs and from the user alike) returns the longest stored prefix that
 *   matches the key's first prefixlen bits and is no longer than the key's prefixlen;
 * - update and delete act on the exact prefix (bits past prefixlen are ignored for matching
 *   but kept: the stored key is the one last written, as the kernel's node data); update
 *   flags: > BPF_EXIST -EINVAL, BPF_NOEXIST on a present prefix -EEXIST, BPF_EXIST on a missing
 *   one -ENOENT, a new prefix in a full map -ENOSPC; a missing prefix deletes with -ENOENT;
 * - get_next_key walks in the kernel's post-order: a longer prefix before a shorter one that
 *   contains it, otherwise by the first differing bit (0 first); no key, a missing key or a
 *   too-long prefixlen gives the first; after the last, -ENOENT.
 *
 * Structure: a multibit trie of stride 8 (one level per data byte) in tree-bitmap form. A
 * node at depth D bits holds the prefixes of lengths D+1 .. D+8 under its path in an
 * "internal" bitmap — bit (1 << l) - 2 + v for relative length l and its top l bits v —
 * and its children (one per next byte with longer prefixes under it) in an "external" 256-bit
 * bitmap. Stored prefixes and children live in compact arrays indexed by popcount ranks
 * (cumulative counts per bitmap word are kept in the node), children contiguously so that
 * descending costs one read. Lookup descends by external bits, then looks for the longest
 * internal match from the deepest node up (a per-node mask of the relative lengths present
 * skips empty lengths). Update and delete touch one node's bitmaps and arrays; a node exists
 * exactly while its subtree holds a prefix, which get_next_key relies on ("is this subtree
 * empty?" is a bitmap range test).
 *
 * Everything lives in the arena: nodes and arrays in pools (size classes, free lists), prefix
 * records (prefixlen, data) and values in chunks, found through a directory. Values are the
 * only part programs may address. The /0 prefix is kept aside.
 */
import { BPF_EXIST, BPF_NOEXIST } from '../uapi/bpf.js';
import type { MapSpec } from '../spec/types.js';
import type { Region } from '../vm/arena.js';
import { programAccess } from './array.js';
import { NO_PROGRAM_ACCESS, readU32, roundUpPow2, writeU32 } from './common.js';
import { BpfMap, roundUp8, type MapHost } from './map.js';
import { ERRNO } from '../uapi/errno.js';
import { ACCESS_MASK, KMALLOC_MAX_SIZE, type MapSpecCheck } from './alloc-check.js';
import { BPF_F_NO_PREALLOC, BPF_F_NUMA_NODE } from '../uapi/bpf.js';
import { LPM_NODE, setMapLookupLayout } from '../vm/map-layout.js';

/** LPM trie limits (kernel/bpf/lpm_trie.c). */
const LPM_DATA_SIZE_MIN = 1;
const LPM_DATA_SIZE_MAX = 256;
const LPM_VAL_SIZE_MAX = KMALLOC_MAX_SIZE - LPM_DATA_SIZE_MAX - 48;
const LPM_FLAGS = BPF_F_NO_PREALLOC | BPF_F_NUMA_NODE | ACCESS_MASK;

// ---- node layout (u32 words) -------------------------------------------------------------
// Word 0..15 are one 64-byte cache line: everything a lookup reads to descend through a node.
// (vm/map-layout.ts, LPM_NODE: the JIT's compiled lookup reads the same words)
const EXT = LPM_NODE.EXT; // 8 words: external bitmap (256 bits)
const EXTCUM = LPM_NODE.EXTCUM; // 4 words: 8 u16 counts of external bits before each word
const CHILD = LPM_NODE.CHILD; // word index of the children array (0: none)
const RESULT = LPM_NODE.RESULT; // word index of the results array (entry indices)
const INFO = LPM_NODE.INFO; // bits 1..8: relative lengths present; 16..23: results class + 1; 24..31: children class + 1
const COUNTS = LPM_NODE.COUNTS; // internal count | external count << 16
// Words 16..47: the internal bitmap (510 bits) as 16 pairs [bits, count of bits in the words before].
const INT = LPM_NODE.INT;
const NODE_WORDS = LPM_NODE.WORDS;

/** Size classes: results arrays of 2^k words (k < 16), children arrays of 2^k nodes (class 16 + k). */
const NODE_CLASS = 16;
const POOL_BYTES = 1 << 21;
/** Entries per chunk of records and values (at most). */
const MAX_CHUNK_SHIFT = 14;

function popcnt(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

/** Bits below position `bit` of a word. */
const below = (bit: number): number => ~(-1 << bit);

export class LpmTrieMap extends BpfMap {
  /** trie_alloc's checks. */
  static override checkSpec(check: MapSpecCheck): void {
    const { keySize, valueSize } = check;
    check.needEntries();
    if (!(check.flags & BPF_F_NO_PREALLOC)) check.fail('EINVAL', 'LPM tries need BPF_F_NO_PREALLOC');
    check.onlyFlags(LPM_FLAGS);
    check.accessOk();
    if (keySize < 4 + LPM_DATA_SIZE_MIN || keySize > 4 + LPM_DATA_SIZE_MAX) check.fail('EINVAL', `key_size ${keySize}: a u32 prefix length and 1..256 data bytes`);
    if (valueSize < 1 || valueSize > LPM_VAL_SIZE_MAX) check.fail('EINVAL', `value_size ${valueSize} is out of range`);
  }

  readonly dataSize: number;
  readonly maxPrefixLen: number;
  /** Prefixes stored. */
  count = 0;
  private readonly valueStride: number;
  /** u32 words of a prefix record: prefixlen, then the data padded to 4 bytes. */
  private readonly recordWords: number;
  private readonly chunkShift: number;
  private readonly chunkMask: number;
  /** Per chunk: [values base (bytes), records base (bytes)]. */
  private readonly directory: Region;
  /** The directory's first word (regions never move). */
  private readonly dirWord: number;
  /** [root node word, 1 + the /0 prefix's entry (0: none)], then the compiled lookup's path (8 bytes a level). */
  private readonly control: Region;
  private readonly rootNode: number;
  private zeroEntry = -1;
  private readonly chunks: Region[] = [];
  private entriesMade = 0;
  private freeEntry = -1;
  private readonly pools: Region[] = [];
  /** Bump pointers (word indices) of the two pools: [results arrays, children arrays]. */
  private readonly poolCur = [0, 0];
  private readonly poolEnd = [0, 0];
  private readonly freeBlocks = new Int32Array(32);
  /** The lookup's path: node and byte per level. */
  private readonly pathNode: Int32Array;
  private readonly pathByte: Int32Array;
  /** A key's data while get_next_key searches (bytes). */
  private readonly probe: Uint8Array;

  constructor(host: MapHost, spec: MapSpec, id: number) {
    super(host, spec, id);
    this.dataSize = spec.keySize - 4;
    this.maxPrefixLen = this.dataSize * 8;
    this.valueStride = roundUp8(spec.valueSize);
    this.recordWords = 1 + ((this.dataSize + 3) >>> 2);
    this.chunkShift = Math.min(MAX_CHUNK_SHIFT, Math.log2(roundUpPow2(spec.maxEntries)));
    this.chunkMask = (1 << this.chunkShift) - 1;
    const nChunks = Math.ceil(spec.maxEntries / (1 << this.chunkShift));
    this.directory = this.arena.alloc(nChunks * 8, 'map', `${spec.name} directory`, NO_PROGRAM_ACCESS);
    this.dirWord = this.directory.start >>> 2;
    this.control = this.arena.alloc(8 + (this.dataSize + 1) * 8, 'map', `${spec.name} trie`, NO_PROGRAM_ACCESS);
    this.rootNode = this.allocBlock(NODE_CLASS, NODE_WORDS);
    this.words().fill(0, this.rootNode, this.rootNode + NODE_WORDS);
    writeU32(this.arena.u8, this.control.start, this.rootNode);
    this.pathNode = new Int32Array(this.dataSize + 1);
    this.pathByte = new Int32Array(this.dataSize + 1);
    this.probe = new Uint8Array(this.dataSize);
    // For the JIT's compiled lookup (vm/jit/lower-lpm.ts): what lookupElem reads.
    setMapLookupLayout(this.arena, this.header.start, {
      kind: 'lpm', keySize: spec.keySize, maxPrefixLen: this.maxPrefixLen, root: this.rootNode * 4, control: this.control.start, path: this.control.start + 8,
      dirBase: this.directory.start, chunkShift: this.chunkShift, chunkMask: this.chunkMask, valueStride: this.valueStride,
    });
  }

  // ---- pools ---------------------------------------------------------------------------

  /** A block of `words` words of size class `cls`; its word index. May grow the arena. */
  private allocBlock(cls: number, words: number): number {
    const head = this.freeBlocks[cls];
    if (head !== 0) {
      this.freeBlocks[cls] = this.words()[head];
      return head;
    }
    // Children arrays come from their own pool, so that every node starts a cache line.
    const p = cls >= NODE_CLASS ? 1 : 0;
    if (this.poolCur[p] + words > this.poolEnd[p]) {
      // Pools start small (a map of a few prefixes stays small) and double up to POOL_BYTES.
      const bytes = Math.max(Math.min(POOL_BYTES, 16384 << (this.pools.length >>> 1)), words * 4);
      const pool = this.arena.alloc(bytes, 'map', `${this.name} trie nodes`, NO_PROGRAM_ACCESS);
      this.pools.push(pool);
      this.poolCur[p] = pool.start >>> 2;
      this.poolEnd[p] = this.poolCur[p] + (bytes >>> 2);
    }
    const at = this.poolCur[p];
    this.poolCur[p] += words;
    return at;
  }

  private freeBlock(cls: number, at: number): void {
    this.words()[at] = this.freeBlocks[cls];
    this.freeBlocks[cls] = at;
  }

  // ---- entries (a stored prefix: its record and its value) -----------------------------

  private newEntry(): number {
    if (this.freeEntry >= 0) {
      const e = this.freeEntry;
      this.freeEntry = this.words()[this.recordWord(e)];
      return e;
    }
    const e = this.entriesMade++;
    if ((e & this.chunkMask) === 0) {
      const n = 1 << this.chunkShift;
      const values = this.arena.alloc(n * this.valueStride, 'map', `${this.name} values`, programAccess(this.spec.flags));
      const records = this.arena.alloc(n * this.recordWords * 4, 'map', `${this.name} prefixes`, NO_PROGRAM_ACCESS);
      this.chunks.push(values, records);
      const d = this.directory.start + (e >>> this.chunkShift) * 8;
      writeU32(this.arena.u8, d, values.start);
      writeU32(this.arena.u8, d + 4, records.start);
    }
    return e;
  }

  private dropEntry(e: number): void {
    this.words()[this.recordWord(e)] = this.freeEntry;
    this.freeEntry = e;
  }

  private valueAddr(e: number): number {
    return (this.words()[this.dirWord + ((e >>> this.chunkShift) << 1)] >>> 0) + (e & this.chunkMask) * this.valueStride;
  }

  /** Word index of entry `e`'s record. */
  private recordWord(e: number): number {
    const base = this.words()[this.dirWord + ((e >>> this.chunkShift) << 1) + 1] >>> 0;
    return (base >>> 2) + (e & this.chunkMask) * this.recordWords;
  }

  /** The stored key of entry `e`: prefixlen and data as last written. */
  private keyOfEntry(e: number): Uint8Array {
    const r = this.recordWord(e) << 2;
    return this.copyOut(r, 4 + this.dataSize);
  }

  // ---- node bitmaps --------------------------------------------------------------------

  private static intRank(w: Int32Array, node: number, pos: number): number {
    const i = pos >>> 5;
    return w[node + INT + 2 * i + 1] + popcnt(w[node + INT + 2 * i] & below(pos & 31));
  }

  private static extRank(w: Int32Array, node: number, b: number): number {
    const i = b >>> 5;
    return ((w[node + EXTCUM + (i >>> 1)] >>> ((i & 1) << 4)) & 0xffff) + popcnt(w[node + EXT + i] & below(b & 31));
  }

  /** Bit `bit` of the bitmap whose words are `stride` apart from word `at`. */
  private static testBit(w: Int32Array, at: number, stride: number, bit: number): boolean {
    return ((w[at + (bit >>> 5) * stride] >>> (bit & 31)) & 1) !== 0;
  }

  /** Whether any bit in [from, to) of the bitmap whose words are `stride` apart from word `at` is set. */
  private static anyBits(w: Int32Array, at: number, stride: number, from: number, to: number): boolean {
    while (from < to) {
      const i = from >>> 5;
      const lo = from & 31;
      const span = Math.min(to - from, 32 - lo);
      const mask = span === 32 ? -1 : ((1 << span) - 1) << lo;
      if (w[at + i * stride] & mask) return true;
      from += span;
    }
    return false;
  }

  /** The child of `node` for byte `b`, or -1. */
  private static child(w: Int32Array, node: number, b: number): number {
    if (((w[node + EXT + (b >>> 5)] >>> (b & 31)) & 1) === 0) return -1;
    return w[node + CHILD] + LpmTrieMap.extRank(w, node, b) * NODE_WORDS;
  }

  // ---- the program's face --------------------------------------------------------------

  /** trie_lookup_elem: the value of the longest matching prefix no longer than the key's. */
  override lookupElem(keyAddr: number, cpu: number): number {
    void cpu;
    const u8 = this.arena.u8;
    const w = this.words();
    const plen = (u8[keyAddr] | (u8[keyAddr + 1] << 8) | (u8[keyAddr + 2] << 16) | (u8[keyAddr + 3] << 24)) >>> 0;
    if (plen > this.maxPrefixLen) return 0;
    const data = keyAddr + 4;
    const pathNode = this.pathNode;
    const pathByte = this.pathByte;
    let node = this.rootNode;
    let depth = 0;
    let sp = 0;
    while (depth < plen) {
      const b = u8[data + (depth >>> 3)];
      pathNode[sp] = node;
      pathByte[sp] = b;
      sp++;
      if (depth + 8 >= plen) break;
      const ew = w[node + EXT + (b >>> 5)];
      if (((ew >>> (b & 31)) & 1) === 0) break;
      const i = b >>> 5;
      node = w[node + CHILD] + (((w[node + EXTCUM + (i >>> 1)] >>> ((i & 1) << 4)) & 0xffff) + popcnt(ew & ~(-1 << (b & 31)))) * NODE_WORDS;
      depth += 8;
    }
    while (sp > 0) {
      sp--;
      node = pathNode[sp];
      const b = pathByte[sp];
      const limit = plen - (sp << 3);
      let mask = w[node + INFO] & (limit >= 8 ? 0x1fe : (1 << (limit + 1)) - 2);
      while (mask !== 0) {
        const l = 31 - Math.clz32(mask);
        mask ^= 1 << l;
        const pos = (1 << l) - 2 + (b >>> (8 - l));
        const i = pos >>> 5;
        const iw = w[node + INT + 2 * i];
        if ((iw >>> (pos & 31)) & 1) {
          const rank = w[node + INT + 2 * i + 1] + popcnt(iw & ~(-1 << (pos & 31)));
          const e = w[w[node + RESULT] + rank];
          return (w[this.dirWord + ((e >>> this.chunkShift) << 1)] >>> 0) + (e & this.chunkMask) * this.valueStride;
        }
      }
    }
    return this.zeroEntry >= 0 ? this.valueAddr(this.zeroEntry) : 0;
  }

  /** trie_update_elem. */
  override updateElem(keyAddr: number, valueAddr: number, flags: number, cpu: number): number {
    void cpu;
    if (flags >>> 0 > BPF_EXIST) return -ERRNO.EINVAL;
    const plen = readU32(this.arena.u8, keyAddr);
    if (plen > this.maxPrefixLen) return -ERRNO.EINVAL;
    let e = this.findExact(keyAddr + 4, plen, false);
    if (e >= 0) {
      if (flags === BPF_NOEXIST) return -ERRNO.EEXIST;
    } else {
      if (flags === BPF_EXIST) return -ERRNO.ENOENT;
      if (this.count >= this.spec.maxEntries) return -ERRNO.ENOSPC;
      e = this.newEntry();
      this.count++;
      if (plen === 0) this.setZero(e);
      else this.insert(keyAddr + 4, plen, e);
    }
    const u8 = this.arena.u8;
    const r = this.recordWord(e) << 2;
    u8.copyWithin(r, keyAddr, keyAddr + 4 + this.dataSize);
    const v = this.valueAddr(e);
    u8.copyWithin(v, valueAddr, valueAddr + this.spec.valueSize);
    return 0;
  }

  /** trie_delete_elem. */
  override deleteElem(keyAddr: number): number {
    const plen = readU32(this.arena.u8, keyAddr);
    if (plen > this.maxPrefixLen) return -ERRNO.EINVAL;
    const e = this.findExact(keyAddr + 4, plen, true);
    if (e < 0) return -ERRNO.ENOENT;
    this.dropEntry(e);
    this.count--;
    return 0;
  }

  private setZero(e: number): void {
    this.zeroEntry = e;
    writeU32(this.arena.u8, this.control.start + 4, e + 1);
  }

  /**
   * The entry stored for exactly (data at arena `data`, `plen`), or -1; with `remove`, it is
   * also taken out of the trie (pruning nodes left empty).
   */
  private findExact(data: number, plen: number, remove: boolean): number {
    if (plen === 0) {
      const e = this.zeroEntry;
      if (remove && e >= 0) this.setZero(-1);
      return e;
    }
    const u8 = this.arena.u8;
    const w = this.words();
    const levels = (plen - 1) >>> 3;
    let node = this.rootNode;
    for (let i = 0; i < levels; i++) {
      const b = u8[data + i];
      this.pathNode[i] = node;
      this.pathByte[i] = b;
      node = LpmTrieMap.child(w, node, b);
      if (node < 0) return -1;
    }
    const l = plen - (levels << 3);
    const pos = (1 << l) - 2 + (u8[data + levels] >>> (8 - l));
    if (!LpmTrieMap.testBit(w, node + INT, 2, pos)) return -1;
    const rank = LpmTrieMap.intRank(w, node, pos);
    const e = w[w[node + RESULT] + rank];
    if (remove) this.removeInternal(node, pos, rank, l, levels);
    return e;
  }

  /** Put entry `e` at (data, plen > 0), making the nodes on its path. */
  private insert(data: number, plen: number, e: number): void {
    const levels = (plen - 1) >>> 3;
    let node = this.rootNode;
    for (let i = 0; i < levels; i++) {
      const b = this.arena.u8[data + i];
      const next = LpmTrieMap.child(this.words(), node, b);
      node = next >= 0 ? next : this.addChild(node, b);
    }
    const l = plen - (levels << 3);
    const pos = (1 << l) - 2 + (this.arena.u8[data + levels] >>> (8 - l));
    this.addInternal(node, pos, l, e);
  }

  /** Make an empty child of `node` for byte `b`; its word index. */
  private addChild(node: number, b: number): number {
    let w = this.words();
    const counts = w[node + COUNTS];
    const n = counts >>> 16;
    const rank = LpmTrieMap.extRank(w, node, b);
    const info = w[node + INFO];
    const cls = info >>> 24; // class + 1, 0 when no array
    let base = w[node + CHILD];
    if (cls === 0 || n + 1 > 1 << (cls - 1)) {
      const newCls = cls === 0 ? 0 : cls; // the next class up: 2^cls nodes
      const fresh = this.allocBlock(NODE_CLASS + newCls, (1 << newCls) * NODE_WORDS);
      w = this.words();
      if (n > 0) {
        w.copyWithin(fresh, base, base + rank * NODE_WORDS);
        w.copyWithin(fresh + (rank + 1) * NODE_WORDS, base + rank * NODE_WORDS, base + n * NODE_WORDS);
        this.freeBlock(NODE_CLASS + cls - 1, base);
      }
      base = fresh;
      w[node + CHILD] = base;
      w[node + INFO] = (info & 0x00ffffff) | ((newCls + 1) << 24);
    } else {
      w.copyWithin(base + (rank + 1) * NODE_WORDS, base + rank * NODE_WORDS, base + n * NODE_WORDS);
    }
    const child = base + rank * NODE_WORDS;
    w.fill(0, child, child + NODE_WORDS);
    w[node + EXT + (b >>> 5)] |= 1 << (b & 31);
    for (let i = (b >>> 5) + 1; i < 8; i++) w[node + EXTCUM + (i >>> 1)] += 1 << ((i & 1) << 4);
    w[node + COUNTS] = counts + (1 << 16);
    return child;
  }

  /** Store entry `e` at internal position `pos` (relative length `l`) of `node`. */
  private addInternal(node: number, pos: number, l: number, e: number): void {
    let w = this.words();
    const counts = w[node + COUNTS];
    const n = counts & 0xffff;
    const rank = LpmTrieMap.intRank(w, node, pos);
    const info = w[node + INFO];
    const cls = (info >>> 16) & 0xff;
    let base = w[node + RESULT];
    if (cls === 0 || n + 1 > 1 << (cls - 1)) {
      const newCls = cls;
      const fresh = this.allocBlock(newCls, 1 << newCls);
      w = this.words();
      if (n > 0) {
        w.copyWithin(fresh, base, base + rank);
        w.copyWithin(fresh + rank + 1, base + rank, base + n);
        this.freeBlock(cls - 1, base);
      }
      base = fresh;
      w[node + RESULT] = base;
      w[node + INFO] = (w[node + INFO] & ~0x00ff0000) | ((newCls + 1) << 16);
    } else {
      w.copyWithin(base + rank + 1, base + rank, base + n);
    }
    w[base + rank] = e;
    w[node + INT + 2 * (pos >>> 5)] |= 1 << (pos & 31);
    for (let i = (pos >>> 5) + 1; i < 16; i++) w[node + INT + 2 * i + 1]++;
    w[node + COUNTS] = counts + 1;
    w[node + INFO] |= 1 << l;
  }

  /** Take the prefix at `pos` (relative length `l`, rank `rank`) out of `node` at depth `level`, pruning. */
  private removeInternal(node: number, pos: number, rank: number, l: number, level: number): void {
    const w = this.words();
    const n = w[node + COUNTS] & 0xffff;
    const base = w[node + RESULT];
    w.copyWithin(base + rank, base + rank + 1, base + n);
    w[node + INT + 2 * (pos >>> 5)] &= ~(1 << (pos & 31));
    for (let i = (pos >>> 5) + 1; i < 16; i++) w[node + INT + 2 * i + 1]--;
    w[node + COUNTS] -= 1;
    const first = (1 << l) - 2;
    if (!LpmTrieMap.anyBits(w, node + INT, 2, first, first + (1 << l))) w[node + INFO] &= ~(1 << l);
    if (n === 1) {
      this.freeBlock(((w[node + INFO] >>> 16) & 0xff) - 1, base);
      w[node + RESULT] = 0;
      w[node + INFO] &= ~0x00ff0000;
    }
    // Prune nodes left without prefixes and children, bottom up (the root stays).
    let cur = node;
    for (let i = level - 1; i >= 0 && w[cur + COUNTS] === 0; i--) {
      const parent = this.pathNode[i];
      this.removeChild(parent, this.pathByte[i]);
      cur = parent;
    }
  }

  private removeChild(node: number, b: number): void {
    const w = this.words();
    const n = w[node + COUNTS] >>> 16;
    const rank = LpmTrieMap.extRank(w, node, b);
    const base = w[node + CHILD];
    w.copyWithin(base + rank * NODE_WORDS, base + (rank + 1) * NODE_WORDS, base + n * NODE_WORDS);
    w[node + EXT + (b >>> 5)] &= ~(1 << (b & 31));
    for (let i = (b >>> 5) + 1; i < 8; i++) w[node + EXTCUM + (i >>> 1)] -= 1 << ((i & 1) << 4);
    w[node + COUNTS] -= 1 << 16;
    if (n === 1) {
      this.freeBlock(NODE_CLASS + (w[node + INFO] >>> 24) - 1, base);
      w[node + CHILD] = 0;
      w[node + INFO] &= 0x00ffffff;
    }
  }

  // ---- get_next_key --------------------------------------------------------------------

  /** The node at depth 8 * `levels` along the bytes of `probe`, or -1. */
  private nodeAlong(levels: number): number {
    const w = this.words();
    let node = this.rootNode;
    for (let i = 0; i < levels && node >= 0; i++) node = LpmTrieMap.child(w, node, this.probe[i]);
    return node;
  }

  /** The entry stored for the first `len` bits of `probe`, or -1. */
  private storedAt(len: number): number {
    if (len === 0) return this.zeroEntry;
    const levels = (len - 1) >>> 3;
    const node = this.nodeAlong(levels);
    if (node < 0) return -1;
    const l = len - (levels << 3);
    const pos = (1 << l) - 2 + (this.probe[levels] >>> (8 - l));
    const w = this.words();
    if (!LpmTrieMap.testBit(w, node + INT, 2, pos)) return -1;
    return w[w[node + RESULT] + LpmTrieMap.intRank(w, node, pos)];
  }

  /** Whether any prefix of length ≥ `len` starts with the first `len` bits of `probe`. */
  private subtreeNonEmpty(len: number): boolean {
    if (len === 0) return this.count > 0;
    const levels = len >>> 3;
    const r = len & 7;
    if (r === 0) return this.storedAt(len) >= 0 || this.nodeAlong(levels) >= 0;
    const node = this.nodeAlong(levels);
    if (node < 0) return false;
    const w = this.words();
    const v = this.probe[levels] >>> (8 - r);
    for (let l = r; l <= 8; l++) {
      const from = (1 << l) - 2 + (v << (l - r));
      if (LpmTrieMap.anyBits(w, node + INT, 2, from, from + (1 << (l - r)))) return true;
    }
    return LpmTrieMap.anyBits(w, node + EXT, 1, v << (8 - r), (v + 1) << (8 - r));
  }

  private setProbeBit(i: number, bit: number): void {
    const m = 0x80 >>> (i & 7);
    if (bit) this.probe[i >>> 3] |= m;
    else this.probe[i >>> 3] &= ~m;
  }

  /** The first entry in post-order of the (non-empty) subtree of the first `len` bits of `probe`. */
  private firstFrom(len: number): number {
    while (len < this.maxPrefixLen) {
      this.setProbeBit(len, 0);
      if (this.subtreeNonEmpty(len + 1)) {
        len++;
        continue;
      }
      this.setProbeBit(len, 1);
      if (this.subtreeNonEmpty(len + 1)) {
        len++;
        continue;
      }
      break;
    }
    return this.storedAt(len);
  }

  /** trie_get_next_key. */
  protected override userNextKey(key: Uint8Array | undefined): Uint8Array | undefined {
    if (this.count === 0) return undefined;
    const plen = key === undefined ? 0xffffffff : readU32(key, 0);
    if (key !== undefined && plen <= this.maxPrefixLen) {
      this.probe.set(key.subarray(4));
      if (this.storedAt(plen) >= 0) {
        for (let d = plen - 1; d >= 0; d--) {
          const bit = (key[4 + (d >>> 3)] >>> (7 - (d & 7))) & 1;
          if (bit === 0) {
            this.setProbeBit(d, 1);
            if (this.subtreeNonEmpty(d + 1)) return this.keyOfEntry(this.firstFrom(d + 1));
            this.setProbeBit(d, 0);
          }
          const e = this.storedAt(d);
          if (e >= 0) return this.keyOfEntry(e);
        }
        return undefined;
      }
    }
    this.probe.fill(0);
    return this.keyOfEntry(this.firstFrom(0));
  }

  // ---- the user's face -----------------------------------------------------------------

  /** Arena bytes the trie holds (nodes and arrays, records, values), for benchmarks. */
  get memoryBytes(): number {
    return [...this.pools, ...this.chunks].reduce((sum, r) => sum + r.capacity, 0);
  }

  override close(): void {
    setMapLookupLayout(this.arena, this.header.start, undefined);
    for (const r of [...this.pools, ...this.chunks, this.directory, this.control]) this.arena.free(r);
    super.close();
  }
}
