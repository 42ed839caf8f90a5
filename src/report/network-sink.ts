/**
 * ReportSink: a topology run's report, taken from the network's records. It passes every
 * record on to the sink it wraps (the run's output files) and, for the report, counts each
 * program run at its interface and hook (PacketSink.ran, right after the run, while the engine
 * still holds its instruction count and where its verdict was decided) and each drop with its
 * reason and, for a program's drop, the C line that decided it. A run that faulted has no `ran`
 * record: the RunMeter saw its fault, and the drop that follows names its hook.
 */
import type { Network } from '../net/network.js';
import type { VirtualNic } from '../net/nic.js';
import type { PacketSink, PacketTime } from '../net/recorder.js';
import { Program, verdictSource } from '../runtime/program.js';
import { VmFault } from '../vm/fault.js';
import { ReportCollector } from './collector.js';
import { RunMeter } from './run-meter.js';

/** The program run the next drop may belong to. */
interface LastRun {
  nic: string;
  hook: string;
  program: string;
  verdict: string;
  line: string;
}

export class ReportSink implements PacketSink {
  readonly collector: ReportCollector;
  readonly meter: RunMeter;
  private network: Network | undefined;
  private last: LastRun | undefined;

  constructor(readonly inner: PacketSink, options: { timed?: boolean } = {}) {
    this.meter = new RunMeter(options.timed ?? true);
    this.collector = new ReportCollector(this.meter.timed);
  }

  /** Start measuring the network's runs (once it is loaded: the sink is handed to it before). */
  attach(network: Network): void {
    this.network = network;
    this.meter.install(network.runtime.engine);
  }

  /** Stop measuring. */
  detach(): void {
    this.meter.uninstall();
  }

  tx(nic: VirtualNic, frame: Uint8Array, time: PacketTime): void {
    this.inner.tx(nic, frame, time);
  }

  delivered(nic: VirtualNic, frame: Uint8Array, time: PacketTime): void {
    this.inner.delivered(nic, frame, time);
  }

  ran(nic: VirtualNic, hook: string, program: string, before: Uint8Array, after: Uint8Array, verdict: string, time: PacketTime): void {
    this.inner.ran?.(nic, hook, program, before, after, verdict, time);
    const meter = this.meter;
    meter.take();
    this.collector.run(nic.id, hook, time.sec, time.nsec, verdict, program, meter.instructions, meter.nanoseconds);
    const decided = verdictSource(this.network!.runtime.engine);
    this.last = { nic: nic.id, hook, program, verdict, line: decided.line ?? `${decided.program} pc ${decided.pc}` };
  }

  /** Where a fault happened: its C line (in the program the engine ran last: a tail call's target, say), or its pc. */
  private faultLine(err: unknown): string | undefined {
    if (!(err instanceof VmFault)) return undefined;
    const ran = Program.of(this.network!.runtime.engine.image);
    return (ran?.image.name === err.program ? ran.sourceLine(err.pc) : undefined) ?? `${err.program} pc ${err.pc}`;
  }

  dropped(nic: VirtualNic, frame: Uint8Array, time: PacketTime, comment: string): void {
    this.inner.dropped(nic, frame, time, comment);
    const hook = comment.slice(0, Math.max(0, comment.indexOf(':')));
    const meter = this.meter;
    if (meter.faulted && meter.take()) {
      const program = /^[^:]*: program (\S+)/.exec(comment)?.[1] ?? '?';
      this.collector.run(nic.id, hook, time.sec, time.nsec, 'fault', program, meter.instructions, meter.nanoseconds);
      this.collector.drop(`${hook}: ${program} faulted`, this.faultLine(meter.error));
      this.last = undefined;
      return;
    }
    const last = this.last;
    this.last = undefined;
    if (last && last.nic === nic.id && last.hook === hook && comment.startsWith(`${hook}: program `)) {
      this.collector.drop(`${hook}: ${last.program} returned ${last.verdict}`, last.line);
    } else {
      this.collector.drop(comment);
    }
  }
}
