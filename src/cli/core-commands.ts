/**
 * The commands of the eBPF core: asm, disasm, exec, conformance-plugin, and the demo that
 * `npm start` runs until a default scenario exists.
 */
import { Command, Option } from 'commander';
import { getDefaultEngine } from '../runtime/runtime.js';
import { engineOf, engineOption } from './engine-option.js';
import { XdplabError, withContext } from '../errors.js';
import { parseElf } from '../elf/elf.js';
import { disassembleObject } from '../spec/objdump.js';
import { assemble } from '../isa/asm.js';
import { parseDataFile } from '../isa/data-file.js';
import { disassembleLines, type Syntax } from '../isa/disasm.js';
import { decodeProgram } from '../isa/instruction.js';
import { RawRunner } from '../vm/raw-runner.js';
import { isElf, parseHex, readInput, readText, writeOutput } from './files.js';
import { runDemo } from './demo.js';
import type { Io } from './main.js';

/** A program to run: assembled (.s), a .data test (program and memory), or raw bytes. */
function loadRawProgram(file: string): { program: Uint8Array; mem?: Uint8Array } {
  if (file.endsWith('.s') || file.endsWith('.asm')) return { program: assembleFile(file) };
  if (file.endsWith('.data')) {
    const data = parseDataFile(readText(file), file);
    return { program: data.program, mem: data.mem };
  }
  return { program: readInput(file) };
}

/** Assemble a source file; syntax errors read FILE:LINE:COLUMN: message. */
function assembleFile(file: string): Uint8Array {
  const text = readText(file);
  try {
    return assemble(text);
  } catch (err) {
    throw err instanceof XdplabError ? withContext(err, file, err.code, ':') : err;
  }
}

const hex64 = (v: bigint): string => `0x${v.toString(16)}`;

export function registerCoreCommands(program: Command, io: Io, setExit: (code: number) => void): void {
  program
    .command('asm')
    .description('assemble a program written in the conformance-suite syntax into raw bytes')
    .argument('<file.s>', 'assembly source')
    .requiredOption('-o, --output <file.bin>', 'where to write the program bytes')
    .action((file: string, opts: { output: string }) => {
      const bytes = assembleFile(file);
      writeOutput(opts.output, bytes);
      io.out(`${file}: ${bytes.length / 8} slots written to ${opts.output}\n`);
    });

  program
    .command('disasm')
    .description('disassemble raw program bytes or the programs of a clang-built object')
    .argument('<file>', 'FILE.bin (raw instructions) or OBJ.o (ELF)')
    .addOption(new Option('--syntax <syntax>', 'llvm (as llvm-objdump) or asm (as the assembler)').choices(['llvm', 'asm']).default('llvm'))
    .option('--show-raw-insn', 'print each instruction\'s bytes before it, as llvm-objdump does by default')
    .option('-S, --source', 'print the C source line before its instructions (an object with BTF line info), as llvm-objdump -S')
    .action((file: string, opts: { syntax: Syntax; showRawInsn?: boolean; source?: boolean }) => {
      const bytes = readInput(file);
      if (isElf(bytes)) {
        io.out(disassembleObject(parseElf(bytes, file), { syntax: opts.syntax, rawBytes: opts.showRawInsn, source: opts.source }));
        return;
      }
      if (opts.source) throw new XdplabError('USAGE', `${file}: -S needs an object with line info (raw instruction bytes have none)`);
      const decoded = withFile(file, () => decodeProgram(bytes));
      io.out(disassembleLines(decoded, opts.syntax, opts.showRawInsn ? bytes : undefined).join('\n') + '\n');
    });

  program
    .command('exec')
    .description('run a raw program on a memory block and print r0 (r1 = memory, r2 = its length)')
    .argument('<file>', 'FILE.s (assembly), FILE.data (a conformance test) or FILE.bin (raw bytes)')
    .option('--mem <hex>', 'input memory as hex bytes')
    .option('--json', 'print one JSON object: r0, executed instructions, memory after the run')
    .addOption(engineOption())
    .action((file: string, opts: { mem?: string; json?: boolean; engine?: string }) => {
      const loaded = loadRawProgram(file);
      const mem = opts.mem !== undefined ? parseHex(opts.mem, '--mem') : (loaded.mem ?? new Uint8Array(0));
      const runner = new RawRunner(undefined, engineOf(opts.engine) ?? getDefaultEngine(), { log: (line) => io.err(`xdplab: ${line}\n`) });
      const result = withFile(file, () => runner.run(loaded.program, mem, file));
      if (opts.json) {
        io.out(JSON.stringify({ r0: hex64(result.r0), executed: result.executed, mem: Buffer.from(result.mem).toString('hex') }) + '\n');
      } else {
        io.out(`${hex64(result.r0)}\n`);
      }
    });

  program
    .command('conformance-plugin')
    .description('engine plugin for bpf_conformance_runner: program hex on stdin, r0 in hex on stdout')
    .argument('[memhex]', 'input memory: hex bytes separated by white space')
    .option('--jit', 'run in the JIT engine (without it: the interpreter)')
    .addOption(engineOption())
    .allowUnknownOption()
    .action(async (memhex: string | undefined, opts: { jit?: boolean; engine?: string }) => {
      const stdin = await io.stdin();
      const mem = memhex ? parseHex(memhex, 'memory argument') : new Uint8Array(0);
      const runner = new RawRunner(undefined, opts.jit ? 'jit' : engineOf(opts.engine) ?? 'interp', { log: (line) => io.err(`xdplab: ${line}\n`) });
      const result = runner.run(parseHex(stdin, 'program on standard input'), mem, 'plugin');
      io.out(`${hex64(result.r0)}\n`);
    });

  program
    .command('demo')
    .description('a short tour of the core: assemble, disassemble and run a program')
    .action(() => runDemo(io));

  void setExit;
}

function withFile<T>(file: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw err instanceof XdplabError ? withContext(err, file) : err;
  }
}
