/**
 * What every skb helper starts from: the running program's SkBuff (`skbOf`), a helper body run
 * on it with the context synced after (`onSkb`), arguments as the skb helpers read them, and
 * the few skb facts several families share.
 */
import { HELPER_CONTINUE, HelperError, argU32, ret, type HelperCall } from '../vm/helper-table.js';
import { REGION_READ, REGION_WRITE } from '../vm/arena.js';
import type { SkBuff } from '../netcore/skbuff.js';
import { ETH_P_8021AD, ETH_P_8021Q } from '../uapi/if-ether.js';
import { envOf } from './env.js';

/** Argument n's high word, unsigned (flags whose upper half must be 0). */
export const argHi = (call: HelperCall, n: number): number => call.regs[n * 2 + 1] >>> 0;
/** Argument n as a signed 32-bit number (an `s32` or `int` parameter). */
export const argS32 = (call: HelperCall, n: number): number => call.regs[n * 2] | 0;

/** A memory argument the verifier would have checked: refuse it loudly when it is wrong. */
export function memArg(call: HelperCall, n: number, len: number, write: boolean): number {
  const addr = argU32(call, n);
  if (len > 0 && !call.arena.canAccess(addr, call.regs[n * 2 + 1], len, write ? REGION_WRITE : REGION_READ)) {
    throw new HelperError(`argument ${n} (0x${addr.toString(16)}, ${len} bytes) is not ${write ? 'writable' : 'readable'} memory (the kernel's verifier refuses this program)`);
  }
  return addr;
}

/** The SkBuff of the running program, with the program's context writes taken in. */
export function skbOf(call: HelperCall): SkBuff {
  const skb = envOf(call).skb;
  if (!skb) throw new HelperError('this helper needs a socket buffer (a TC program)');
  skb.loadCtx();
  return skb;
}

/** Run a helper body on the program's skb, then show the skb's state in the context again. */
export function onSkb(fn: (skb: SkBuff, call: HelperCall) => number): (call: HelperCall) => number {
  return (call) => {
    const skb = skbOf(call);
    ret(call, fn(skb, call));
    skb.storeCtx();
    return HELPER_CONTINUE;
  };
}

export const isVlanType = (proto: number): boolean => proto === ETH_P_8021Q || proto === ETH_P_8021AD;

/** skb_reset_mac_len */
export function resetMacLen(skb: SkBuff): void {
  skb.macLen = skb.networkHeader - skb.macHeader;
}
