/**
 * Network namespaces and veth pairs for the live tests, made and removed by the tests
 * themselves: a generator's end and xdplab's end, each in a namespace of its own (so neither
 * host's stack nor anyone else's traffic reaches them; IPv6 off, so no stray solicitations).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { repoRoot } from './conformance.js';

const ip = (...args: string[]): string => execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

const hasCommand = (name: string): boolean => {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

/** Why the live tests cannot run here, or undefined when they can. */
export function liveSkipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root (network namespaces and captures need root)';
  if (!hasCommand('ip')) return 'no `ip` command (iproute2)';
  try {
    createRequire(import.meta.url)('xdplab-libpcap');
  } catch {
    return 'the libpcap binding (xdplab-libpcap) is not built: libpcap-dev, make, g++ and python3 at npm install';
  }
  if (!existsSync(path.join(repoRoot, 'dist', 'cli', 'main.js'))) return 'dist/ is not built (npm run build)';
  return undefined;
}

export const tcpdumpMissing = (): string | undefined => (hasCommand('tcpdump') ? undefined : 'no tcpdump');

export interface VethEnd {
  ns: string;
  iface: string;
}

export interface VethPair {
  gen: VethEnd;
  lab: VethEnd;
  remove(): void;
}

let made = 0;

/** A veth pair between two new namespaces, both ends up; remove() deletes the namespaces (and so the pair). */
export function createVethPair(): VethPair {
  const tag = `${process.pid}${String.fromCharCode(97 + made++)}`;
  const gen = { ns: `xdplab-g${tag}`, iface: `xg${tag}` };
  const lab = { ns: `xdplab-l${tag}`, iface: `xl${tag}` };
  const remove = (): void => {
    for (const ns of [gen.ns, lab.ns]) {
      try {
        ip('netns', 'del', ns);
      } catch {
        // already gone
      }
    }
  };
  try {
    for (const end of [gen, lab]) {
      ip('netns', 'add', end.ns);
      execFileSync('ip', ['netns', 'exec', end.ns, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
    }
    ip('link', 'add', gen.iface, 'netns', gen.ns, 'type', 'veth', 'peer', 'name', lab.iface, 'netns', lab.ns);
    for (const end of [gen, lab]) ip('-n', end.ns, 'link', 'set', end.iface, 'up');
  } catch (err) {
    remove();
    throw err;
  }
  return { gen, lab, remove };
}

/** A process started in a namespace, its output collected. */
export class NsProcess {
  stdout = '';
  stderr = '';
  readonly exited: Promise<number>;
  private readonly child: ChildProcess;

  constructor(ns: string, command: string[]) {
    this.child = spawn('ip', ['netns', 'exec', ns, ...command], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (d: Buffer) => { this.stdout += d.toString(); });
    this.child.stderr!.on('data', (d: Buffer) => { this.stderr += d.toString(); });
    this.exited = new Promise((resolve) => this.child.on('close', (code) => resolve(code ?? -1)));
  }

  /** Resolves once stderr (or stdout) has matched `pattern`; rejects after timeoutMs or on exit. */
  async waitFor(pattern: RegExp, timeoutMs = 20_000): Promise<void> {
    const start = Date.now();
    let done = false;
    void this.exited.then(() => { done = true; });
    while (!pattern.test(this.stderr) && !pattern.test(this.stdout)) {
      if (done || Date.now() - start > timeoutMs) throw new Error(`waiting for ${pattern}: ${this.stderr}${this.stdout}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  signal(name: NodeJS.Signals): void {
    this.child.kill(name);
  }
}

/** xdplab (the built CLI) in a namespace. */
export const xdplabIn = (ns: string, args: string[]): NsProcess => new NsProcess(ns, [process.execPath, path.join(repoRoot, 'bin', 'xdplab.js'), ...args]);

/** The generator (test/live/generate.mjs) in a namespace: count frames onto iface, written to pcap too. */
export const generateIn = (end: VethEnd, count: number, pcap?: string): NsProcess =>
  new NsProcess(end.ns, [process.execPath, path.join(repoRoot, 'test', 'live', 'generate.mjs'), end.iface, String(count), ...(pcap ? [pcap] : [])]);

/**
 * A veth pair and a temporary folder for the tests of one describe block: made before them,
 * removed after (call it in the block's body).
 */
export function useVethPair(tmpPrefix: string): { pair: VethPair; dir: string } {
  const fixture = {} as { pair: VethPair; dir: string };
  beforeAll(() => {
    fixture.pair = createVethPair();
    fixture.dir = mkdtempSync(path.join(tmpdir(), tmpPrefix));
  });
  afterAll(() => {
    fixture.pair?.remove();
    if (fixture.dir) rmSync(fixture.dir, { recursive: true, force: true });
  });
  return fixture;
}
