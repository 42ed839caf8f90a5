/**
 * pcap-filter(7) expressions compiled to XDP or TC programs: `compileFilter('tcp dst port 22',
 * { hook: 'xdp' })` gives a BPF ELF object (with BTF) that the kernel and xdplab both load.
 * Packets the expression matches get the action (`pass`: XDP_PASS / TC_ACT_OK, the rest
 * dropped; `drop`: XDP_DROP / TC_ACT_SHOT, the rest passed), as tcpdump would print them.
 */
import { XdplabError } from '../errors.js';
import { loadCollectionSpec } from '../spec/loader.js';
import type { CollectionSpec } from '../spec/types.js';
import { disassembleLines } from '../isa/disasm.js';
import { TC_ACT_OK, TC_ACT_SHOT } from '../uapi/pkt-cls.js';
import { XDP_DROP, XDP_PASS } from '../uapi/bpf.js';
import { generate, type FilterHook } from './codegen.js';
import { filterObject, programName } from './object.js';
import { parseFilter } from './parser.js';

export type { FilterHook } from './codegen.js';
export { parseFilter } from './parser.js';
export type FilterAction = 'pass' | 'drop';

export interface FilterOptions {
  /** Where the program runs (default xdp). */
  hook?: FilterHook;
  /** What matching packets get (default pass: the others are dropped). */
  action?: FilterAction;
}

export interface CompiledFilter {
  /** The BPF ELF object. */
  readonly object: Uint8Array;
  /** The program's name in it (`xdp_filter`, `tc_filter`) and its section (`xdp`, `tc`). */
  readonly program: string;
  readonly section: string;
  readonly hook: FilterHook;
  readonly action: FilterAction;
  /** The instructions, one line each (llvm-objdump's syntax). */
  readonly disassembly: string[];
  /** The object read as loadCollectionSpec reads it: a spec to load into a Runtime (Collection.load). */
  spec(): CollectionSpec;
}

const HOOKS: readonly FilterHook[] = ['xdp', 'tc'];
const ACTIONS: readonly FilterAction[] = ['pass', 'drop'];

function verdicts(hook: FilterHook, action: FilterAction): { match: number; noMatch: number } {
  const pass = hook === 'xdp' ? XDP_PASS : TC_ACT_OK;
  const drop = hook === 'xdp' ? XDP_DROP : TC_ACT_SHOT;
  return action === 'pass' ? { match: pass, noMatch: drop } : { match: drop, noMatch: pass };
}

/** Compile `expr`; a bad expression is an XdplabError (BAD_INPUT) naming the column. */
/**
 * Parsing and code generation recurse on the expression's nesting (as libpcap's yacc stack
 * does, which ends with "memory exhausted"): an expression too deep for the stack is bad input.
 */
function withinStack<T>(expr: string, body: () => T): T {
  try {
    return body();
  } catch (err) {
    if (!(err instanceof RangeError)) throw err;
    throw new XdplabError('BAD_INPUT', `filter: the expression (${expr.length} characters) nests too deeply to compile`);
  }
}

export function compileFilter(expr: string, options: FilterOptions = {}): CompiledFilter {
  const hook = options.hook ?? 'xdp';
  const action = options.action ?? 'pass';
  if (!HOOKS.includes(hook)) throw new XdplabError('USAGE', `filter: hook '${String(hook)}': expected xdp or tc`);
  if (!ACTIONS.includes(action)) throw new XdplabError('USAGE', `filter: action '${String(action)}': expected pass or drop`);
  const code = withinStack(expr, () => generate(parseFilter(expr), hook, verdicts(hook, action)));
  const pcs: number[] = [];
  code.insns.reduce((slot, insn) => (pcs.push(slot), slot + insn.width), 0);
  const object = filterObject(code, expr);
  return {
    object,
    spec: () => loadCollectionSpec(object, `filter '${expr}'`),
    program: programName(hook),
    section: hook,
    hook,
    action,
    disassembly: disassembleLines({ insns: code.insns, pcs }),
  };
}
