/**
 * The helper registry: every helper xdplab implements, by its uapi id, with the kernel's
 * signature of it (src/uapi/helper-protos.ts, which the verifier reads too). The registry is
 * the HelperTable the engines call through.
 */
import type { HelperFn, HelperTable } from '../vm/helper-table.js';
import { helperName } from '../uapi/helper-ids.js';
import { helperProto, type HelperProto } from '../uapi/helper-protos.js';
import { XdplabError } from '../errors.js';

export interface HelperDef {
  id: number;
  name: string;
  /** The kernel's signature of the helper (src/uapi/helper-protos.ts). */
  proto: HelperProto;
  fn: HelperFn;
}

/** Declare a helper by its uapi name (without the bpf_ prefix); id and signature come from uapi. */
export function helper(name: string, fn: HelperFn): HelperDef {
  const proto = helperProto(name);
  return { id: proto.id, name, proto, fn };
}

export class HelperRegistry implements HelperTable {
  private readonly byId = new Map<number, HelperDef>();

  constructor(defs: Iterable<HelperDef>) {
    for (const def of defs) {
      if (this.byId.has(def.id)) throw new XdplabError('INTERNAL', `helpers: ${def.name} registered twice`);
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
