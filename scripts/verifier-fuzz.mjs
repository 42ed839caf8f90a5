#!/usr/bin/env node
/**
 * The verifier's differential fuzzer (test/verifier/fuzz): xdplab's verifier against the
 * running kernel's on generated XDP and TC programs. Run as root (it loads programs):
 *
 *   sudo node scripts/verifier-fuzz.mjs --seed 1 --count 200 [--families alu,pkt] [--out DIR]
 *   sudo node scripts/verifier-fuzz.mjs --check reproducer.txt [--log]
 *
 * The TypeScript is bundled with rolldown (a dev dependency) into a temporary file first.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'rolldown';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(mkdtempSync(path.join(os.tmpdir(), 'xdplab-vfuzz-bundle-')), 'main.mjs');
await build({
  input: path.join(ROOT, 'test/verifier/fuzz/main.ts'),
  platform: 'node',
  output: { file: out, format: 'esm' },
  write: true,
  logLevel: 'silent',
});
// The bundle's import.meta.url is the temporary file: kernel-insns.ts finds its C source by ROOT.
process.env.XDPLAB_REPO_ROOT = ROOT;
const mod = await import(pathToFileURL(out).href);
mod.main();
