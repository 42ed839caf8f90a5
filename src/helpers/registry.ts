/**
 * The helper registry: every helper xdplab implements, by its uapi id, with its signature as
 * data (argument and return kinds, as the kernel's bpf_func_proto declares them) for the
 * verifier and for messages. `helperTable` hands the engines a HelperTable over it.
 */
import type { HelperFn, HelperTable } from '../vm/helper-table.js';
import { HELPER_IDS, helperName } from './ids.js';

/** Argument kinds (enum bpf_arg_type, the ones the implemented helpers use). */
export type ArgKind =
  | 'anything' | 'const_map_ptr' | 'ptr_to_map_key' | 'ptr_to_map_value' | 'ptr_to_uninit_map_value'
  | 'ptr_to_ctx' | 'ptr_to_mem' | 'ptr_to_uninit_mem' | 'const_size' | 'const_size_or_zero'
  | 'ptr_to_func' | 'ptr_to_stack_or_null' | 'const_alloc_size_or_zero' | 'ptr_to_alloc_mem'
  | 'ptr_to_spin_lock' | 'ptr_to_long' | 'ptr_to_const_str' | 'ptr_to_int';

/** Return kinds (enum bpf_return_type). */
export type RetKind = 'integer' | 'void' | 'ptr_to_map_value_or_null' | 'ptr_to_alloc_mem_or_null' | 'ptr_to_mem_or_btf_id';

export interface HelperProto {
  args: readonly ArgKind[];
  ret: RetKind;
  /** Program types that may call it (undefined: all). */
  progTypes?: readonly number[];
}

export interface HelperDef {
  id: number;
  name: string;
  proto: HelperProto;
  fn: HelperFn;
}

/** Declare a helper by its uapi name (without the bpf_ prefix); the id comes from the uapi table. */
export function helper(name: string, proto: HelperProto, fn: HelperFn): HelperDef {
  const id = HELPER_IDS.get(name);
  if (id === undefined) throw new Error(`helpers: ${name} is not a uapi helper name`);
  return { id, name, proto, fn };
}

export class HelperRegistry implements HelperTable {
  private readonly byId = new Map<number, HelperDef>();

  constructor(defs: Iterable<HelperDef>) {
    for (const def of defs) {
      if (this.byId.has(def.id)) throw new Error(`helpers: ${def.name} registered twice`);
      this.byId.set(def.id, def);
    }
  }

  lookup(id: number): HelperFn | undefined {
    return this.byId.get(id)?.fn;
  }

  nameOf(id: number): string {
    return helperName(id);
  }

  def(id: number): HelperDef | undefined {
    return this.byId.get(id);
  }

  has(id: number): boolean {
    return this.byId.has(id);
  }

  get all(): HelperDef[] {
    return [...this.byId.values()].sort((a, b) => a.id - b.id);
  }
}
