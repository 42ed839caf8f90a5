/**
 * The arena: one WebAssembly.Memory holding every byte a program can address (DESIGN.md,
 * "Memory model"). A pointer held by a program is a 32-bit offset into it.
 *
 * Memory is handed out as regions: page-aligned, each followed by an unmapped guard page,
 * so an access that runs off the end of one region faults instead of landing in another.
 * A page table (region id per 4 KiB page) answers "which region is this address in" in two
 * array reads; both engines check every access against it. Page 0 is never mapped, so NULL
 * (and anything near it) faults.
 *
 * The tables themselves live in the arena, in a reserved area right after page 0 that is never
 * mapped (its pages have region id 0, so no program can reach it): compiled code (vm/jit/) reads
 * them with plain loads, and the JS typed arrays here are views over the same bytes, re-made
 * whenever the memory grows. The area also holds the JIT's scratch words (register file, call
 * frames, run state), which the interpreter does not use.
 */
import { XdplabError } from '../errors.js';
import type { MapLookupLayout } from './map-layout.js';
import type { ProgArrayLayout } from './prog-array-layout.js';

export const PAGE_SIZE = 4096;
const PAGE_SHIFT = 12;
const WASM_PAGE = 65536;
/** Region ids fit a Uint16; 0 means "unmapped". */
const MAX_REGIONS = 65535;

/**
 * The reserved area (byte addresses in the arena). Page 0 stays unmapped; from page 1 on: the
 * JIT's scratch page, then the region tables and the page table. None of it is ever mapped.
 */
export const ARENA_LAYOUT = {
  /** JIT scratch: register file, frame stack, run state (vm/jit/layout.ts carves it up). */
  SCRATCH: 0x1000,
  SCRATCH_BYTES: 0x1000,
  /** Uint8 flags per region id. */
  REGION_FLAGS: 0x2000,
  /** Uint32 first accessible byte per region id. */
  REGION_START: 0x2000 + (MAX_REGIONS + 1),
  /** Uint32 end (exclusive) per region id. */
  REGION_END: 0x2000 + (MAX_REGIONS + 1) * 5,
  /** Uint16 region id per 4 KiB page of the 32-bit address space. */
  PAGE_TABLE: 0x2000 + (MAX_REGIONS + 1) * 9,
  /** First address handed out to regions. */
  FIRST_REGION: 0x2000 + (MAX_REGIONS + 1) * 9 + (1 << (32 - PAGE_SHIFT)) * 2,
} as const;

/** Region flags. */
export const REGION_READ = 1;
export const REGION_WRITE = 2;

export type RegionKind = 'stack' | 'context' | 'packet' | 'map' | 'global' | 'memory' | 'ringbuf' | 'helper';

/** A mapped range of the arena. `start`/`end` may shrink inside the allocation (a packet's data). */
export class Region {
  constructor(
    private readonly arena: Arena,
    readonly id: number,
    readonly kind: RegionKind,
    readonly name: string,
    /** First byte of the allocation (page-aligned). */
    readonly base: number,
    /** Bytes allocated (a multiple of the page size). */
    readonly capacity: number,
  ) {}

  get start(): number {
    return this.arena.regionStart[this.id];
  }

  get end(): number {
    return this.arena.regionEnd[this.id];
  }

  /** Narrow or move the accessible window inside the allocation, e.g. after xdp_adjust_head. */
  setBounds(start: number, end: number): void {
    if (start < this.base || end > this.base + this.capacity || start > end) {
      throw new XdplabError('VM_FAULT', `region ${this.name}: bounds [${start}, ${end}) outside its allocation`);
    }
    this.arena.regionStart[this.id] = start;
    this.arena.regionEnd[this.id] = end;
  }

  setFlags(flags: number): void {
    this.arena.regionFlags[this.id] = flags;
  }

  /** The accessible bytes, as a view (invalid after the arena grows: take a new one). */
  bytes(): Uint8Array {
    return new Uint8Array(this.arena.memory.buffer, this.start, this.end - this.start);
  }
}

export interface ArenaOptions {
  /** Initial size in bytes (rounded up to 64 KiB); the arena grows on demand. */
  initialBytes?: number;
  /** Upper bound in bytes (at most 4 GiB: pointers are 32-bit). */
  maximumBytes?: number;
}

export class Arena {
  /** The JIT engine whose register file and frames live in this arena's scratch area (one an arena). */
  jitEngine: object | undefined = undefined;
  /** The array and hash maps' lookup layouts by header address, which the JIT may compile (map-layout.ts). */
  readonly mapLookupLayouts = new Map<number, MapLookupLayout>();
  /** The prog arrays' slot layouts by header address, for the JIT's tail calls (prog-array-layout.ts). */
  readonly progArrayLayouts = new Map<number, ProgArrayLayout>();
  readonly memory: WebAssembly.Memory;
  /** Region id of each 4 KiB page of the 32-bit address space; 0 = unmapped. (Views into the reserved area.) */
  pageRegion!: Uint16Array;
  regionStart!: Uint32Array;
  regionEnd!: Uint32Array;
  regionFlags!: Uint8Array;
  private readonly regions: (Region | undefined)[] = [undefined];
  private readonly freeIds: number[] = [];
  /** Next free address; starts past the never-mapped first page and the reserved area. */
  private top: number = ARENA_LAYOUT.FIRST_REGION;
  private readonly maximumBytes: number;

  /** Views over the memory, replaced whenever it grows (growing detaches the old buffer). */
  u8!: Uint8Array;
  view!: DataView;

  constructor(options: ArenaOptions = {}) {
    const initial = Math.ceil((ARENA_LAYOUT.FIRST_REGION + (options.initialBytes ?? 1 << 20)) / WASM_PAGE);
    this.maximumBytes = Math.min(options.maximumBytes ?? 4 * 1024 ** 3, 4 * 1024 ** 3);
    this.memory = new WebAssembly.Memory({ initial, maximum: Math.ceil(this.maximumBytes / WASM_PAGE) });
    this.refreshViews();
  }

  private refreshViews(): void {
    this.u8 = new Uint8Array(this.memory.buffer);
    this.view = new DataView(this.memory.buffer);
    const buffer = this.memory.buffer;
    this.pageRegion = new Uint16Array(buffer, ARENA_LAYOUT.PAGE_TABLE, 1 << (32 - PAGE_SHIFT));
    this.regionStart = new Uint32Array(buffer, ARENA_LAYOUT.REGION_START, MAX_REGIONS + 1);
    this.regionEnd = new Uint32Array(buffer, ARENA_LAYOUT.REGION_END, MAX_REGIONS + 1);
    this.regionFlags = new Uint8Array(buffer, ARENA_LAYOUT.REGION_FLAGS, MAX_REGIONS + 1);
  }

  /** Map a new region of at least `size` bytes (zero-filled), followed by a guard page. */
  alloc(size: number, kind: RegionKind, name: string, flags = REGION_READ | REGION_WRITE): Region {
    const capacity = Math.max(PAGE_SIZE, Math.ceil(size / PAGE_SIZE) * PAGE_SIZE);
    const base = this.top;
    const next = base + capacity + PAGE_SIZE;
    if (next > this.maximumBytes) {
      throw new XdplabError('VM_FAULT', `arena full: cannot map ${size} bytes for ${kind} ${name} (limit ${this.maximumBytes} bytes)`);
    }
    this.ensure(next);
    const id = this.freeIds.pop() ?? this.regions.length;
    if (id > MAX_REGIONS) throw new XdplabError('VM_FAULT', `arena: more than ${MAX_REGIONS} regions`);
    this.top = next;
    const region = new Region(this, id, kind, name, base, capacity);
    this.regions[id] = region;
    this.regionStart[id] = base;
    this.regionEnd[id] = base + size;
    this.regionFlags[id] = flags;
    this.pageRegion.fill(id, base >>> PAGE_SHIFT, (base + capacity) >>> PAGE_SHIFT);
    this.u8.fill(0, base, base + capacity);
    return region;
  }

  /** Unmap a region: later accesses to it fault. (Its addresses are not reused.) */
  free(region: Region): void {
    if (this.regions[region.id] !== region) return;
    this.pageRegion.fill(0, region.base >>> PAGE_SHIFT, (region.base + region.capacity) >>> PAGE_SHIFT);
    this.regionStart[region.id] = 0;
    this.regionEnd[region.id] = 0;
    this.regionFlags[region.id] = 0;
    this.regions[region.id] = undefined;
    this.freeIds.push(region.id);
  }

  private ensure(bytes: number): void {
    const have = this.memory.buffer.byteLength;
    if (bytes <= have) return;
    const pages = Math.ceil((bytes - have) / WASM_PAGE);
    // Grow at least by half again, so a run of allocations grows the memory rarely.
    const want = Math.max(pages, Math.ceil(have / WASM_PAGE / 2));
    const limit = Math.ceil(this.maximumBytes / WASM_PAGE) - have / WASM_PAGE;
    this.memory.grow(Math.min(want, Math.max(pages, limit)));
    this.refreshViews();
  }

  /** The region an address lies in, or undefined when unmapped. */
  regionAt(addr: number): Region | undefined {
    const id = this.pageRegion[addr >>> PAGE_SHIFT];
    if (id === 0 || addr < this.regionStart[id] || addr >= this.regionEnd[id]) return undefined;
    return this.regions[id];
  }

  /**
   * Whether [addr, addr+size) is inside one mapped region with the given access flag.
   * `hi` is the pointer's upper 32 bits: any non-zero value is outside the arena.
   */
  canAccess(addr: number, hi: number, size: number, flag: number): boolean {
    return checkAccess(this.pageRegion, this.regionStart, this.regionEnd, this.regionFlags, addr, hi, size, flag);
  }

  /** Describe an address for a fault message: "stack+12", "packet eth0+3", "unmapped". */
  describe(addr: number): string {
    const id = this.pageRegion[addr >>> PAGE_SHIFT];
    const region = this.regions[id];
    if (!region) return 'unmapped memory';
    return `${region.kind} ${region.name} (bytes ${region.start - region.base}..${region.end - region.base} of it are accessible, this is byte ${addr - region.base})`;
  }
}

/**
 * The access check both engines use: `addr` (a uint32 as a JS number, or an int32 — it is
 * normalised) with its upper word `hi` must lie with all `size` bytes inside the one region
 * its page belongs to, and that region must allow `flag`.
 */
export function checkAccess(
  pageRegion: Uint16Array, start: Uint32Array, end: Uint32Array, flags: Uint8Array,
  addr: number, hi: number, size: number, flag: number,
): boolean {
  if (hi !== 0) return false;
  const a = addr >>> 0;
  const id = pageRegion[a >>> PAGE_SHIFT];
  return id !== 0 && a >= start[id] && a + size <= end[id] && (flags[id] & flag) !== 0;
}
