/**
 * ELF constants under their names from <elf.h> and the System V ABI, limited to what an
 * ELF64 little-endian BPF object uses. Plain consts, so `SHT_REL` reads as in C.
 */

// ---- e_ident ------------------------------------------------------------------------
export const ELFMAG = [0x7f, 0x45, 0x4c, 0x46] as const; // "\x7fELF"
export const EI_CLASS = 4;
export const EI_DATA = 5;
export const EI_VERSION = 6;
export const EI_OSABI = 7;
export const EI_NIDENT = 16;
export const ELFCLASS32 = 1;
export const ELFCLASS64 = 2;
export const ELFDATA2LSB = 1;
export const ELFDATA2MSB = 2;

// ---- e_type, e_machine ----------------------------------------------------------------
export const ET_NONE = 0;
export const ET_REL = 1;
export const ET_EXEC = 2;
export const ET_DYN = 3;
export const EM_BPF = 247;

// ---- sizes of ELF64 structures ----------------------------------------------------------
export const ELF64_EHDR_SIZE = 64;
export const ELF64_SHDR_SIZE = 64;
export const ELF64_SYM_SIZE = 24;
export const ELF64_REL_SIZE = 16;
export const ELF64_RELA_SIZE = 24;

// ---- special section indices ----------------------------------------------------------
export const SHN_UNDEF = 0;
export const SHN_LORESERVE = 0xff00;
export const SHN_ABS = 0xfff1;
export const SHN_COMMON = 0xfff2;
export const SHN_XINDEX = 0xffff;

// ---- sh_type ----------------------------------------------------------------------------
export const SHT_NULL = 0;
export const SHT_PROGBITS = 1;
export const SHT_SYMTAB = 2;
export const SHT_STRTAB = 3;
export const SHT_RELA = 4;
export const SHT_HASH = 5;
export const SHT_DYNAMIC = 6;
export const SHT_NOTE = 7;
export const SHT_NOBITS = 8;
export const SHT_REL = 9;
export const SHT_DYNSYM = 11;
export const SHT_SYMTAB_SHNDX = 18;
export const SHT_LLVM_ADDRSIG = 0x6fff4c03;

// ---- sh_flags ---------------------------------------------------------------------------
export const SHF_WRITE = 0x1;
export const SHF_ALLOC = 0x2;
export const SHF_EXECINSTR = 0x4;
export const SHF_MERGE = 0x10;
export const SHF_STRINGS = 0x20;
export const SHF_INFO_LINK = 0x40;
export const SHF_EXCLUDE = 0x80000000;

// ---- symbols: st_info = bind << 4 | type; st_other & 3 = visibility ------------------------
export const STB_LOCAL = 0;
export const STB_GLOBAL = 1;
export const STB_WEAK = 2;
export const STT_NOTYPE = 0;
export const STT_OBJECT = 1;
export const STT_FUNC = 2;
export const STT_SECTION = 3;
export const STT_FILE = 4;
export const STT_COMMON = 5;
export const STT_TLS = 6;
export const STV_DEFAULT = 0;
export const STV_INTERNAL = 1;
export const STV_HIDDEN = 2;
export const STV_PROTECTED = 3;

// ---- BPF relocation types (r_info & 0xffffffff), from llvm/BinaryFormat/ELFRelocs/BPF.def --
export const R_BPF_NONE = 0;
/** lddw: the 64-bit immediate of a 16-byte ld_imm64 (maps, global data). */
export const R_BPF_64_64 = 1;
/** An absolute 64-bit address (DWARF). */
export const R_BPF_64_ABS64 = 2;
/** An absolute 32-bit address (DWARF). */
export const R_BPF_64_ABS32 = 3;
/** A 32-bit value the loader does not resolve (.BTF, .BTF.ext). */
export const R_BPF_64_NODYLD32 = 4;
/** The imm of a call: a bpf-to-bpf call (or, in old objects, a 32-bit data reference). */
export const R_BPF_64_32 = 10;

/** Bytes that a relocation of each known type patches, counted from r_offset. */
export const BPF_RELOCATION_WIDTH: Readonly<Record<number, number>> = {
  [R_BPF_NONE]: 0,
  [R_BPF_64_64]: 16,
  [R_BPF_64_ABS64]: 8,
  [R_BPF_64_ABS32]: 4,
  [R_BPF_64_NODYLD32]: 4,
  [R_BPF_64_32]: 8,
};
