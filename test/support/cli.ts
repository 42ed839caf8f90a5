/** Run the CLI in-process, capturing what it prints, or as a real process through bin/xdplab.js. */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { main } from '../../src/cli/main.js';
import { repoRoot } from './conformance.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function cli(args: string[], stdin = ''): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const code = await main(args, {
    out: (t) => { stdout += t; },
    err: (t) => { stderr += t; },
    stdin: async () => stdin,
  });
  return { code, stdout, stderr };
}

/** The built command (npm test builds dist/ first), as a user runs it. */
export function spawnCli(args: string[], stdin = '', timeoutMs?: number): CliResult {
  const r = spawnSync(process.execPath, [path.join(repoRoot, 'bin', 'xdplab.js'), ...args], { input: stdin, encoding: 'utf8', timeout: timeoutMs });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
