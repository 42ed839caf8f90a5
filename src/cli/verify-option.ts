/**
 * `--no-verify` and `--caps root|bpf` for the commands that load objects: whether a load runs
 * the verifier (the kernel's BPF_PROG_LOAD checks) first, and with which privileges.
 */
import { Option } from 'commander';
import type { LoadOptions } from '../runtime/collection.js';
import type { Collection } from '../runtime/collection.js';
import type { Caps } from '../verifier/index.js';

export const CAPS: readonly Caps[] = ['root', 'bpf'];

export interface VerifyCliOptions {
  /** commander's value for `--no-verify`: false when it was given. */
  verify?: boolean;
  caps?: string;
}

export function noVerifyOption(): Option {
  return new Option('--no-verify', 'load programs the kernel\'s verifier would refuse (to debug them: every run-time check stays)');
}

export function capsOption(): Option {
  return new Option('--caps <caps>', 'privileges the verifier assumes: root (CAP_SYS_ADMIN/CAP_PERFMON) or bpf (CAP_BPF + CAP_NET_ADMIN only)')
    .choices(CAPS).default('root');
}

export function loadOptionsOf(opts: VerifyCliOptions): LoadOptions {
  return { verify: opts.verify === false ? false : { caps: (opts.caps ?? 'root') as Caps } };
}

/**
 * What to say about the other programs of an object the verifier refuses: libbpf (and so a
 * loader like `bpftool prog loadall` or a skeleton) loads every program of an object, and one
 * refusal fails the whole load.
 */
export function refusedSiblingNotes(collection: Collection, using: readonly string[]): string[] {
  const notes: string[] = [];
  for (const [name, result] of collection.verification) {
    if (result.accepted || result.unsupported || using.includes(name)) continue;
    notes.push(`note: the kernel's verifier would refuse program ${name} of ${collection.spec.source} `
      + `(${result.error} at pc ${result.pc}); libbpf loads every program of an object, so this object would not load `
      + `(\`xdplab verify ${collection.spec.source} ${name}\` explains)`);
  }
  return notes;
}
