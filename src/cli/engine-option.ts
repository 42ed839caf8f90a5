/**
 * `--engine jit|interp` for the commands that run programs: the WebAssembly JIT (the default)
 * or the reference interpreter.
 */
import { Option } from 'commander';
import type { EngineKind } from '../vm/engine.js';
import { ENGINE_KINDS } from '../vm/engine.js';

export function engineOption(): Option {
  return new Option('--engine <engine>', 'execution engine: jit (WebAssembly) or interp (the reference interpreter)').choices(ENGINE_KINDS);
}

export const engineOf = (value: string | undefined): EngineKind | undefined => value as EngineKind | undefined;
