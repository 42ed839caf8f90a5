/** The SkBuff of the running program, as skb helpers reach it (netcore/skbuff.ts holds the model). */
import { envOf } from './env.js';
import { HelperError, type HelperCall } from '../vm/helper-table.js';
import type { SkBuff } from '../netcore/skbuff.js';

/** The SkBuff of the running program, with the program's context writes taken in. */
export function skbOf(call: HelperCall): SkBuff {
  const skb = envOf(call).skb;
  if (!skb) throw new HelperError('this helper needs a socket buffer (a TC program)');
  skb.loadCtx();
  return skb;
}

/**
 * The device table, where test/support/tc-harness.ts still imports it from (it lives in
 * netcore/net-device.ts); to go when that file imports it from there.
 */
export { LOOPBACK, ethernetDevice, type DeviceTable, type NetDevice } from '../netcore/net-device.js';
