/**
 * `extern … __kconfig` variables, as libbpf gives them (bpf_object__collect_externs,
 * bpf_object__init_kconfig_map): one read-only internal map `<obj>.kconfig` holding every
 * extern of the `.kconfig` DATASEC, laid out in libbpf's order (cmp_externs: alignment
 * descending, then size ascending, then name), each at the next multiple of its alignment.
 *
 * Values: LINUX_KERNEL_VERSION is the kernel whose behaviour xdplab follows (Linux 6.18, as the
 * TC hook's test-run semantics); LINUX_HAS_BPF_COOKIE and LINUX_HAS_SYSCALL_WRAPPER are true
 * there. Beyond the few options every XDP-capable kernel sets, xdplab has no kernel configuration:
 * another CONFIG_* extern reads 0 when declared __weak (what libbpf gives a weak option the
 * kernel's config lacks) and is refused otherwise.
 */
import { XdplabError } from '../errors.js';
import type { Btf } from '../btf/btf.js';
import { BTF_KIND_ARRAY, BTF_KIND_VAR } from '../btf/types.js';
import { SHN_UNDEF, STB_WEAK } from '../elf/constants.js';
import type { ElfFile } from '../elf/elf.js';
import { BPF_F_MMAPABLE, BPF_F_RDONLY_PROG, BPF_MAP_TYPE } from '../uapi/bpf.js';
import { LIBBPF_PIN_NONE, type MapSpec } from './types.js';

const KERNEL_VERSION = (a: number, b: number, c: number): number => (a << 16) + (b << 8) + Math.min(c, 255);

/** The kernel xdplab emulates: LINUX_KERNEL_VERSION's value. */
export const XDPLAB_LINUX_VERSION = KERNEL_VERSION(6, 18, 0);

/**
 * The externs libbpf answers itself (libbpf.c, bpf_object__resolve_externs), and the bool
 * options every kernel that runs XDP and TC programs has set (=y reads 1).
 */
const LIBBPF_KCONFIG: Record<string, number> = {
  LINUX_KERNEL_VERSION: XDPLAB_LINUX_VERSION,
  LINUX_HAS_BPF_COOKIE: 1,
  LINUX_HAS_SYSCALL_WRAPPER: 1,
  CONFIG_BPF: 1,
  CONFIG_BPF_SYSCALL: 1,
  CONFIG_BPF_JIT: 1,
  CONFIG_NET: 1,
  CONFIG_INET: 1,
};

interface Extern { name: string; size: number; align: number; weak: boolean }

export interface Kconfig {
  spec: MapSpec;
  /** Extern name → its offset in the map's value. */
  offsets: Map<string, number>;
}

function alignOf(btf: Btf, typeId: number, size: number): number {
  const t = btf.resolve(typeId);
  if (t.kind === BTF_KIND_ARRAY) return alignOf(btf, t.type, btf.sizeOf(t.type));
  return Math.min(size, 8);
}

function collectExterns(btf: Btf, elf: ElfFile): Extern[] {
  const sec = btf.datasec('.kconfig');
  if (!sec) return [];
  return sec.vars.map((v) => {
    const variable = btf.typeById(v.type);
    if (variable.kind !== BTF_KIND_VAR) throw new XdplabError('BAD_INPUT', `.kconfig: type [${v.type}] is not a variable`);
    const size = btf.sizeOf(variable.type);
    const sym = elf.symbols.find((s) => s.name === variable.name && s.shndx === SHN_UNDEF);
    return { name: variable.name, size, align: alignOf(btf, variable.type, size), weak: sym?.bind === STB_WEAK };
  });
}

/** libbpf's cmp_externs for kconfig externs. */
function byLibbpfOrder(a: Extern, b: Extern): number {
  if (a.align !== b.align) return b.align - a.align;
  if (a.size !== b.size) return a.size - b.size;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

function valueOf(ext: Extern): number {
  const known = LIBBPF_KCONFIG[ext.name];
  if (known !== undefined) return known;
  if (ext.weak) return 0;
  throw new XdplabError('UNSUPPORTED',
    `extern ${ext.name} (__kconfig) is strong, and xdplab has no kernel configuration (declare it __weak to read 0, as libbpf gives an option the kernel's config lacks)`);
}

function writeValue(view: DataView, offset: number, size: number, value: number): void {
  if (size >= 8) view.setBigUint64(offset, BigInt(value), true);
  else if (size >= 4) view.setUint32(offset, value, true);
  else if (size >= 2) view.setUint16(offset, value, true);
  else view.setUint8(offset, value);
}

/** The `.kconfig` map of an object that declares kconfig externs, or undefined. */
export function loadKconfig(btf: Btf | undefined, elf: ElfFile, mapName: string): Kconfig | undefined {
  if (!btf) return undefined;
  const externs = collectExterns(btf, elf).sort(byLibbpfOrder);
  if (externs.length === 0) return undefined;
  const offsets = new Map<string, number>();
  let end = 0;
  for (const ext of externs) {
    const at = Math.ceil(end / ext.align) * ext.align;
    offsets.set(ext.name, at);
    end = at + ext.size;
  }
  const value = new Uint8Array(end);
  const view = new DataView(value.buffer);
  for (const ext of externs) writeValue(view, offsets.get(ext.name)!, ext.size, valueOf(ext));
  const spec: MapSpec = {
    name: mapName, type: BPF_MAP_TYPE.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: end, maxEntries: 1,
    flags: BPF_F_MMAPABLE | BPF_F_RDONLY_PROG, pinning: LIBBPF_PIN_NONE, keyTypeId: 0,
    valueTypeId: btf.datasec('.kconfig')?.id ?? 0, initialValue: value, globalSection: '.kconfig', origin: 'section .kconfig',
    variables: new Map(externs.map((e) => [e.name, { offset: offsets.get(e.name)!, size: e.size, typeId: 0 }])),
  };
  return { spec, offsets };
}
