/**
 * The numbers of the capture file formats that the parser reads and the writer writes:
 * pcap's magics (tcpdump's pcap-savefile(5)) and pcapng's block types and option codes
 * (draft-ietf-opsawg-pcapng).
 */

/** pcap: microsecond and nanosecond timestamps. */
export const PCAP_MAGIC_US = 0xa1b2c3d4;
export const PCAP_MAGIC_NS = 0xa1b23c4d;

/** pcapng: the section header's byte-order magic. */
export const PCAPNG_BOM = 0x1a2b3c4d;

/** pcapng block types. */
export const BT_SHB = 0x0a0d0d0a;
export const BT_IDB = 0x00000001;
export const BT_OPB = 0x00000002;
export const BT_SPB = 0x00000003;
export const BT_EPB = 0x00000006;

/** pcapng option codes: any block's, then an interface description block's. */
export const OPT_ENDOFOPT = 0;
export const OPT_COMMENT = 1;
export const IF_NAME = 2;
export const IF_DESCRIPTION = 3;
export const IF_TSRESOL = 9;
export const IF_TSOFFSET = 14;
