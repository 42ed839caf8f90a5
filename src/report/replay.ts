/**
 * ReplayReport: a replay's report, packet by packet — the verdict the program gave, its
 * instruction count and run time (RunMeter on the runtime's engine), and for each packet that
 * did not go on, its verdict and the C line that decided it.
 */
import type { PacketReplayer } from '../hooks/replay.js';
import { Program, verdictSource } from '../runtime/program.js';
import { FAULT_REASONS } from '../vm/fault.js';
import type { Runtime } from '../runtime/runtime.js';
import { ReportCollector, type ReportMeta } from './collector.js';
import { RunMeter } from './run-meter.js';
import type { ReportData } from './types.js';

export class ReplayReport {
  readonly collector: ReportCollector;
  private readonly meter: RunMeter;
  private packets = 0;

  /**
   * `device`: where the packets arrive (eth0, or the live interface). `decidedBy`: what decided a
   * packet that did not go on, in words, when a command built on replay knows better than the
   * C line (`xdplab firewall`: the rule); by default the line verdictSource finds.
   */
  constructor(readonly runtime: Runtime, readonly device: string, private readonly decidedBy?: (replayer: PacketReplayer) => string) {
    this.meter = new RunMeter(true).install(runtime.engine);
    this.collector = new ReportCollector(this.meter.timed);
  }

  /** The replayer ran its program on a packet captured at tsSec.tsNsec. */
  packet(replayer: PacketReplayer, tsSec: number, tsNsec: number): void {
    const meter = this.meter;
    meter.take();
    this.packets++;
    const verdict = replayer.fault ? 'fault' : replayer.verdictName();
    this.collector.run(this.device, replayer.hook, tsSec, tsNsec, verdict, replayer.program.name, meter.instructions, meter.nanoseconds);
    if (replayer.passed) return;
    if (replayer.fault) {
      const f = replayer.fault;
      // The program that faulted may be a tail call's target: the engine ran its image last.
      const ran = Program.of(this.runtime.engine.image);
      const line = ran?.image.name === f.program ? ran.sourceLine(f.pc) : undefined;
      this.collector.drop(`fault: ${FAULT_REASONS[f.reason]}`, line ?? `${f.program} pc ${f.pc}`);
      return;
    }
    const reason = verdict === 'XDP_REDIRECT' || verdict === 'TC_ACT_REDIRECT' ? `${verdict} without a target` : verdict;
    this.collector.drop(reason, this.decidedBy ? this.decidedBy(replayer) : this.decidedLine());
  }

  private decidedLine(): string {
    const decided = verdictSource(this.runtime.engine);
    return decided.line ?? `${decided.program} pc ${decided.pc}`;
  }

  /** The report's data; the engine is left as it was. */
  finish(meta: Omit<ReportMeta, 'packets' | 'command'>): ReportData {
    this.meter.uninstall();
    return this.collector.finish({ ...meta, command: 'replay', packets: this.packets });
  }
}
