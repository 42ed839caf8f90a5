/** The one error style (errors.ts): context wraps an error with its cause, once, never in place. */
import { describe, expect, it } from 'vitest';
import { XdplabError, causeOf, withContext } from '../src/errors.js';
import { MapError } from '../src/maps/map.js';

describe('withContext', () => {
  it('makes a new error saying where, with the old one as its cause and its code', () => {
    const inner = new MapError('counters', 7, 'key too long');
    const outer = withContext(inner, 'load fw.o');
    expect(outer).not.toBe(inner);
    expect(outer.message).toBe('load fw.o: map counters: key too long: E2BIG');
    expect(inner.message).toBe('map counters: key too long: E2BIG');
    expect(outer.code).toBe('BAD_INPUT');
    expect(outer.cause).toBe(inner);
    expect(causeOf(outer, MapError)).toBe(inner);
  });

  it('adds a context once: an error that starts with it is returned as it is', () => {
    const inner = new XdplabError('BAD_INPUT', '/etc/hostname: bad magic');
    expect(withContext(inner, '/etc/hostname')).toBe(inner);
    expect(withContext(new XdplabError('ASM_SYNTAX', 'f.s:3:1: unknown'), 'f.s', 'ASM_SYNTAX', ':').message).toBe('f.s:3:1: unknown');
    expect(withContext(new XdplabError('ASM_SYNTAX', '3:1: unknown'), 'f.s', 'ASM_SYNTAX', ':').message).toBe('f.s:3:1: unknown');
  });

  it('wraps a foreign error in an XdplabError of the given code', () => {
    const foreign = new RangeError('offset out of bounds');
    const e = withContext(foreign, 'section .BTF', 'UNSUPPORTED');
    expect(e).toBeInstanceOf(XdplabError);
    expect(e.code).toBe('UNSUPPORTED');
    expect(e.message).toBe('section .BTF: offset out of bounds');
    expect(e.cause).toBe(foreign);
  });
});
