/** Every helper xdplab implements, one family per file. */
import { CALLBACK_HELPERS } from './callbacks.js';
import { CSUM_HELPERS } from './csum.js';
import { EVENT_HELPERS } from './events.js';
import { FIB_HELPERS } from './fib.js';
import { MAP_HELPERS } from './maps.js';
import { MISC_HELPERS } from './misc.js';
import type { HelperDef } from './registry.js';
import { SKB_HELPERS } from './skb.js';
import { STRING_HELPERS } from './strings.js';
import { TC_REDIRECT_HELPERS } from './tc-redirect.js';
import { XDP_HELPERS } from './xdp.js';

export const ALL_HELPERS: readonly HelperDef[] = [
  ...MAP_HELPERS, ...MISC_HELPERS, ...XDP_HELPERS, ...CALLBACK_HELPERS, ...STRING_HELPERS, ...EVENT_HELPERS, ...FIB_HELPERS,
  ...CSUM_HELPERS, ...SKB_HELPERS, ...TC_REDIRECT_HELPERS,
];
