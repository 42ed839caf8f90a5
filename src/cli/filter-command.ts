/**
 * `xdplab filter EXPR`: a pcap-filter(7) expression compiled to an XDP or TC program
 * (src/filter/). Packets the expression matches get --action (pass: the others are dropped;
 * drop: the others pass).
 *
 *   xdplab filter EXPR [-o filter.bpf.o] [--hook xdp|tc|tc-ingress|tc-egress] [--action pass|drop]
 *   xdplab filter EXPR --pcap IN | --live IFACE [replay's options: --out, --json, --expect, --path, --cpus …]
 *
 * -o writes the BPF ELF object (with BTF), which `bpftool prog load` and every xdplab command
 * take; --pcap runs it over a capture at once, exactly as `xdplab replay` runs an object
 * (cli/replay-command.ts). With neither, the program's disassembly is printed. A bad
 * expression is one line naming its column, exit 2.
 */
import { Command, Option } from 'commander';
import { compileFilter, type FilterAction, type FilterHook } from '../filter/index.js';
import type { ReplayHookName } from '../hooks/replay.js';
import { checkOutputFile } from '../files.js';
import { writeOutput } from './files.js';
import type { Io } from './main.js';
import { addReplayOptions, runReplay, type ReplayOptions } from './replay-command.js';

const FILTER_HOOKS = ['xdp', 'tc', 'tc-ingress', 'tc-egress'] as const;

interface FilterCliOptions extends Omit<ReplayOptions, 'hook'> {
  output?: string;
  hook: (typeof FILTER_HOOKS)[number];
  action: FilterAction;
}

export async function runFilter(expr: string, opts: FilterCliOptions, io: Io): Promise<number> {
  if (opts.output !== undefined) checkOutputFile(opts.output);
  const hook: FilterHook = opts.hook === 'xdp' ? 'xdp' : 'tc';
  const compiled = compileFilter(expr, { hook, action: opts.action });
  if (opts.output !== undefined) writeOutput(opts.output, compiled.object);
  if (opts.pcap === undefined && opts.live === undefined) {
    if (opts.output === undefined) io.out(`${compiled.section}/${compiled.program}: ${expr}\n${compiled.disassembly.join('\n')}\n`);
    return 0;
  }
  const replayHook: ReplayHookName = opts.hook === 'tc' ? 'tc-ingress' : opts.hook;
  const { code } = await runReplay(opts.output ?? 'filter', compiled.program, { ...opts, hook: replayHook }, io, { object: compiled.object });
  return code;
}

export function registerFilterCommand(program: Command, io: Io, setExit: (code: number) => void): void {
  const command = program
    .command('filter')
    .description('compile a pcap-filter expression (tcpdump\'s language) into an XDP or TC program; --pcap or --live runs it, as `xdplab replay` does')
    .argument('<expr>', 'the filter expression, e.g. \'tcp dst port 22 and src net 10.0.0.0/8\'')
    .option('-o, --output <file.bpf.o>', 'write the BPF ELF object (loads in the kernel and in xdplab); without -o, --pcap or --live the disassembly is printed')
    .addOption(new Option('--action <action>', 'what matching packets get: pass (the rest dropped) or drop (the rest passed)').choices(['pass', 'drop']).default('pass'));
  const hook = new Option('--hook <hook>', 'the program type: xdp, or tc (tc-ingress / tc-egress say where --pcap runs it)').choices(FILTER_HOOKS).default('xdp');
  addReplayOptions(command, hook).action(async (expr: string, opts: FilterCliOptions) => {
    setExit(await runFilter(expr, opts, io));
  });
}
