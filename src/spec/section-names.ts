/**
 * Program types from ELF section names, as libbpf's SEC() definitions give them
 * (tools/lib/bpf/libbpf.c, section_defs). A section matches a definition exactly, or as
 * `definition/anything` when the definition accepts a suffix.
 */
import { BPF_ATTACH_TYPE, BPF_PROG_TYPE } from '../uapi/bpf.js';

export interface SectionDef {
  prefix: string;
  type: number;
  attachType: number;
  fragments?: boolean;
  /** Whether `prefix/…` also matches (libbpf's SEC_ATTACHABLE with a target name, or legacy forms). */
  suffix: boolean;
}

const { BPF_PROG_TYPE_XDP: XDP, BPF_PROG_TYPE_SCHED_CLS: CLS, BPF_PROG_TYPE_SCHED_ACT: ACT } = BPF_PROG_TYPE;
const NONE = BPF_ATTACH_TYPE.NONE;

/** Longest prefixes first, so `xdp.frags/devmap` wins over `xdp.frags`. */
export const SECTION_DEFS: readonly SectionDef[] = [
  { prefix: 'xdp.frags/devmap', type: XDP, attachType: BPF_ATTACH_TYPE.BPF_XDP_DEVMAP, fragments: true, suffix: false },
  { prefix: 'xdp.frags/cpumap', type: XDP, attachType: BPF_ATTACH_TYPE.BPF_XDP_CPUMAP, fragments: true, suffix: false },
  { prefix: 'xdp/devmap', type: XDP, attachType: BPF_ATTACH_TYPE.BPF_XDP_DEVMAP, suffix: false },
  { prefix: 'xdp/cpumap', type: XDP, attachType: BPF_ATTACH_TYPE.BPF_XDP_CPUMAP, suffix: false },
  { prefix: 'xdp.frags', type: XDP, attachType: BPF_ATTACH_TYPE.BPF_XDP, fragments: true, suffix: false },
  { prefix: 'xdp', type: XDP, attachType: BPF_ATTACH_TYPE.BPF_XDP, suffix: true },
  { prefix: 'tcx/ingress', type: CLS, attachType: BPF_ATTACH_TYPE.BPF_TCX_INGRESS, suffix: false },
  { prefix: 'tcx/egress', type: CLS, attachType: BPF_ATTACH_TYPE.BPF_TCX_EGRESS, suffix: false },
  { prefix: 'tc/ingress', type: CLS, attachType: BPF_ATTACH_TYPE.BPF_TCX_INGRESS, suffix: false },
  { prefix: 'tc/egress', type: CLS, attachType: BPF_ATTACH_TYPE.BPF_TCX_EGRESS, suffix: false },
  { prefix: 'tc', type: CLS, attachType: NONE, suffix: true },
  { prefix: 'classifier', type: CLS, attachType: NONE, suffix: true },
  { prefix: 'action', type: ACT, attachType: NONE, suffix: true },
  { prefix: 'socket', type: BPF_PROG_TYPE.BPF_PROG_TYPE_SOCKET_FILTER, attachType: NONE, suffix: true },
  { prefix: 'sk_skb', type: BPF_PROG_TYPE.BPF_PROG_TYPE_SK_SKB, attachType: NONE, suffix: true },
  { prefix: 'cgroup_skb/ingress', type: BPF_PROG_TYPE.BPF_PROG_TYPE_CGROUP_SKB, attachType: NONE, suffix: false },
  { prefix: 'cgroup_skb/egress', type: BPF_PROG_TYPE.BPF_PROG_TYPE_CGROUP_SKB, attachType: NONE, suffix: false },
  { prefix: 'lwt_in', type: BPF_PROG_TYPE.BPF_PROG_TYPE_LWT_IN, attachType: NONE, suffix: false },
  { prefix: 'lwt_out', type: BPF_PROG_TYPE.BPF_PROG_TYPE_LWT_OUT, attachType: NONE, suffix: false },
  { prefix: 'lwt_xmit', type: BPF_PROG_TYPE.BPF_PROG_TYPE_LWT_XMIT, attachType: NONE, suffix: false },
  { prefix: 'flow_dissector', type: BPF_PROG_TYPE.BPF_PROG_TYPE_FLOW_DISSECTOR, attachType: NONE, suffix: false },
  { prefix: 'syscall', type: BPF_PROG_TYPE.BPF_PROG_TYPE_SYSCALL, attachType: NONE, suffix: false },
];

/**
 * The definition a section matches: exactly, or as `prefix/…`; failing that, by bare prefix
 * (`xdp_stats1`, `classifier_main`), as libbpf matched names before 1.0 — objects written for it
 * still carry such names.
 */
export function sectionDef(section: string): SectionDef | undefined {
  return SECTION_DEFS.find((d) => section === d.prefix || (d.suffix && section.startsWith(`${d.prefix}/`)))
    ?? SECTION_DEFS.find((d) => d.suffix && section.startsWith(d.prefix));
}

/** Program types by the names bpftool's `type` argument takes (xdp, tc, classifier …). */
export function sectionDefByTypeName(name: string): SectionDef | undefined {
  const alias: Record<string, string> = { tc: 'tc', classifier: 'classifier', sched_cls: 'tc', sched_act: 'action', socket_filter: 'socket' };
  const prefix = alias[name] ?? name;
  return SECTION_DEFS.find((d) => d.prefix === prefix);
}

/** Program type names as bpftool prints them. */
export const PROG_TYPE_NAMES: Record<number, string> = {
  [BPF_PROG_TYPE.BPF_PROG_TYPE_SOCKET_FILTER]: 'socket_filter',
  [XDP]: 'xdp',
  [CLS]: 'sched_cls',
  [ACT]: 'sched_act',
  [BPF_PROG_TYPE.BPF_PROG_TYPE_SK_SKB]: 'sk_skb',
  [BPF_PROG_TYPE.BPF_PROG_TYPE_CGROUP_SKB]: 'cgroup_skb',
  [BPF_PROG_TYPE.BPF_PROG_TYPE_LWT_IN]: 'lwt_in',
  [BPF_PROG_TYPE.BPF_PROG_TYPE_LWT_OUT]: 'lwt_out',
  [BPF_PROG_TYPE.BPF_PROG_TYPE_LWT_XMIT]: 'lwt_xmit',
  [BPF_PROG_TYPE.BPF_PROG_TYPE_FLOW_DISSECTOR]: 'flow_dissector',
  [BPF_PROG_TYPE.BPF_PROG_TYPE_SYSCALL]: 'syscall',
};
