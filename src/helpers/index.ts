/** Every helper xdplab implements, one family per file. */
import { CALLBACK_HELPERS } from './callbacks.js';
import { CSUM_HELPERS } from './csum.js';
import { EVENT_HELPERS } from './events.js';
import { FIB_HELPERS } from './fib.js';
import { MAP_HELPERS } from './maps.js';
import { MISC_HELPERS } from './misc.js';
import type { HelperDef } from './registry.js';
import { CHECK_MTU_HELPERS } from './check-mtu.js';
import { SKB_BYTES_HELPERS } from './skb-bytes.js';
import { SKB_CLONE_REDIRECT_HELPERS } from './skb-clone-redirect.js';
import { SKB_ECN_HELPERS } from './skb-ecn.js';
import { SKB_HASH_HELPERS } from './skb-hash.js';
import { SKB_RESIZE_HELPERS } from './skb-resize.js';
import { SKB_SOCKET_HELPERS } from './skb-socket.js';
import { SKB_TUNNEL_HELPERS } from './skb-tunnel.js';
import { SKB_VLAN_HELPERS } from './skb-vlan.js';
import { STRING_HELPERS } from './strings.js';
import { TC_REDIRECT_HELPERS } from './tc-redirect.js';
import { XDP_HELPERS } from './xdp.js';

export const ALL_HELPERS: readonly HelperDef[] = [
  ...MAP_HELPERS, ...MISC_HELPERS, ...XDP_HELPERS, ...CALLBACK_HELPERS, ...STRING_HELPERS, ...EVENT_HELPERS, ...FIB_HELPERS,
  ...CSUM_HELPERS, ...SKB_BYTES_HELPERS, ...SKB_VLAN_HELPERS, ...SKB_RESIZE_HELPERS, ...SKB_HASH_HELPERS, ...SKB_TUNNEL_HELPERS,
  ...SKB_SOCKET_HELPERS, ...SKB_CLONE_REDIRECT_HELPERS, ...CHECK_MTU_HELPERS, ...SKB_ECN_HELPERS, ...TC_REDIRECT_HELPERS,
];
