/**
 * The firewall as a library: `loadFirewall(rules)` compiles a rules file, loads the shipped
 * rules program (src/firewall/rules.bpf.o) for a hook, installs the tables, and runs frames
 * through it one by one as `xdplab firewall` does (hooks/replay.ts), each answer with the rule
 * that decided it.
 */
import { fileURLToPath } from 'node:url';
import { PacketReplayer, type ReplayContext } from '../hooks/replay.js';
import { Collection } from '../runtime/collection.js';
import type { Program } from '../runtime/program.js';
import { Runtime, type RuntimeOptions } from '../runtime/runtime.js';
import { loadCollectionSpec } from '../spec/loader.js';
import { readObjectFile } from '../spec/compile-c.js';
import { compileRules, type CompiledRules } from './compile.js';
import { FW_PROGRAMS } from './layout.js';
import type { RuleAction, RuleSet } from './schema.js';
import { FirewallTables, type Decision } from './tables.js';

/** The shipped rules program (source beside it: rules.bpf.c; `npm run build:bpf` rebuilds it). */
export const FIREWALL_OBJECT = fileURLToPath(new URL('../../src/firewall/rules.bpf.o', import.meta.url));

export type FirewallHook = keyof typeof FW_PROGRAMS;
export const FIREWALL_HOOKS = Object.keys(FW_PROGRAMS) as FirewallHook[];

export interface FirewallOptions extends Pick<RuntimeOptions, 'cpus' | 'seed' | 'engine'> {
  /** Default 'xdp'. */
  hook?: FirewallHook;
  /** How frames are handed over (hooks/replay.ts); default 'test-run'. */
  context?: ReplayContext;
  /** The rules file's name in errors, when `rules` is text. */
  file?: string;
}

export interface FirewallVerdict {
  /** The program's return value and its name (XDP_PASS, TC_ACT_SHOT…). */
  retval: number;
  verdict: string;
  action: RuleAction;
  decision: Decision;
}

export class Firewall {
  constructor(
    readonly runtime: Runtime,
    readonly collection: Collection,
    readonly program: Program,
    private installed: FirewallTables,
    private readonly replayer: PacketReplayer,
  ) {}

  get tables(): FirewallTables {
    return this.installed;
  }

  /**
   * Replace the rules, as a control plane rewrites the maps of a running program: the next
   * packet meets the new table (entries past the new count stay in the map, never tried).
   */
  setRules(rules: string | RuleSet | CompiledRules, file?: string): void {
    this.installed = FirewallTables.install(this.collection, compiledOf(rules, file), this.installed);
  }

  get compiled(): CompiledRules {
    return this.tables.compiled;
  }

  /** Run one Ethernet frame (captured at `timeNs`, default 0) and say what decided it. */
  run(frame: Uint8Array, timeNs = 0): FirewallVerdict {
    const retval = this.replayer.run(frame, Math.floor(timeNs / 1e9), timeNs % 1e9);
    if (this.replayer.fault) throw this.collection.explainFault(this.replayer.fault);
    const decision = this.tables.lastDecision()!;
    return { retval, verdict: this.replayer.verdictName(retval), action: this.tables.actionOf(decision), decision };
  }
}

const compiledOf = (rules: string | RuleSet | CompiledRules, file?: string): CompiledRules =>
  (typeof rules === 'object' && 'entries' in rules ? rules : compileRules(rules, file));

/** Compile `rules` (a file's text, a parsed rule set or a compiled one) and load the program for `options.hook`. */
export function loadFirewall(rules: string | RuleSet | CompiledRules, options: FirewallOptions = {}): Firewall {
  const compiled = compiledOf(rules, options.file);
  const hook = options.hook ?? 'xdp';
  const runtime = new Runtime({ cpus: options.cpus, seed: options.seed, engine: options.engine });
  const collection = Collection.load(runtime, loadCollectionSpec(readObjectFile(FIREWALL_OBJECT), FIREWALL_OBJECT));
  const program = collection.program(FW_PROGRAMS[hook]);
  const tables = FirewallTables.install(collection, compiled);
  const replayer = new PacketReplayer(runtime, program, { hook, context: options.context });
  return new Firewall(runtime, collection, program, tables, replayer);
}
