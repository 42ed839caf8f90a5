/**
 * Editing a spec before it is loaded, as cilium/ebpf lets one: set a global variable's initial
 * value by name (a `.rodata` constant — `const volatile` knobs — or a `.data` / `.bss`
 * variable), resize a map. (Replacing a map with a live one is Collection.load's
 * `mapReplacements`.) Everything here changes plain data only.
 */
import { XdplabError } from '../errors.js';
import type { CollectionSpec, GlobalVariable, MapSpec } from './types.js';

function findVariable(spec: CollectionSpec, name: string): { map: MapSpec; variable: GlobalVariable } {
  for (const map of spec.maps.values()) {
    const variable = map.variables?.get(name);
    if (variable) return { map, variable };
  }
  const known = [...spec.maps.values()].flatMap((m) => [...(m.variables?.keys() ?? [])]);
  throw new XdplabError('BAD_INPUT', `${spec.source}: no global variable ${name} (it has: ${known.join(', ') || 'none'})`);
}

/** Little-endian bytes of `value` in `size` bytes; errors when it does not fit. */
function encode(name: string, value: number | bigint | Uint8Array, size: number): Uint8Array {
  if (value instanceof Uint8Array) {
    if (value.length !== size) throw new XdplabError('BAD_INPUT', `${name} is ${size} bytes; ${value.length} given`);
    return value;
  }
  const v = BigInt(value);
  const bits = BigInt(size * 8);
  if (size > 8 || v >= 1n << bits || v < -(1n << (bits - 1n))) {
    throw new XdplabError('BAD_INPUT', `${value} does not fit ${name} (${size} bytes)`);
  }
  const out = new Uint8Array(size);
  let u = BigInt.asUintN(size * 8, v);
  for (let i = 0; i < size; i++, u >>= 8n) out[i] = Number(u & 0xffn);
  return out;
}

/** Set the initial value of global variable `name` (numbers little-endian, or raw bytes). */
export function setGlobal(spec: CollectionSpec, name: string, value: number | bigint | Uint8Array): void {
  const { map, variable } = findVariable(spec, name);
  const bytes = encode(name, value, variable.size);
  const initial = map.initialValue ?? new Uint8Array(map.valueSize);
  initial.set(bytes, variable.offset);
  map.initialValue = initial;
}

/** The initial value of global variable `name`, as bytes. */
export function getGlobal(spec: CollectionSpec, name: string): Uint8Array {
  const { map, variable } = findVariable(spec, name);
  return (map.initialValue ?? new Uint8Array(map.valueSize)).slice(variable.offset, variable.offset + variable.size);
}

/** Change a map's max_entries before loading. */
export function resizeMap(spec: CollectionSpec, name: string, maxEntries: number): void {
  const map = spec.maps.get(name);
  if (!map) throw new XdplabError('BAD_INPUT', `${spec.source}: no map ${name}`);
  if (map.globalSection) throw new XdplabError('BAD_INPUT', `map ${name} holds section ${map.globalSection}: it has one entry`);
  if (!Number.isInteger(maxEntries) || maxEntries < 1 || maxEntries > 0xffffffff) {
    throw new XdplabError('BAD_INPUT', `map ${name}: max_entries ${maxEntries} must be 1..4294967295`);
  }
  map.maxEntries = maxEntries;
}
