/**
 * The maps of src/firewall/rules.bpf.c as bytes: sizes, the layout of `struct fw_rule` and
 * `struct fw_config`, and the decision slots after the rules. Kept in step with the C by
 * test/firewall/layout.test.ts, which reads them from the object's BTF.
 */

/** Entries fw_rules holds: rules of a file after expansion (a list of CIDRs is one entry each). */
export const FW_MAX_ENTRIES = 16384;
/** fw_hits' slots after the rules' (a rule's slot is its index). */
export const FW_DECISION_DEFAULT = FW_MAX_ENTRIES;
export const FW_DECISION_NON_IP = FW_MAX_ENTRIES + 1;
export const FW_DECISION_MALFORMED = FW_MAX_ENTRIES + 2;
/** fw_log's slots: the decision of packet n is at n % FW_LOG_SIZE. */
export const FW_LOG_SIZE = 4096;
/** Classes of packet, each a range of fw_index: IPv4 then IPv6, each TCP, UDP, SCTP, its ICMP, any other protocol. */
export const FW_CLASSES = 10;
/** Slots of fw_index: an entry is in every class it can match (one without protocol or family in up to ten). */
export const FW_MAX_INDEX = 65536;

/** struct fw_rule.flags */
export const FW_MATCH_PROTO = 1 << 0;
export const FW_MATCH_PORTS = 1 << 1;
export const FW_INGRESS = 1 << 2;
export const FW_EGRESS = 1 << 3;

export const FW_DENY = 0;
export const FW_ALLOW = 1;

/** struct fw_rule: four 16-byte address fields, then the ports, then one byte each, then the rule. */
export const FW_RULE = {
  size: 80,
  src: 0, srcMask: 16, dst: 32, dstMask: 48,
  sportLo: 64, sportHi: 66, dportLo: 68, dportHi: 70,
  family: 72, proto: 73, flags: 74, action: 75, rule: 76,
} as const;

/** struct fw_config */
export const FW_CONFIG = { size: 4, defaultAction: 0, nonIpAction: 1 } as const;

/** struct fw_range (a value of fw_classes): start and count in fw_index. */
export const FW_RANGE = { size: 8, start: 0, count: 4 } as const;

/** struct fw_counter: packets, bytes (u64 each). */
export const FW_COUNTER_SIZE = 16;

export const FW_MAPS = { rules: 'fw_rules', index: 'fw_index', classes: 'fw_classes', config: 'fw_config', hits: 'fw_hits', seq: 'fw_seq', log: 'fw_log' } as const;

/** The program of each hook. */
export const FW_PROGRAMS = { xdp: 'rules_xdp', 'tc-ingress': 'rules_tc_ingress', 'tc-egress': 'rules_tc_egress' } as const;
