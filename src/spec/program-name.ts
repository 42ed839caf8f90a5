/**
 * resolveProgramName: the program a user means by a name, as bpftool and libbpf accept it —
 * the function name, `section/name`, the kernel's 15-character truncation of the name, or a
 * section holding one program. A name that matches nothing (or several) comes back as given.
 */
import { BPF_OBJ_NAME_LEN } from '../uapi/bpf.js';
import type { CollectionSpec } from './types.js';


export function resolveProgramName(spec: CollectionSpec, name: string): string {
  if (spec.programs.has(name)) return name;
  const all = [...spec.programs.values()];
  const only = (matches: typeof all): string | undefined => (matches.length === 1 ? matches[0].name : undefined);
  return only(all.filter((p) => `${p.sectionName}/${p.name}` === name))
    ?? (name.length === BPF_OBJ_NAME_LEN - 1 ? only(all.filter((p) => p.name.startsWith(name))) : undefined)
    ?? only(all.filter((p) => p.sectionName === name))
    ?? name;
}
