// The LPM trie map's speed: inserts and lookups with 1M random IPv4 prefixes (/8../32, a
// deterministic PRNG), through the program's face (arena addresses, what a helper calls),
// against the kernel's LPM trie doing the same work in the same run (bench/programs/lpm.bpf.c:
// the same PRNG sequences, run once each with BPF_PROG_TEST_RUN) when the kernel can be asked.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createMap } from '../dist/maps/index.js';
import { Arena } from '../dist/vm/arena.js';
import { bpftoolRun, fmt, kernelUnavailableReason, prng } from './lib.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const KERNEL_OBJECT = path.join(here, 'programs', 'lpm.bpf.o');

const PREFIXES = 1_000_000;
const LOOKUPS = 1_000_000;
const HOT_KEYS = 1024;
/** Figures quoted for the kernel's LPM trie with 1M IPv4 prefixes (its own benchmark's workload). */
const QUOTED_LOOKUP_NS = 70;
const QUOTED_INSERTS_PER_S = 520_000;

/** The kernel's unreclaimable slab memory, in bytes (/proc/meminfo SUnreclaim): where its trie nodes live. */
function kernelSlabBytes() {
  const m = /^SUnreclaim:\s+(\d+) kB$/m.exec(readFileSync('/proc/meminfo', 'utf8'));
  if (!m) throw new Error('no SUnreclaim line in /proc/meminfo');
  return Number(m[1]) * 1024;
}

/**
 * The kernel's LPM trie on the same work: load lpm.bpf.o, run its insert, lookup and hot-lookup
 * programs once each; { insertNs, lookupNs, hotNs, inserted, hits } per operation, and
 * `trieBytes`, what the inserts grew the kernel's unreclaimable slab by (the trie's nodes are
 * allocated there; the rest of the machine adds noise of a few hundred KiB).
 */
function kernelLpm() {
  const dir = path.join('/sys/fs/bpf', `xdplab_lpm_bench_${process.pid}`);
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'xdplab-lpm-'));
  try {
    mkdirSync(dir);
    execFileSync('bpftool', ['prog', 'loadall', KERNEL_OBJECT, dir], { stdio: 'pipe' });
    const packet = path.join(tmp, 'packet');
    writeFileSync(packet, new Uint8Array(64));
    const run = (prog) => bpftoolRun(path.join(dir, prog), packet, 1);
    const slabBefore = kernelSlabBytes();
    const insert = run('lpm_insert');
    const trieBytes = kernelSlabBytes() - slabBefore;
    const lookup = run('lpm_lookup');
    const hot = run('lpm_lookup_hot');
    return { insertNs: insert.ns / PREFIXES, inserted: insert.retval, lookupNs: lookup.ns / LOOKUPS, hits: lookup.retval, hotNs: hot.ns / (4 * LOOKUPS), trieBytes };
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(tmp, { recursive: true, force: true });
  }
}


/** Write n keys { u32 prefixlen; be32 address } into the arena; their base address. */
function stageKeys(arena, n, next, name) {
  const region = arena.alloc(n * 8, 'memory', name);
  const view = arena.view;
  for (let i = 0; i < n; i++) {
    const { len, addr } = next();
    view.setUint32(region.start + i * 8, len, true);
    view.setUint32(region.start + i * 8 + 4, addr, false);
  }
  return region.start;
}

function time(fn) {
  const t0 = process.hrtime.bigint();
  const result = fn();
  return { ns: Number(process.hrtime.bigint() - t0), result };
}

export async function benchLpm() {
  const arena = new Arena({ initialBytes: 256 << 20 });
  const host = { arena, cpus: 1 };
  const spec = {
    name: 'bench_lpm', type: 11, keySize: 8, valueSize: 4, maxEntries: PREFIXES, flags: 1, pinning: 0,
    keyTypeId: 0, valueTypeId: 0, origin: 'bench',
  };
  const map = createMap(host, spec, 1);
  const r = prng(0x1badb002);
  const keys = stageKeys(arena, PREFIXES, () => ({ len: 8 + (r() % 25), addr: r() }), 'bench prefixes');
  const value = arena.alloc(8, 'memory', 'bench value').start;

  // Inserts: every prefix once (a repeated random prefix replaces: BPF_ANY).
  const insert = time(() => {
    let failed = 0;
    for (let i = 0; i < PREFIXES; i++) {
      arena.view.setUint32(value, i, true);
      if (map.updateElem(keys + i * 8, value, 0, 0) !== 0) failed++;
    }
    return failed;
  });
  if (insert.result) throw new Error(`${insert.result} inserts failed`);

  // Lookups of random /32 addresses (cold: the whole trie), and of a small hot set.
  const rl = prng(0x5eed);
  const probes = stageKeys(arena, LOOKUPS, () => ({ len: 32, addr: rl() }), 'bench lookups');
  let found = 0;
  const runLookups = (count, mask) => {
    let hits = 0;
    for (let i = 0; i < count; i++) if (map.lookupElem(probes + (i & mask) * 8, 0) !== 0) hits++;
    return hits;
  };
  runLookups(LOOKUPS, LOOKUPS - 1 > 0 ? 0xfffff : 0); // warm up the JIT
  let cold = Infinity;
  for (let pass = 0; pass < 3; pass++) {
    const t = time(() => runLookups(LOOKUPS, 0xfffff));
    found = t.result;
    cold = Math.min(cold, t.ns / LOOKUPS);
  }
  let hot = Infinity;
  for (let pass = 0; pass < 3; pass++) hot = Math.min(hot, time(() => runLookups(4 * LOOKUPS, HOT_KEYS - 1)).ns / (4 * LOOKUPS));

  const insertsPerS = PREFIXES / (insert.ns / 1e9);
  const insertNs = insert.ns / PREFIXES;
  const why = kernelUnavailableReason();
  const kernel = why === undefined ? kernelLpm() : undefined;
  const mib = (bytes) => `${fmt(bytes / 2 ** 20, 1)} MiB`;
  const vs = (ours, theirs) => (theirs === undefined ? 'not measured' : `${fmt(theirs, 0)} ns: ${fmt(theirs / ours, 1)}× faster`);
  const rows = [
    ['inserts, 1M random /8../32 prefixes', `${fmt(insertNs, 0)} ns`, `${fmt(insertsPerS / 1e3, 0)}k/s`, vs(insertNs, kernel?.insertNs)],
    ['lookups, random /32 addresses over the whole trie', `${fmt(cold, 1)} ns`, `${fmt(1e3 / cold, 1)}M/s`, vs(cold, kernel?.lookupNs)],
    [`lookups, ${HOT_KEYS} hot /32 addresses`, `${fmt(hot, 1)} ns`, `${fmt(1e3 / hot, 1)}M/s`, vs(hot, kernel?.hotNs)],
    ['memory: the trie after the inserts', mib(map.memoryBytes), '',
      kernel ? `${mib(kernel.trieBytes)}: xdplab ${fmt(map.memoryBytes / kernel.trieBytes, 2)}× the kernel's` : 'not measured'],
  ];
  const notes = [
    `${map.count.toLocaleString('en-US')} distinct prefixes stored (random short prefixes repeat); ` +
      `${fmt(found / LOOKUPS * 100, 1)}% of the random addresses matched one; the trie takes ${fmt(map.memoryBytes / 2 ** 20, 0)} MiB of arena ` +
      `(everything it holds: nodes, prefix records, values); the kernel's figure is the growth of its unreclaimable slab (/proc/meminfo SUnreclaim) over the insert run.`,
    `xdplab: the program's face (arena addresses in, value address out), as a helper calls it, in one JS loop; best of 3 passes for lookups.`,
  ];
  if (kernel) {
    notes.push(`Kernel: bench/programs/lpm.bpf.o, the same PRNG sequences in bpf_loop, one BPF_PROG_TEST_RUN each (loop and call overhead included, as xdplab's); ` +
      `it stored ${kernel.inserted.toLocaleString('en-US')} updates and matched ${fmt(kernel.hits / LOOKUPS * 100, 1)}% of the lookups` +
      `${kernel.hits === found ? ' (the same count as xdplab)' : ` (xdplab: ${found})`}.`);
  } else {
    notes.push(`Kernel figures skipped: ${why}.`);
  }
  notes.push(`Targets quoted for the kernel with 1M IPv4 prefixes: ~${QUOTED_LOOKUP_NS} ns a lookup, ~${QUOTED_INSERTS_PER_S / 1000}k inserts/s ` +
    `(its own benchmark, a denser, cache-friendlier workload); xdplab here: ${fmt(hot, 0)} ns hot, ${fmt(cold, 0)} ns cold, ${fmt(insertsPerS / 1e3, 0)}k inserts/s.`);
  const raw = { xdplabBytes: map.memoryBytes, kernelBytes: kernel?.trieBytes };
  return { title: 'LPM trie map: 1M IPv4 prefixes', header: ['operation', 'xdplab per op', 'xdplab rate', 'kernel per op (same run)'], rows, notes, raw };
}

// Run alone: node bench/lpm.js (after npm run build).
if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await benchLpm();
  console.log(result.title);
  for (const row of result.rows) console.log('  ' + row.join('  '));
  for (const note of result.notes) console.log('  ' + note);
}
