/**
 * The maps a run leaves, in `xdplab run`'s table: each map's entries that are not all zero (an
 * array's untouched slots say nothing), decoded through BTF as summary.json has them, for maps
 * small enough to read at a glance; a larger one is a count that points to summary.json.
 */
import path from 'node:path';
import Table from 'cli-table3';
import type { Collection } from '../runtime/collection.js';
import { mapEntryJson } from '../runtime/map-dump.js';

/** Maps with at most this many non-zero entries are shown entry by entry. */
export const SMALL_MAP = 16;
/** A value shown longer than this is cut (summary.json has it whole). */
const MAX_TEXT = 72;

const cut = (text: string): string => (text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT - 1)}…` : text);

/** A key or value as the table shows it, compactly: `{packets: 86, bytes: 6272}`, strings bare. */
const show = (v: unknown): string =>
  cut(typeof v === 'string' ? v : JSON.stringify(v).replace(/"([A-Za-z_][\w.]*)":/g, '$1: ').replace(/,(?=[{["\w-])/g, ', '));

/** The table rows of one map: [map, key, value]. */
function mapRows(collection: Collection, name: string): string[][] {
  const map = collection.maps.get(name)!;
  const btf = collection.spec.btf?.btf;
  const rows: string[][] = [];
  let nonZero = 0;
  for (const [key, value] of map.entries()) {
    if (value.every((b) => b === 0)) continue;
    if (++nonZero > SMALL_MAP) continue; // counted, not shown
    const e = mapEntryJson(btf, map, key, value);
    // Per-CPU maps: the CPUs' values in order.
    const shownValue = e.formatted ? (e.formatted.values?.map((v) => v.value) ?? e.formatted.value) : (e.values?.map((v) => v.value) ?? e.value);
    rows.push([name, show(e.formatted ? e.formatted.key : e.key), show(shownValue)]);
  }
  if (nonZero > SMALL_MAP) return [[name, `${nonZero} entries`, 'in summary.json']];
  return rows;
}

/** The table of the maps of every object a run loaded ("" when they are all empty). */
export function mapsTable(collections: ReadonlyMap<string, Collection>, topologyFile: string): string {
  const table = new Table({ head: ['map', 'key', 'value'], style: { head: [], border: [], compact: true } });
  for (const [object, collection] of collections) {
    const label = path.relative(path.dirname(topologyFile), object);
    for (const name of collection.maps.keys()) {
      for (const [map, key, value] of mapRows(collection, name)) table.push([collections.size > 1 ? `${label}: ${map}` : map, key, value]);
    }
  }
  return table.length ? table.toString() + '\n' : '';
}

/** Objects by their path as the topology file names them (relative to it): summary.json's keys. */
export function collectionsByName(collections: ReadonlyMap<string, Collection>, topologyFile: string): Map<string, Collection> {
  return new Map([...collections].map(([object, c]) => [path.relative(path.dirname(topologyFile), object), c]));
}
