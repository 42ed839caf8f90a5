#!/usr/bin/env node
// Maglev lookup tables for topologies/l4-lb (the control plane's half of the balancer):
// Eisenbud et al., "Maglev: A Fast and Reliable Software Network Load Balancer" (NSDI 2016),
// section 3.4. Each backend gets a permutation of the table's slots from two hashes of its
// name (offset, skip); backends take turns claiming their next unclaimed slot until the
// table is full, so each owns about RING_SIZE / N slots, and removing one backend moves only
// the flows that hashed to its slots.
//
// Usage: node scripts/maglev-ring.mjs SIZE ID[:NAME] ...   (SIZE must be prime)
//   node scripts/maglev-ring.mjs 61 1:be1-v4 2:be2-v4 3:be3-v4
// prints the table as the YAML list topology.yaml takes for the ring's `backends` field.
const RING_SIZE_DEFAULT = 61;

/** FNV-1a, 32 bits, with a chosen offset basis (two bases give Maglev its two hashes). */
function fnv1a(text, basis) {
  let h = basis >>> 0;
  for (const byte of new TextEncoder().encode(text)) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** The Maglev table: `size` slots (prime), each a backend id; [] of backends gives all zeros. */
export function maglevTable(size, backends) {
  const table = new Array(size).fill(0);
  if (backends.length === 0) return table;
  const perm = backends.map(({ name }) => ({
    offset: fnv1a(name, 0x811c9dc5) % size,
    skip: (fnv1a(name, 0x050c5d1f) % (size - 1)) + 1,
    next: 0,
  }));
  let filled = 0;
  for (;;) {
    for (let i = 0; i < backends.length; i++) {
      const p = perm[i];
      let slot = (p.offset + p.next * p.skip) % size;
      while (table[slot] !== 0) {
        p.next++;
        slot = (p.offset + p.next * p.skip) % size;
      }
      table[slot] = backends[i].id;
      p.next++;
      if (++filled === size) return table;
    }
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [sizeArg, ...rest] = process.argv.slice(2);
  const size = Number(sizeArg ?? RING_SIZE_DEFAULT);
  const backends = rest.map((arg) => {
    const [id, name] = arg.split(':');
    return { id: Number(id), name: name ?? `backend-${id}` };
  });
  console.log(`[${maglevTable(size, backends).join(', ')}]`);
}
