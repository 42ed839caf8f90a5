#!/usr/bin/env node
/**
 * Re-record test/fixtures/verifier/kernel.json: the running kernel's verdict on every program
 * of every verifier corpus object (test/fixtures/verifier/*.bpf.o), loaded alone, as root and
 * with CAP_BPF and CAP_NET_ADMIN only. Run as root after rebuilding the objects:
 *
 *   scripts/build-verifier-corpus.sh && sudo node scripts/record-verifier-corpus.mjs
 *
 * Each program is loaded twice per capability set: with log level 1 (the record: verdict,
 * error line, the log's last lines) and with log level 4 (statistics only: what the test
 * asks the live kernel, much faster on programs that reach the 1M-instruction limit). The
 * two must agree on the verdict, errno, error line and processed instructions, and every
 * program's verdict must match its name (_ok loads as root, _bad is refused in both sets,
 * _priv loads as root and is refused with CAP_BPF alone); otherwise nothing is written and
 * the disagreements are listed.
 *
 * log_tail keeps the log's last lines as they are, but for kernel addresses (root's log shows
 * the address an lddw of a map loads, different at every load): 0xffff<address>.
 *
 * The logic shared with the tests (the recorder, the error-line rule) lives in
 * test/support/kernel-verify.ts; it is transpiled here with TypeScript's transpileModule.
 */
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DIR = path.join(ROOT, 'test', 'fixtures', 'verifier');
const OUT = path.join(DIR, 'kernel.json');
const TAIL_LINES = 30;
/** A kernel address (root's log prints the address an lddw of a map loads): new at every load. */
const KERNEL_ADDRESS = /\b0xffff[0-9a-f]{12}\b/g;
const CAPS = ['root', 'bpf'];

/**
 * test/support/kernel-verify.ts and what it imports, as JavaScript in a temporary folder,
 * beside a copy of kernel-verify.c (which it builds from beside itself).
 */
async function loadSupport(tmp) {
  const support = path.join(ROOT, 'test', 'support');
  for (const name of ['kernel-verify', 'kernel']) {
    const source = readFileSync(path.join(support, `${name}.ts`), 'utf8');
    const { outputText } = ts.transpileModule(source, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    });
    writeFileSync(path.join(tmp, `${name}.js`), outputText);
  }
  copyFileSync(path.join(support, 'kernel-verify.c'), path.join(tmp, 'kernel-verify.c'));
  return import(pathToFileURL(path.join(tmp, 'kernel-verify.js')).href);
}

/** The comment above each program's definition in the family's source, as one line. */
function descriptions(source) {
  const lines = source.split('\n');
  const found = new Map();
  lines.forEach((line, i) => {
    const m = /^(?:__naked )?int (\w+)\(|^[A-Z_]+\((\w+), /.exec(line);
    if (!m) return;
    let j = i - 1;
    if (/^SEC\(/.test(lines[j] ?? '')) j--;
    if (!/\*\/\s*$/.test(lines[j] ?? '')) return;
    const text = [];
    for (; j >= 0; j--) {
      text.unshift(lines[j]);
      if (/^\s*\/\*/.test(lines[j])) break;
    }
    found.set(m[1] ?? m[2], text.join(' ').replace(/\/\*|\*\//g, '').replace(/^\s*\*\s/gm, '').replace(/\s+\*\s+/g, ' ').replace(/\s+/g, ' ').trim());
  });
  return found;
}

/** JSON with every object's keys sorted, two-space indented. */
function stableJson(value) {
  const sort = (v) =>
    Array.isArray(v) ? v.map(sort) : v && typeof v === 'object' ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sort(v[k])])) : v;
  return `${JSON.stringify(sort(value), null, 2)}\n`;
}

const tmp = mkdtempSync(path.join(os.tmpdir(), 'xdplab-record-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));
const support = await loadSupport(tmp);
const why = support.kernelVerifyUnavailable();
if (why) {
  console.error(`record-verifier-corpus: the kernel cannot be asked: ${why}`);
  process.exit(1);
}

const programs = {};
const problems = [];
const objects = readdirSync(DIR).filter((f) => f.endsWith('.bpf.o')).sort();
for (const object of objects) {
  const file = path.join(DIR, object);
  const family = object.replace(/\.bpf\.o$/, '');
  const about = descriptions(readFileSync(file.replace(/\.o$/, '.c'), 'utf8'));
  const listed = support.kernelListPrograms(file);
  const names = listed.map((p) => p.name);
  const entries = Object.fromEntries(
    listed.map((p) => {
      const intent = /_(ok|bad|priv)$/.exec(p.name)?.[1];
      if (!intent) problems.push(`${object}/${p.name}: the name ends in neither _ok, _bad nor _priv`);
      if (!about.has(p.name)) problems.push(`${object}/${p.name}: no comment above the program`);
      return [p.name, { family, intent, section: p.section, description: about.get(p.name) ?? '' }];
    }),
  );
  for (const caps of CAPS) {
    const full = support.kernelVerifyMany(file, names, caps, { tailBytes: 1 << 20 });
    const quick = support.kernelVerifyMany(file, names, caps, { logLevel: 4 });
    full.forEach((v, i) => {
      const key = `${object}/${v.program}`;
      if (v.libbpfError) problems.push(`${key} (${caps}): libbpf failed before the kernel was asked: ${v.libbpfError}`);
      const error = v.accepted ? '' : support.kernelErrorLine(v.log);
      const q = quick[i];
      const quickError = q.accepted ? '' : support.kernelErrorLine(q.log);
      if (q.accepted !== v.accepted || q.errno !== v.errno || q.insnsProcessed !== v.insnsProcessed || quickError !== error) {
        problems.push(`${key} (${caps}): log level 4 differs from level 1: ${JSON.stringify([q.accepted, q.errno, q.insnsProcessed, quickError])} vs ${JSON.stringify([v.accepted, v.errno, v.insnsProcessed, error])}`);
      }
      if (!v.accepted && error === '') problems.push(`${key} (${caps}): refused with no error line`);
      entries[v.program][caps] = {
        accepted: v.accepted,
        errno: v.errno,
        error,
        insns_processed: v.insnsProcessed,
        log_tail: v.accepted ? [] : support.logTail(v.log, TAIL_LINES).map((line) => line.replace(KERNEL_ADDRESS, '0xffff<address>')),
      };
    });
  }
  for (const [name, entry] of Object.entries(entries)) {
    const { intent, root, bpf } = entry;
    const fits =
      intent === 'ok' ? root.accepted : intent === 'bad' ? !root.accepted && !bpf.accepted : intent === 'priv' ? root.accepted && !bpf.accepted : false;
    if (!fits) problems.push(`${object}/${name}: intent ${intent}, but root ${root.accepted ? 'accepts' : `refuses (${root.error})`}, CAP_BPF ${bpf.accepted ? 'accepts' : `refuses (${bpf.error})`}`);
    programs[`${object}/${name}`] = entry;
  }
  console.log(`  ${object}: ${names.length} programs`);
}

if (problems.length > 0) {
  console.error(`record-verifier-corpus: ${problems.length} problems, kernel.json not written:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
writeFileSync(OUT, stableJson({ kernel: os.release(), programs }));
console.log(`${path.relative(ROOT, OUT)}: ${Object.keys(programs).length} programs, kernel ${os.release()}`);
