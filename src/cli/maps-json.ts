/**
 * The map files of `prog run` and `replay`: --maps-in, entries loaded into a collection's maps
 * before the run, and --maps-out, every map afterwards, streamed into the file (bounded memory
 * whatever the maps' size; see runtime/map-dump.ts) and renamed into place when complete.
 */
import { XdplabError } from '../errors.js';
import { OutputFile } from '../files.js';
import { roundUp8, type BpfMap } from '../maps/map.js';
import type { Collection } from '../runtime/collection.js';
import { writeMapsJson } from '../runtime/map-dump.js';
import { parseHex, readText } from './files.js';

/** --maps-in: {"map": [{"key": HEX, "value": HEX}, …], …} loaded before the run. */
export function loadMapsIn(collection: Collection, file: string): void {
  let json: unknown;
  try {
    json = JSON.parse(readText(file));
  } catch (err) {
    if (err instanceof XdplabError) throw err;
    throw new XdplabError('BAD_INPUT', `${file}: not JSON: ${(err as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new XdplabError('BAD_INPUT', `${file}: expected an object of map names`);
  for (const [name, entries] of Object.entries(json as Record<string, unknown>)) {
    const map = collection.maps.get(name);
    const unsupported = collection.unsupportedMaps.get(name);
    if (!map && unsupported) throw new XdplabError('UNSUPPORTED', `${file}: ${unsupported.message}`);
    if (!map) throw new XdplabError('BAD_INPUT', `${file}: no map ${name} (the object has: ${[...collection.maps.keys()].join(', ')})`);
    if (!Array.isArray(entries)) throw new XdplabError('BAD_INPUT', `${file}: ${name}: expected a list of {key, value}`);
    entries.forEach((entry, i) => {
      const where = `${file}: ${name}[${i}]`;
      const e = entry as { key?: unknown; value?: unknown };
      if (typeof e?.key !== 'string' || typeof e?.value !== 'string') throw new XdplabError('BAD_INPUT', `${where}: needs "key" and "value" hex strings`);
      try {
        map.update(parseHex(e.key, `${where}.key`), perCpuValue(map, parseHex(e.value, `${where}.value`)));
      } catch (err) {
        if (err instanceof XdplabError && !err.message.startsWith(file)) err.message = `${where}: ${err.message}`;
        throw err;
      }
    });
  }
}

/** bpftool's fill_per_cpu_value: one value given for a per-CPU map is every CPU's. */
function perCpuValue(map: BpfMap, value: Uint8Array): Uint8Array {
  const { valueSize } = map.spec;
  const cpus = map.cpus;
  if (!map.perCpu || cpus === 1 || value.length !== valueSize) return value;
  const stride = roundUp8(valueSize);
  const all = new Uint8Array(stride * cpus);
  for (let cpu = 0; cpu < cpus; cpu++) all.set(value, cpu * stride);
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
