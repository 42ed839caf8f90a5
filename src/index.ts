/** The xdplab library: the public API. */
export * from './errors.js';
export * from './uapi/index.js';
export * from './isa/index.js';
export { parseElf, type ElfFile } from './elf/elf.js';
export { disassembleObject } from './spec/objdump.js';
export { Arena, Region } from './vm/arena.js';
export { ProgramImage } from './vm/image.js';
export { Interpreter } from './vm/interpreter.js';
export { DEFAULT_BUDGET } from './vm/engine-core.js';
export { JitEngine } from './vm/jit/jit-engine.js';
export { createEngine, type Engine, type EngineKind } from './vm/engine.js';
export { VmFault, FAULT_REASONS } from './vm/fault.js';
export * from './vm/helper-table.js';
export { RawRunner, CONFORMANCE_HELPERS } from './vm/raw-runner.js';
export { loadCollectionSpec } from './spec/loader.js';
export { setGlobal, getGlobal, resizeMap } from './spec/edit.js';
export * from './spec/types.js';
export { Runtime, type RuntimeOptions } from './runtime/runtime.js';
export { Collection, type LoadOptions } from './runtime/collection.js';
export { Program } from './runtime/program.js';
export { BpfMap, MapError } from './maps/map.js';
export { testRun, type TestRunInput, type TestRunResult } from './hooks/test-run.js';
export { parseBtf, Btf } from './btf/btf.js';
export { formatValue } from './btf/format.js';
export {
  buildPacket, parsePacket, eth, vlan, arp, ipv4, ipv6, tcp, udp, icmp, icmpv6, payload, padding, type Layer,
} from './packet/index.js';
export {
  verifyProgram, verifyCollection, explain, formatExplanation, VerifierRefusal,
  type Caps, type VerifyOptions, type VerifierResult, type VerifierStats, type Explanation,
} from './verifier/index.js';
export { compileC, compileCFile, readObjectFile, type CompileOptions } from './spec/compile-c.js';
export { parseRules, type Rule, type RuleSet, type RuleAction, type RuleDirection, type PortRange } from './firewall/schema.js';
export { compileRules, type CompiledRules, type RuleEntry } from './firewall/compile.js';
export { FirewallTables, type Decision, type DecisionCount } from './firewall/tables.js';
export {
  loadFirewall, Firewall, FIREWALL_OBJECT, FIREWALL_HOOKS, type FirewallHook, type FirewallOptions, type FirewallVerdict,
} from './firewall/firewall.js';
export * from './report/index.js';
export {
  compileFilter, parseFilter, type CompiledFilter, type FilterOptions, type FilterHook, type FilterAction,
} from './filter/index.js';
