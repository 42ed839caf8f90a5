import { describe, expect, it } from 'vitest';
import { FormatError, formatBpf, type FormatMemory } from '../../src/helpers/format.js';
import { parseStrtoull } from '../../src/helpers/strings.js';

const memory: FormatMemory = {
  string: (addr) => (addr === 0x1000 ? 'eth0' : undefined),
  bytes: (addr, n) => (addr === 0x2000 ? Uint8Array.from({ length: n }, (_, i) => [10, 0, 0, 1, 0x20, 0x01, 0x0d, 0xb8][i] ?? i) : undefined),
};

describe('bpf_trace_printk / bpf_snprintf format', () => {
  it.each([
    ['%d', [-5n], '-5'],
    ['%d', [0xffffffffn], '-1'],
    ['%u', [0xffffffffn], '4294967295'],
    ['%lld', [0xffffffffffffffffn], '-1'],
    ['%llu', [0xffffffffffffffffn], '18446744073709551615'],
    ['%x', [255n], 'ff'],
    ['%08x', [255n], '000000ff'],
    ['%-4d|', [7n], '7   |'],
    ['%5d', [-42n], '  -42'],
    ['%c%c', [104n, 105n], 'hi'],
    ['%s up', [0x1000n], 'eth0 up'],
    ['%pI4', [0x2000n], '10.0.0.1'],
    ['%pi4', [0x2000n], '010.000.000.001'],
    ['100%%', [], '100%'],
    ['%px', [0xabcn], '0x0000000000000abc'],
  ] as const)('%s', (fmt, args, expected) => {
    expect(formatBpf(fmt, [...args], memory)).toBe(expected);
  });

  it('refuses what the kernel refuses', () => {
    expect(() => formatBpf('%f', [1n], memory)).toThrow(FormatError);
    expect(() => formatBpf('%d %d', [1n], memory)).toThrow(FormatError);
  });
});

describe('__bpf_strtoull', () => {
  const parse = (text: string, flags = 0) => {
    const out = { value: 0n, negative: false };
    const consumed = parseStrtoull(new TextEncoder().encode(text), flags, out);
    return { consumed, value: out.value, negative: out.negative };
  };
  it.each([
    ['123', 0, 3, 123n],
    ['  42xyz', 10, 4, 42n],
    ['0x1f', 0, 4, 31n],
    ['0x1f', 16, 4, 31n],
    ['1f', 16, 2, 31n],
    ['017', 0, 3, 15n],
    ['0', 0, 1, 0n],
    ['-9', 10, 2, 9n],
    ['18446744073709551615', 10, 20, 18446744073709551615n],
  ] as const)('%s (base %d)', (text, flags, consumed, value) => {
    expect(parse(text, flags)).toMatchObject({ consumed, value });
  });
  it.each([
    ['', 0, -22], ['   ', 0, -22], ['xyz', 10, -22], ['12', 7, -22], ['12', 0x20, -22],
    ['18446744073709551616', 10, -34],
  ] as const)('%j (base %d) fails with %d', (text, flags, errno) => {
    expect(parse(text, flags).consumed).toBe(errno);
  });
});
