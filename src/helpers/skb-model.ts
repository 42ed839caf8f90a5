/**
 * The device table, where test/support/tc-harness.ts still imports it from (it lives in
 * netcore/net-device.ts; helpers reach the running program's SkBuff through skb-call.ts's
 * `skbOf`); this file goes when that test imports it from netcore/.
 */
export { LOOPBACK, ethernetDevice, type DeviceTable, type NetDevice } from '../netcore/net-device.js';
