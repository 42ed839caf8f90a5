/**
 * The `xdplab` command line: parses arguments with commander and hands each command to its
 * own module. Exit codes: 0 success, 1 the program faulted at run time, 2 bad input or usage.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { XdplabError } from '../errors.js';
import { registerCoreCommands } from './core-commands.js';
import { registerProgCommands } from './prog-commands.js';
import { registerReplayCommand } from './replay-command.js';
import { registerRunCommand } from './run-command.js';
import { registerVerifyCommand } from './verify-command.js';
import { registerCrosscheckCommand } from './crosscheck-command.js';
import { registerFirewallCommand } from './firewall-command.js';
import { registerFilterCommand } from './filter-command.js';

export const EXIT_OK = 0;
export const EXIT_FAULT = 1;
export const EXIT_BAD_INPUT = 2;

/** Where a command writes; tests pass their own to capture output. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** All of standard input, one character per byte (latin1), so binary input survives. */
  stdin(): Promise<string>;
}

async function readProcessStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('latin1');
}

/**
 * A reader that went away (`xdplab replay … --json | head`) closes the pipe: stop quietly, as
 * command-line tools do on EPIPE, instead of dying on an unhandled stream error.
 */
function exitOnClosedPipe(stream: NodeJS.WriteStream): void {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(EXIT_OK);
    throw err;
  });
}
exitOnClosedPipe(process.stdout);

export const processIo: Io = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  stdin: readProcessStdin,
};

/** Map an error to a message and an exit code; never a stack trace for a user's mistake. */
export function reportError(err: unknown, io: Io): number {
  if (err instanceof XdplabError && err.code !== 'INTERNAL') {
    io.err(`xdplab: ${err.message}\n`);
    if (err.explanation) io.err(err.explanation.replace(/^/gm, '  ') + '\n');
    return err.code === 'VM_FAULT' ? EXIT_FAULT : EXIT_BAD_INPUT;
  }
  if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT_OK : EXIT_BAD_INPUT;
  const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
  io.err(`xdplab: internal error: ${message}\n`);
  return EXIT_FAULT;
}

/** The package's version, from its package.json (two levels above this file, in src/ and in dist/). */
export function packageVersion(): string {
  const json = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return json.version;
}

export function buildProgram(io: Io, setExit: (code: number) => void): Command {
  const program = new Command('xdplab')
    .description('Run real eBPF XDP and TC programs outside the kernel')
    .version(`xdplab ${packageVersion()}`, '-V, --version', 'print the version')
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err });
  registerCoreCommands(program, io, setExit);
  registerProgCommands(program, io);
  registerReplayCommand(program, io, setExit);
  registerRunCommand(program, io, setExit);
  registerVerifyCommand(program, io, setExit);
  registerCrosscheckCommand(program, io, setExit);
  registerFirewallCommand(program, io, setExit);
  registerFilterCommand(program, io, setExit);
  return program;
}

/** Run the CLI with the given arguments; resolves to the exit code. */
export async function main(argv: readonly string[], io: Io = processIo): Promise<number> {
  let exitCode = EXIT_OK;
  const program = buildProgram(io, (code) => { exitCode = code; });
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (err) {
    return reportError(err, io);
  }
}
