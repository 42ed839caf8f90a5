/**
 * `xdplab firewall RULES.yaml --pcap IN | --live IFACE [replay's options]`: compiles an
 * allow/deny rules file (src/firewall/schema.ts) into the tables of the shipped rules program
 * (src/firewall/rules.bpf.o) and replays the packets through it (cli/replay-command.ts: the
 * same summary, --out, --json, --maps-out, --expect). Each packet's JSON object says what
 * decided it (`"decided": {"by": "rule", "rule": 2, "name": "ssh", "line": 9}`); after the run,
 * a counter table a rule (packets and bytes), or with --json one object a row.
 * --hook picks the program: xdp (default; ingress rules only), tc-ingress or tc-egress.
 * A rules error stops the command before anything runs: `rules.yaml:7:12: …`, exit 2.
 */
import type { Command } from 'commander';
import { XdplabError } from '../errors.js';
import { compileRules } from '../firewall/compile.js';
import { FIREWALL_OBJECT } from '../firewall/firewall.js';
import { FW_PROGRAMS } from '../firewall/layout.js';
import { decisionJson, decisionText, formatHits, hitsJsonLines } from '../firewall/report.js';
import { FirewallTables } from '../firewall/tables.js';
import { readText } from './files.js';
import type { Io } from './main.js';
import { addReplayOptions, runReplay, type ReplayOptions } from './replay-command.js';

export function registerFirewallCommand(program: Command, io: Io, setExit: (code: number) => void): void {
  const command = program
    .command('firewall')
    .description('compile an allow/deny rules file into the shipped rules program\'s tables and run it on a capture or a live interface (replay\'s options); says which rule decided each packet')
    .argument('<rules>', 'the rules file (YAML: default, non-ip, rules)');
  addReplayOptions(command).action(async (rulesFile: string, opts: ReplayOptions) => {
    const compiled = compileRules(readText(rulesFile), rulesFile);
    const hook = opts.hook ?? 'xdp';
    const egressOnly = compiled.ruleSet.rules.filter((r) => r.direction === 'egress');
    if (hook !== 'tc-egress' && egressOnly.length) io.err(`xdplab: ${rulesFile}: ${egressOnly.length} egress rule(s) (first at line ${egressOnly[0].line}) never match at ${hook}\n`);
    const ingressOnly = compiled.ruleSet.rules.filter((r) => r.direction === 'ingress');
    if (hook === 'tc-egress' && ingressOnly.length) io.err(`xdplab: ${rulesFile}: ${ingressOnly.length} ingress rule(s) (first at line ${ingressOnly[0].line}) never match at tc-egress\n`);
    let tables: FirewallTables | undefined;
    const installed = (): FirewallTables => {
      if (!tables) throw new XdplabError('INTERNAL', 'firewall: a packet ran before the tables were installed');
      return tables;
    };
    const { code } = await runReplay(FIREWALL_OBJECT, FW_PROGRAMS[hook], { ...opts, hook }, io, {
      loaded: (collection) => { tables = FirewallTables.install(collection, compiled); },
      packetJson: () => {
        const d = installed().lastDecision()!;
        return { action: installed().actionOf(d), decided: decisionJson(d) };
      },
      packetComment: () => {
        const d = installed().lastDecision()!;
        return `firewall: ${installed().actionOf(d)}, decided by ${decisionText(d)}`;
      },
      decidedBy: () => `decided by ${decisionText(installed().lastDecision()!)}`,
      finished: (out, json) => out.out(json ? hitsJsonLines(installed().hits()) : `\n${formatHits(installed().hits())}`),
    });
    setExit(code);
  });
}
