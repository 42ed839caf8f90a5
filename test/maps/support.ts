/** Shared pieces of the map tests: a host (arena + CPUs), specs, bytes. */
import { createMap, type BpfMap, type MapHost } from '../../src/maps/index.js';
import { BPF_MAP_TYPE, MAP_TYPE_NAMES } from '../../src/uapi/bpf.js';
import type { MapSpec } from '../../src/spec/types.js';
import { Arena } from '../../src/vm/arena.js';

export function makeHost(cpus = 2, extra: Partial<MapHost> = {}): MapHost {
  return { arena: new Arena(), cpus, ...extra };
}

export type TypeName = keyof typeof BPF_MAP_TYPE extends `BPF_MAP_TYPE_${infer N}` ? Lowercase<N> : never;

export function typeNumber(name: string): number {
  const n = Number(Object.entries(MAP_TYPE_NAMES).find(([, v]) => v === name)?.[0]);
  if (Number.isNaN(n)) throw new Error(`no map type ${name}`);
  return n;
}

export function spec(type: string, keySize: number, valueSize: number, maxEntries: number, flags = 0, extra: Partial<MapSpec> = {}): MapSpec {
  return {
    name: `t_${type}`, type: typeNumber(type), keySize, valueSize, maxEntries, flags, pinning: 0,
    keyTypeId: 0, valueTypeId: 0, origin: 'test', ...extra,
  };
}

let nextId = 1;
export function make(type: string, keySize: number, valueSize: number, maxEntries: number, flags = 0, extra: Partial<MapSpec> = {}, host = makeHost()): BpfMap {
  return createMap(host, spec(type, keySize, valueSize, maxEntries, flags, extra), nextId++);
}

/** Little-endian u32 bytes. */
export const u32 = (v: number): Uint8Array => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v >>> 0, true);
  return b;
};
export const readU32 = (b: Uint8Array | undefined, at = 0): number | undefined =>
  b === undefined ? undefined : new DataView(b.buffer, b.byteOffset).getUint32(at, true);
export const bytes = (...v: number[]): Uint8Array => Uint8Array.from(v);
export const hex = (b: Uint8Array | undefined): string | undefined => (b === undefined ? undefined : Buffer.from(b).toString('hex'));
export const fromHex = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h.replace(/\s+/g, ''), 'hex'));

/** Every key in nextKey order, as hex. */
export function keyOrder(map: BpfMap): string[] {
  const keys: string[] = [];
  for (let k = map.nextKey(undefined); k; k = map.nextKey(k)) keys.push(hex(k)!);
  return keys;
}

/** An LPM key: u32 prefixlen (little-endian) + data bytes. */
export const lpmKey = (prefixlen: number, ...data: number[]): Uint8Array => Uint8Array.from([...u32(prefixlen), ...data]);

/** The errno a MapError carries, or 0 when `fn` does not throw. */
export function errnoOf(fn: () => unknown): number {
  try {
    fn();
    return 0;
  } catch (e) {
    const errno = (e as { errno?: number }).errno;
    if (errno === undefined) throw e;
    return errno;
  }
}

/** A program's-face call with bytes staged in a scratch arena region. */
export function stager(host: MapHost): (b: Uint8Array) => number {
  const region = host.arena.alloc(1 << 16, 'memory', 'test staging');
  let at = 0;
  return (b: Uint8Array): number => {
    if (at + b.length + 8 > region.capacity) at = 0;
    const addr = region.start + at;
    host.arena.u8.set(b, addr);
    at += (b.length + 7) & ~7 || 8;
    return addr;
  };
}
