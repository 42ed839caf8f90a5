/**
 * Map entries written in a topology file, as the bytes a map takes: numbers, IP addresses,
 * CIDRs (LPM trie keys: struct bpf_lpm_trie_key, a u32 prefix length then the address),
 * structs and arrays through the object's BTF, or `{ hex: "…" }`. docs/topology.md lists the
 * forms. Per-CPU maps take one value, which every CPU gets.
 */
import type { Btf } from '../btf/btf.js';
import { parseValue } from '../btf/parse-value.js';
import { BTF_KIND_ENUM, BTF_KIND_ENUM64, BTF_KIND_INT } from '../btf/types.js';
import { XdplabError } from '../errors.js';
import { roundUp8, type BpfMap } from '../maps/map.js';
import type { Program } from '../runtime/program.js';
import { BPF_ATTACH_TYPE, BPF_MAP_TYPE, BPF_PROG_TYPE } from '../uapi/bpf.js';
import { parseCidr, parseIp } from './addresses.js';
import type { Cursor } from './cursor.js';

function littleEndian(value: bigint, size: number): Uint8Array {
  const out = new Uint8Array(size);
  let v = BigInt.asUintN(size * 8, value);
  for (let i = 0; i < size; i++, v >>= 8n) out[i] = Number(v & 0xffn);
  return out;
}

function fitsInt(value: bigint, size: number): boolean {
  const bits = BigInt(size * 8);
  return value >= -(1n << (bits - 1n)) && value < 1n << bits;
}

/**
 * Where a key or value is written — a place in a topology file (Cursor) or in a --maps-in
 * JSON file — with its data as plain JS and a way to fail naming the place.
 */
export interface ValueSource {
  readonly path: string;
  toJS(): unknown;
  fail(message: string): Error;
}

/** Bytes of one key or value of `size` bytes, whose BTF type is `typeId` (0: none). */
export function entryBytes(at: ValueSource, size: number, typeId: number, btf: Btf | undefined, lpmKey: boolean): Uint8Array {
  const js = at.toJS();
  if (js !== null && typeof js === 'object' && !Array.isArray(js) && Object.keys(js).length === 1 && 'hex' in js) {
    const hex = String((js as { hex: unknown }).hex).replace(/\s+/g, '');
    if (!/^([0-9a-fA-F]{2})*$/.test(hex)) throw at.fail(`hex: "${hex}" is not hex bytes`);
    const bytes = Uint8Array.from(Buffer.from(hex, 'hex'));
    if (bytes.length !== size) throw at.fail(`hex gives ${bytes.length} bytes; this map's ${at.path.endsWith('key') ? 'keys' : 'values'} are ${size}`);
    return bytes;
  }
  if (typeof js === 'string') {
    const cidr = parseCidr(js);
    if (cidr) {
      if (!lpmKey) throw at.fail(`${js} is a CIDR, which only an LPM trie's key can be`);
      if (size !== 4 + cidr.address.length) throw at.fail(`an LPM key of ${size} bytes cannot hold ${js} (needs ${4 + cidr.address.length})`);
      const out = new Uint8Array(size);
      new DataView(out.buffer).setUint32(0, cidr.prefixLength, true);
      out.set(cidr.address, 4);
      return out;
    }
    const bad = badPrefix(js);
    if (bad) throw at.fail(bad);
    const ip = parseIp(js);
    if (ip) {
      if (ip.bytes.length !== size) throw at.fail(`${js} is ${ip.bytes.length} bytes; the field is ${size}`);
      return ip.bytes;
    }
  }
  if (typeof js === 'number' || typeof js === 'bigint') {
    const value = BigInt(js);
    if (btf && typeId && isInteger(btf, typeId)) return checkedParse(at, btf, typeId, js, size);
    if (size > 8 || !fitsInt(value, size)) throw at.fail(`${js} does not fit ${size} bytes`);
    return littleEndian(value, size);
  }
  if (btf && typeId) return checkedParse(at, btf, typeId, js, size);
  throw at.fail(`cannot make ${size} bytes of ${JSON.stringify(js)} without BTF (write { hex: "…" })`);
}

/** `10.0.0.0/33`: an address with a prefix length it cannot have — said so, not taken for a struct. */
function badPrefix(text: string): string | undefined {
  const m = /^(.+)\/(\d+)$/.exec(text);
  const ip = m ? parseIp(m[1]) : undefined;
  if (!m || !ip) return undefined;
  const bits = ip.bytes.length * 8;
  return `${text}: prefix length ${m[2]} is longer than the ${bits} bits of an IPv${ip.family} address (0..${bits})`;
}

function isInteger(btf: Btf, typeId: number): boolean {
  const t = btf.resolve(typeId);
  return t.kind === BTF_KIND_INT || t.kind === BTF_KIND_ENUM || t.kind === BTF_KIND_ENUM64;
}

function checkedParse(at: ValueSource, btf: Btf, typeId: number, js: unknown, size: number): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = parseValue(btf, typeId, js, at.path);
  } catch (err) {
    throw at.fail(err instanceof Error ? err.message : String(err));
  }
  if (bytes.length !== size) throw at.fail(`${btf.toString(typeId)} is ${bytes.length} bytes; the map takes ${size}`);
  return bytes;
}

/** Map types whose entries may carry a program (struct bpf_devmap_val / bpf_cpumap_val). */
const PROGRAM_ENTRY_TYPES: ReadonlySet<number> = new Set([
  BPF_MAP_TYPE.BPF_MAP_TYPE_DEVMAP, BPF_MAP_TYPE.BPF_MAP_TYPE_DEVMAP_HASH, BPF_MAP_TYPE.BPF_MAP_TYPE_CPUMAP,
]);

/**
 * Load `{ key, value }` entries into a live map. A devmap or cpumap entry may also name a
 * program of the topology (`program: NAME`), whose id goes where the kernel's value holds the
 * program's fd: the u32 after the ifindex (or queue size). As __dev_map_alloc_node and
 * __cpu_map_load_bpf_program check, it must be an XDP program built for that map
 * (SEC("xdp/devmap") / SEC("xdp/cpumap")).
 */
export function loadMapEntries(map: BpfMap, entries: Cursor, btf: Btf | undefined, programByName: (name: string) => Program | undefined = () => undefined): void {
  const { keySize, valueSize, keyTypeId, valueTypeId, type } = map.spec;
  const lpm = type === BPF_MAP_TYPE.BPF_MAP_TYPE_LPM_TRIE;
  const withProgram = PROGRAM_ENTRY_TYPES.has(type) && valueSize >= 8;
  for (const entry of entries.list()) {
    const fields = entry.map(withProgram ? ['key', 'value', 'program'] : ['key', 'value'], ['key', 'value']);
    const key = entryBytes(fields.get('key')!, keySize, keyTypeId, btf, lpm);
    const one = entryBytes(fields.get('value')!, valueSize, valueTypeId, btf, false);
    const programAt = fields.get('program');
    if (programAt) {
      const id = entryProgramId(programAt, programByName(programAt.string()), type);
      new DataView(one.buffer, one.byteOffset, one.byteLength).setUint32(4, id, true);
    }
    const value = map.perCpu ? perCpuValue(one, valueSize, map.cpus) : one;
    try {
      map.update(key, value);
    } catch (err) {
      throw entry.fail(err instanceof XdplabError ? err.message : String(err));
    }
  }
}

/** The id of a map entry's program, refused (at its place in the file) unless the kernel would take it. */
function entryProgramId(at: Cursor, program: Program | undefined, mapType: number): number {
  if (!program) throw at.fail(`no program ${at.string()} in this topology`);
  const cpumap = mapType === BPF_MAP_TYPE.BPF_MAP_TYPE_CPUMAP;
  const want = cpumap ? BPF_ATTACH_TYPE.BPF_XDP_CPUMAP : BPF_ATTACH_TYPE.BPF_XDP_DEVMAP;
  if (program.type !== BPF_PROG_TYPE.BPF_PROG_TYPE_XDP || program.spec.attachType !== want) {
    throw at.fail(`program ${at.string()} (section ${program.spec.sectionName}) cannot run in a ${cpumap ? 'cpumap' : 'devmap'} entry: it takes an XDP program of SEC("xdp/${cpumap ? 'cpumap' : 'devmap'}")`);
  }
  return program.id;
}

export function perCpuValue(one: Uint8Array, valueSize: number, cpus: number): Uint8Array {
  const stride = roundUp8(valueSize);
  const out = new Uint8Array(stride * cpus);
  for (let cpu = 0; cpu < cpus; cpu++) out.set(one, cpu * stride);
  return out;
}
