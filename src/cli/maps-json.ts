/**
 * The map files of `prog run` and `replay`: --maps-in, entries loaded into a collection's maps
 * before the run (hex, `bpftool map dump -j`'s entries, or the topology's own syntax), and --maps-out, every map afterwards, streamed into the file (bounded memory
 * whatever the maps' size; see runtime/map-dump.ts) and renamed into place when complete.
 */
import type { Btf } from '../btf/btf.js';
import { XdplabError, withContext } from '../errors.js';
import { OutputFile } from '../files.js';
import { roundUp8, type BpfMap } from '../maps/map.js';
import type { Collection } from '../runtime/collection.js';
import { writeMapsJson } from '../runtime/map-dump.js';
import { BPF_MAP_TYPE } from '../uapi/bpf.js';
import { entryBytes, perCpuValue, type ValueSource } from '../topology/map-values.js';
import { parseHex, readJsonObject } from './files.js';

/**
 * --maps-in: `{ "map": [ entry, … ], … }` loaded before the run. An entry is any of:
 * - `{"key": HEX, "value": HEX}` — hex strings, as --maps-out writes them (a per-CPU map's
 *   value: one CPU's bytes for every CPU, or every CPU's, round_up(value_size, 8) each);
 * - an entry of `bpftool map dump -j`: `key`/`value` as arrays of "0x.." bytes, per-CPU maps'
 *   `values: [{cpu, value}]`, and `formatted` (used when the raw bytes are not there) — so a
 *   map's dump, pasted under its name, seeds it;
 * - key and value in the topology's own syntax (docs/topology.md): numbers, IP addresses,
 *   CIDRs for LPM trie keys, structs by field through BTF, `{hex: "…"}` — what `bpftool map
 *   dump` prints with BTF is this.
 */
export function loadMapsIn(collection: Collection, file: string): void {
  const json = readJsonObject(file, 'an object of map names');
  const btf = collection.spec.btf?.btf;
  for (const [name, entries] of Object.entries(json)) {
    const map = collection.maps.get(name);
    const unsupported = collection.unsupportedMaps.get(name);
    if (!map && unsupported) throw new XdplabError('UNSUPPORTED', `${file}: ${unsupported.message}`);
    if (!map) throw new XdplabError('BAD_INPUT', `${file}: no map ${name} (the object has: ${[...collection.maps.keys()].join(', ')})`);
    if (!Array.isArray(entries)) throw new XdplabError('BAD_INPUT', `${file}: ${name}: expected a list of {key, value}`);
    entries.forEach((entry, i) => {
      const where = `${file}: ${name}[${i}]`;
      if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw new XdplabError('BAD_INPUT', `${where}: expected an object with key and value`);
      const { key, value } = entryOf(map, btf, entry as EntryJson, where);
      try {
        map.update(key, value);
      } catch (err) {
        throw withContext(err, where);
      }
    });
  }
}

/** One entry of a --maps-in file, in any of the forms loadMapsIn takes. */
interface EntryJson {
  key?: unknown;
  value?: unknown;
  values?: unknown;
  formatted?: { key?: unknown; value?: unknown; values?: unknown };
}

/** A place in the JSON file, for map-values.ts (the topology's syntax). */
function jsonAt(where: string, field: string, data: unknown): ValueSource {
  return { path: field, toJS: () => data, fail: (message) => new XdplabError('BAD_INPUT', `${where}.${field}: ${message}`) };
}

/** "0aff…" (even, hex digits only): raw bytes as --maps-out writes them. */
const isHexBytes = (v: unknown): v is string => typeof v === 'string' && /^([0-9a-fA-F]{2})+$/.test(v.replace(/\s+/g, ''));

/** bpftool's raw bytes: ["0x0a", "0xff", …]. */
const isByteList = (v: unknown): v is string[] => Array.isArray(v) && v.length > 0 && v.every((b) => typeof b === 'string' && /^0x[0-9a-fA-F]{1,2}$/.test(b));

const isRaw = (v: unknown): boolean => isHexBytes(v) || isByteList(v);

/** Bytes of a key or of one CPU's value, from whichever form it is written in. */
function bytesOf(data: unknown, size: number, typeId: number, btf: Btf | undefined, lpm: boolean, where: string, field: string): Uint8Array {
  if (isHexBytes(data)) return parseHex(data, `${where}.${field}`);
  if (isByteList(data)) return Uint8Array.from(data.map((b) => parseInt(b, 16)));
  return entryBytes(jsonAt(where, field, data), size, typeId, btf, lpm);
}

/** bpftool's raw bytes when they are there, its `formatted` form when they are not. */
const pick = (rawForm: unknown, formatted: unknown): unknown => (rawForm !== undefined && (isRaw(rawForm) || formatted === undefined) ? rawForm : formatted);

function entryOf(map: BpfMap, btf: Btf | undefined, e: EntryJson, where: string): { key: Uint8Array; value: Uint8Array } {
  const { keySize, valueSize, keyTypeId, valueTypeId, type } = map.spec;
  const lpm = type === BPF_MAP_TYPE.BPF_MAP_TYPE_LPM_TRIE;
  const keyData = pick(e.key, e.formatted?.key);
  if (keyData === undefined && keySize > 0) throw new XdplabError('BAD_INPUT', `${where}: needs a key`);
  const key = keySize === 0 ? new Uint8Array(0) : bytesOf(keyData, keySize, keyTypeId, btf, lpm, where, 'key');
  // A per-CPU list (bpftool's `values`, raw, else formatted) unless the whole raw value is given.
  const perCpu = isRaw(e.value) ? undefined : (e.values ?? (e.value === undefined ? e.formatted?.values : undefined));
  if (perCpu !== undefined) return { key, value: perCpuValues(map, btf, perCpu, where) };
  const valueData = pick(e.value, e.formatted?.value);
  if (valueData === undefined) throw new XdplabError('BAD_INPUT', `${where}: needs a value`);
  const one = isHexBytes(valueData) ? parseHex(valueData, `${where}.value`) : bytesOf(valueData, valueSize, valueTypeId, btf, false, where, 'value');
  // One CPU's value is every CPU's (bpftool's fill_per_cpu_value); every CPU's bytes are taken as they are.
  return { key, value: map.perCpu && map.cpus > 1 && one.length === valueSize ? perCpuValue(one, valueSize, map.cpus) : one };
}

/** `values: [{cpu, value}]` of a per-CPU map, as bpftool lists them: each CPU's value in its slot. */
function perCpuValues(map: BpfMap, btf: Btf | undefined, list: unknown, where: string): Uint8Array {
  const { valueSize, valueTypeId } = map.spec;
  if (!map.perCpu) throw new XdplabError('BAD_INPUT', `${where}.values: ${map.name} is not a per-CPU map (write "value")`);
  if (!Array.isArray(list)) throw new XdplabError('BAD_INPUT', `${where}.values: expected a list of {cpu, value}`);
  const stride = roundUp8(valueSize);
  const all = new Uint8Array(stride * map.cpus);
  list.forEach((item, i) => {
    const at = `values[${i}]`;
    const { cpu, value } = (item ?? {}) as { cpu?: unknown; value?: unknown };
    if (typeof cpu !== 'number' || !Number.isInteger(cpu) || cpu < 0) throw new XdplabError('BAD_INPUT', `${where}.${at}: needs "cpu", a CPU number`);
    if (cpu >= map.cpus) throw new XdplabError('BAD_INPUT', `${where}.${at}: cpu ${cpu}, but the run has ${map.cpus} CPU${map.cpus === 1 ? '' : 's'} (--cpus)`);
    const bytes = bytesOf(value, valueSize, valueTypeId, btf, false, where, `${at}.value`);
    if (bytes.length !== valueSize) throw new XdplabError('BAD_INPUT', `${where}.${at}.value: ${bytes.length} bytes; the map's values are ${valueSize}`);
    all.set(bytes, cpu * stride);
  });
  return all;
}

/**
 * --maps-out: every map of the collection, streamed into `file` under a temporary name and
 * renamed when complete; a failure part way (a full disk) leaves nothing and says why.
 */
export function writeMapsFile(collection: Collection, file: string): void {
  const out = new OutputFile(file);
  try {
    writeMapsJson(collection, (text) => out.write(text));
    out.write('\n');
    out.commit();
  } catch (err) {
    out.abort();
    throw err;
  }
}
