/** BTF and BTF.ext readers, the bpftool-style dump, and BTF-typed value formatting. */
export * from './types.js';
export { Btf, parseBtf, type BtfMemberLocation } from './btf.js';
export { dumpBtf, dumpType } from './dump.js';
export {
  BtfExt, parseBtfExt, type BtfCoreRelo, type BtfExtHeader, type BtfFuncInfo, type BtfLineInfo, type BtfSourceLine,
} from './ext.js';
export { formatValue } from './format.js';
export { parseValue } from './parse-value.js';
