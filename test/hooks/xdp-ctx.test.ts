/**
 * xdp_md in from ctx_in, as xdp_convert_md_to_buff reads it: ingress_ifindex 0 keeps the
 * loopback's RX queue the test run starts with (the program reads ifindex 1). Checked against
 * the kernel: live where it can be asked, else its recorded answers
 * (test/fixtures/kernel/hooks/xdp-ctx.json).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { testRun } from '../../src/hooks/test-run.js';
import { Collection } from '../../src/runtime/collection.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { loadCollectionSpec } from '../../src/spec/loader.js';
import { repoRoot } from '../support/conformance.js';
import { KernelRecord } from '../support/kernel-record.js';

const OBJECT = path.join(repoRoot, 'test', 'fixtures', 'bpf', 'context-probe.bpf.o');
const FRAME = Uint8Array.from({ length: 60 }, (_, i) => (i === 12 ? 8 : 0));

/** xdp_md { data, data_end, data_meta, ingress_ifindex, rx_queue_index, egress_ifindex }. */
function xdpMd(ingressIfindex: number): Uint8Array {
  const ctx = new Uint8Array(24);
  const v = new DataView(ctx.buffer);
  v.setUint32(4, FRAME.length, true);
  v.setUint32(12, ingressIfindex, true);
  return ctx;
}

function xdplab(ctx: Uint8Array | undefined): number {
  const runtime = new Runtime();
  const c = Collection.load(runtime, loadCollectionSpec(new Uint8Array(readFileSync(OBJECT)), OBJECT));
  return testRun(runtime, c.program('xdp_where'), { data: FRAME, ctx }).retval;
}

describe('XDP test run: ingress_ifindex from ctx_in', () => {
  it('0 reads as the loopback (1), as without ctx_in; 1 is the loopback', () => {
    expect(xdplab(undefined)).toBe(1 << 8);
    expect(xdplab(xdpMd(0))).toBe(1 << 8);
    expect(xdplab(xdpMd(1))).toBe(1 << 8);
  });

  describe('the kernel agrees', () => {
    const kernel = KernelRecord.for(import.meta.url).object(OBJECT);

    it.each([0, 1])('ctx_in ingress_ifindex %i', (ifindex) => {
      expect(xdplab(xdpMd(ifindex))).toBe(kernel.mustRun('xdp_where', { data: FRAME, ctx: xdpMd(ifindex) }).retval);
    });
  });
});
