/**
 * Collection: the live maps and programs made from a CollectionSpec. `load` follows libbpf's
 * order — maps first (sharing pinned ones by name), then programs (their map references
 * resolved to arena addresses, every helper they call checked), then the initial slots of
 * prog arrays and maps of maps.
 */
import { XdplabError, withContext } from '../errors.js';
import { helperName } from '../uapi/helper-ids.js';
import { progTypeInfo } from '../uapi/prog-types.js';
import { Instruction, decodeProgram, encodeProgram } from '../isa/instruction.js';
import { BPF_PSEUDO_CALL, BPF_PSEUDO_KFUNC_CALL } from '../isa/opcodes.js';
import { createMap } from '../maps/index.js';
import type { BpfMap } from '../maps/map.js';
import { BPF_MAP_TYPE } from '../uapi/bpf.js';
import { LIBBPF_PIN_BY_NAME, type CollectionSpec, type MapSpec, type ProgramSpec } from '../spec/types.js';
import { BPF_CORE_POISON_HELPER } from '../spec/core.js';
import { sourceLineAt } from '../spec/line-info.js';
import { resolveProgramName } from '../spec/program-name.js';
import type { VmFault } from '../vm/fault.js';
import { ProgramImage } from '../vm/image.js';
import { Program } from './program.js';
import { VerifierRefusal, verifyProgram, type Caps, type VerifierResult } from '../verifier/index.js';
import type { Runtime } from './runtime.js';

export interface LoadOptions {
  /** Maps to use instead of creating them, by name (like cilium/ebpf's MapReplacements). */
  mapReplacements?: Map<string, BpfMap>;
  /**
   * Verify every program as the kernel does at load, refusing those it would refuse (default:
   * as root). `false` loads them anyway, for debugging: then every run-time check stays.
   */
  verify?: false | { caps?: Caps };
}

export class Collection {
  private constructor(
    readonly runtime: Runtime,
    readonly spec: CollectionSpec,
    readonly maps: Map<string, BpfMap>,
    readonly programs: Map<string, Program>,
    /** Programs xdplab cannot run (a kfunc, a helper it lacks): the error, given when one is asked for. */
    readonly refused: ReadonlyMap<string, XdplabError> = new Map(),
    /** Maps of types xdplab lacks: the error, given when one (or a program using it) is asked for. */
    readonly unsupportedMaps: ReadonlyMap<string, XdplabError> = new Map(),
    /** The verifier's answer for each program it checked. */
    readonly verification: ReadonlyMap<string, VerifierResult> = new Map(),
  ) {}

  static load(runtime: Runtime, spec: CollectionSpec, options: LoadOptions = {}): Collection {
    const before = runtime.checkpoint();
    try {
      const maps = new Map<string, BpfMap>();
      const unsupportedMaps = new Map<string, XdplabError>();
      for (const mapSpec of spec.maps.values()) {
        // A map type xdplab lacks refuses only the programs that use the map.
        try {
          maps.set(mapSpec.name, liveMap(runtime, mapSpec, options));
        } catch (err) {
          if (!(err instanceof XdplabError && err.code === 'UNSUPPORTED')) throw withContext(err, `map ${mapSpec.name}`);
          unsupportedMaps.set(mapSpec.name, err);
        }
      }
      const programs = new Map<string, Program>();
      const refused = new Map<string, XdplabError>();
      const verification = new Map<string, VerifierResult>();
      for (const progSpec of spec.programs.values()) {
        // The kernel loads every program of an object; one xdplab cannot run refuses only itself.
        try {
          const unsupported = progSpec.mapReferences.map((r) => unsupportedMaps.get(r.map)).find((e) => e !== undefined);
          if (unsupported) throw unsupported;
          if (options.verify !== false) {
            const result = verifyProgram(spec, progSpec, { caps: options.verify?.caps ?? 'root', cpus: runtime.cpus });
            verification.set(progSpec.name, result);
            if (!result.accepted && !result.unsupported) {
              refused.set(progSpec.name, new VerifierRefusal(result, spec.source));
              continue;
            }
          }
          const verdict = verification.get(progSpec.name);
          const proven = verdict?.accepted && !verdict.unsupported ? verdict.seen : undefined;
          programs.set(progSpec.name, loadProgram(runtime, progSpec, maps, proven));
        } catch (err) {
          const e = withContext(err, `program ${progSpec.name} (section ${progSpec.sectionName})`);
          if (e.code !== 'UNSUPPORTED' && e.code !== 'BAD_INSTRUCTION') throw e;
          refused.set(progSpec.name, withContext(e, `load ${spec.source}`, 'UNSUPPORTED'));
        }
      }
      for (const mapSpec of spec.maps.values()) {
        if (unsupportedMaps.has(mapSpec.name)) continue;
        step(`map ${mapSpec.name}`, () => fillInitialSlots(runtime, mapSpec, maps, programs, refused, unsupportedMaps));
      }
      return new Collection(runtime, spec, maps, programs, refused, unsupportedMaps, verification);
    } catch (err) {
      runtime.undo(before); // a load that fails leaves no map, program or pin of its own behind
      throw withContext(err, `load ${spec.source}`);
    }
  }

  /**
   * A program by function name, `section/name`, the kernel's name (the function name cut to
   * BPF_OBJ_NAME_LEN - 1 = 15 characters, as `bpftool prog show` lists it) or its section name,
   * when either names one program only.
   */
  /** A fault of one of this collection's programs, naming its C source line when there is one. */
  explainFault(fault: VmFault): VmFault {
    const program = this.programs.get(fault.program);
    return program ? fault.withSource(sourceLineAt(program.spec, fault.pc)) : fault;
  }

  program(name: string): Program {
    const resolved = resolveProgramName(this.spec, name);
    const program = this.programs.get(resolved);
    const refusal = this.refused.get(resolved);
    if (!program && refusal) throw refusal;
    const section = this.spec.otherPrograms?.get(name);
    if (!program && section !== undefined) {
      throw new XdplabError('UNSUPPORTED', `program ${name} (section ${section}) in ${this.spec.source}: not a program type xdplab runs (it runs XDP and TC programs)`);
    }
    if (!program) {
      throw new XdplabError('BAD_INPUT', `no program ${name} in ${this.spec.source} (it has: ${[...this.spec.programs.keys()].join(', ') || 'none'})`);
    }
    return program;
  }



  map(name: string): BpfMap {
    const map = this.maps.get(name);
    const unsupported = this.unsupportedMaps.get(name);
    if (!map && unsupported) throw unsupported;
    if (!map) throw new XdplabError('BAD_INPUT', `no map ${name} in ${this.spec.source} (it has: ${[...this.maps.keys()].join(', ') || 'none'})`);
    return map;
  }
}

function step<T>(name: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw withContext(err, name);
  }
}

function sameShape(a: MapSpec, b: MapSpec): boolean {
  return a.type === b.type && a.keySize === b.keySize && a.valueSize === b.valueSize && a.maxEntries === b.maxEntries && a.flags === b.flags;
}

function liveMap(runtime: Runtime, spec: MapSpec, options: LoadOptions): BpfMap {
  const replacement = options.mapReplacements?.get(spec.name);
  const shared = replacement ?? (spec.pinning === LIBBPF_PIN_BY_NAME ? runtime.pinned.get(spec.name) : undefined);
  if (shared) {
    if (!sameShape(shared.spec, spec)) {
      throw new XdplabError('BAD_INPUT', `the shared map ${spec.name} has a different type, key/value size, max_entries or flags`);
    }
    return shared;
  }
  const map = createMap(runtime, spec, runtime.nextMapId);
  runtime.registerMap(map);
  if (spec.initialValue) map.update(new Uint8Array(4), spec.initialValue);
  if (spec.pinning === LIBBPF_PIN_BY_NAME) runtime.pinned.set(spec.name, map);
  return map;
}

/** The address a map reference resolves to: the map's header, or a byte of its first value. */
function referenceAddress(map: BpfMap, kind: 'map' | 'value', offset: number): number {
  if (kind === 'map') return map.header.start;
  if (map.spec.type !== BPF_MAP_TYPE.BPF_MAP_TYPE_ARRAY) throw new XdplabError('BAD_INPUT', `a direct value reference into ${map.name}, which is not an array`);
  if (offset < 0 || offset >= map.spec.valueSize) {
    throw new XdplabError('BAD_INPUT', `offset ${offset} is outside the ${map.spec.valueSize}-byte value of ${map.name}`);
  }
  return map.lookupElem(map.scratchKey(0), 0) + offset;
}

/** `proven`: the instructions the verifier reached, when it accepted the program (ProgramImage.proven). */
function loadProgram(runtime: Runtime, spec: ProgramSpec, maps: Map<string, BpfMap>, proven: Uint8Array | undefined): Program {
  const byPc = new Map(spec.mapReferences.map((r) => [r.pc, r]));
  let pc = 0;
  const resolved: Instruction[] = spec.instructions.map((insn) => {
    const at = pc;
    pc += insn.width;
    const ref = byPc.get(at);
    if (ref) {
      const map = maps.get(ref.map);
      if (!map) throw new XdplabError('BAD_INPUT', `pc ${at}: reference to an unknown map ${ref.map}`);
      const addr = referenceAddress(map, ref.kind, ref.offset);
      return new Instruction(insn.code, insn.dst, 0, 0, addr | 0, 0);
    }
    if (insn.info.kind === 'call') checkHelper(runtime, insn, at, spec);
    const ksym = spec.ksyms?.get(at);
    if (ksym) throw new XdplabError('UNSUPPORTED', `pc ${at}: loads the address of kernel symbol ${ksym} (__ksym), which exists only inside the kernel`);
    return insn;
  });
  const image = new ProgramImage(spec.name, decodeProgram(encodeProgram(resolved)), proven);
  return new Program(spec, image, runtime.registerProgram(image));
}

function checkHelper(runtime: Runtime, insn: Instruction, pc: number, spec: ProgramSpec): void {
  if (insn.src === BPF_PSEUDO_CALL) return;
  if (insn.src === BPF_PSEUDO_KFUNC_CALL) {
    const name = spec.kfuncs?.get(pc) ?? `#${insn.imm}`;
    throw new XdplabError('UNSUPPORTED', `pc ${pc}: calls kernel function (kfunc) ${name}; kfuncs are kernel code, which xdplab cannot run`);
  }
  if (insn.imm === BPF_CORE_POISON_HELPER) return; // faults if reached, as the verifier refuses it then
  const def = runtime.helpers.def(insn.imm);
  if (!def) throw new XdplabError('UNSUPPORTED', `pc ${pc}: calls ${helperName(insn.imm)} (helper ${insn.imm}), which xdplab does not implement`);
  if (!progTypeInfo(spec.type)?.helpers.has(insn.imm)) {
    throw new XdplabError('BAD_INPUT', `pc ${pc}: ${helperName(insn.imm)} is not allowed in this program type (the kernel's verifier would refuse it)`);
  }
}

function fillInitialSlots(
  runtime: Runtime, spec: MapSpec, maps: Map<string, BpfMap>, programs: Map<string, Program>, refused: ReadonlyMap<string, XdplabError>,
  unsupportedMaps: ReadonlyMap<string, XdplabError>,
): void {
  if (!spec.initialSlots) return;
  const map = maps.get(spec.name)!;
  for (const [slot, name] of spec.initialSlots) {
    const key = new Uint8Array(4);
    new DataView(key.buffer).setUint32(0, slot, true);
    const id = spec.type === BPF_MAP_TYPE.BPF_MAP_TYPE_PROG_ARRAY ? programs.get(name)?.id : maps.get(name)?.id;
    const refusal = refused.get(name) ?? unsupportedMaps.get(name);
    if (id === undefined && refusal) throw refusal;
    if (id === undefined) throw new XdplabError('BAD_INPUT', `slot ${slot} names ${name}, which this object does not define`);
    const value = new Uint8Array(4);
    new DataView(value.buffer).setUint32(0, id, true);
    map.update(key, value);
  }
  void runtime;
}
