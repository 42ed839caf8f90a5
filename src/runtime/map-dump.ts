/**
 * Every map of a collection as JSON — the raw key and value in hex, and, where the object has
 * BTF, both decoded as `bpftool map dump -j` shows them — written as a stream: one entry at a
 * time into a sink, so a map of tens of millions of entries (katran's consistent-hash rings)
 * dumps in bounded memory, as bpftool dumps it. The text is exactly JSON.stringify(dump, null,
 * 2) of the whole, indented to sit where the caller puts it (`--maps-out`, summary.json).
 */
import type { Btf } from '../btf/btf.js';
import { formatValue } from '../btf/format.js';
import { roundUp8, type BpfMap } from '../maps/map.js';
import type { Collection } from './collection.js';

export interface MapEntryJson {
  key: string;
  /** The value as the bpf syscall gives it: per-CPU maps, round_up(value_size, 8) bytes per CPU. */
  value: string;
  /** Per-CPU maps: each CPU's value_size bytes, as `bpftool map dump -j` lists them. */
  values?: Array<{ cpu: number; value: string }>;
  /** Key and value decoded through BTF, as `bpftool map dump` shows them. */
  formatted?: { key: unknown; value?: unknown; values?: Array<{ cpu: number; value: unknown }> };
}

/** Where the text goes, a piece at a time (a file's buffered write, a test's counter …). */
export type TextSink = (text: string) => void;

const hex = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');

/** A key without BTF: a u32 (array indexes), none for queues and stacks (keyless), else hex. */
function untypedKey(key: Uint8Array): unknown {
  if (key.length === 0) return null;
  return key.length === 4 ? new DataView(key.buffer, key.byteOffset).getUint32(0, true) : hex(key);
}

/** Key and value through BTF, when the object has it; undefined when a map has no types. */
function formatEntry(btf: Btf | undefined, map: BpfMap, key: Uint8Array, value: Uint8Array): MapEntryJson['formatted'] {
  const { keyTypeId, valueTypeId, valueSize } = map.spec;
  if (!btf || !valueTypeId) return undefined;
  const formattedKey = keyTypeId ? formatValue(btf, keyTypeId, key, 'key') : untypedKey(key);
  if (!map.perCpu) return { key: formattedKey, value: formatValue(btf, valueTypeId, value) };
  const stride = roundUp8(valueSize);
  const values = Array.from({ length: value.length / stride }, (_, cpu) => ({
    cpu, value: formatValue(btf, valueTypeId, value.subarray(cpu * stride, cpu * stride + valueSize)),
  }));
  return { key: formattedKey, values };
}

function perCpuValues(map: BpfMap, value: Uint8Array): Array<{ cpu: number; value: string }> {
  const { valueSize } = map.spec;
  const stride = roundUp8(valueSize);
  return Array.from({ length: value.length / stride }, (_, cpu) => ({ cpu, value: hex(value.subarray(cpu * stride, cpu * stride + valueSize)) }));
}

/** One entry of a map as the dump shows it. */
export function mapEntryJson(btf: Btf | undefined, map: BpfMap, key: Uint8Array, value: Uint8Array): MapEntryJson {
  const entry: MapEntryJson = { key: hex(key), value: hex(value) };
  if (map.perCpu) entry.values = perCpuValues(map, value);
  const formatted = formatEntry(btf, map, key, value);
  if (formatted) entry.formatted = formatted;
  return entry;
}

/** `text` (JSON.stringify(…, null, 2) output) with every line after the first indented by `pad`. */
const indentBy = (text: string, pad: string): string => (pad ? text.replaceAll('\n', `\n${pad}`) : text);

/**
 * One map's entries as a JSON array, streamed: what JSON.stringify(list, null, 2) gives, its
 * lines after the first indented by `pad`. Returns the number of entries.
 */
export function writeMapJson(btf: Btf | undefined, map: BpfMap, sink: TextSink, pad = ''): number {
  let n = 0;
  for (const [key, value] of map.entries()) {
    sink(`${n === 0 ? '[' : ','}\n${pad}  ${indentBy(JSON.stringify(mapEntryJson(btf, map, key, value), null, 2), `${pad}  `)}`);
    n++;
  }
  sink(n === 0 ? '[]' : `\n${pad}]`);
  return n;
}

/**
 * Every map of `collection` as one JSON object { name: [entries] }, streamed into `sink`:
 * JSON.stringify(object, null, 2) with its lines after the first indented by `pad`.
 */
export function writeMapsJson(collection: Collection, sink: TextSink, pad = ''): void {
  writeMapsOf([...collection.maps.values()], collection.spec.btf?.btf, sink, pad);
}

/** Maps as one JSON object { name: [entries] }, streamed (see writeMapsJson). */
export function writeMapsOf(maps: readonly BpfMap[], btf: Btf | undefined, sink: TextSink, pad = ''): void {
  if (maps.length === 0) {
    sink('{}');
    return;
  }
  sink('{');
  maps.forEach((map, i) => {
    sink(`${i === 0 ? '' : ','}\n${pad}  ${JSON.stringify(map.name)}: `);
    writeMapJson(btf, map, sink, `${pad}  `);
  });
  sink(`\n${pad}}`);
}
