/**
 * loadTopology: a topology file (docs/topology.md) → a live Network with its programs loaded
 * and attached, and the traffic to feed it. Validation happens as the file is read: every error
 * names the file, line and column of what is wrong.
 *
 * Programs are loaded once per object file: two programs of one object (an XDP and a TC program
 * sharing maps, say) share that object's maps, as they would when one loader loads the object.
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import { XdplabError } from '../errors.js';
import { inputError, readInputFile, regularInput } from '../files.js';
import { Network } from '../net/network.js';
import { HOOKS, VirtualNic, type Cidr, type HookName } from '../net/nic.js';
import { Node, type NodeKind } from '../net/node.js';
import type { PacketSink } from '../net/recorder.js';
import { Collection, type LoadOptions } from '../runtime/collection.js';
import type { Program } from '../runtime/program.js';
import { compileFilter, type FilterAction } from '../filter/index.js';
import type { EngineKind } from '../vm/engine.js';
import { Runtime } from '../runtime/runtime.js';
import { setGlobal } from '../spec/edit.js';
import { loadCollectionSpec } from '../spec/loader.js';
import type { CollectionSpec } from '../spec/types.js';
import { parseCidr, parseIp, parseMac } from './addresses.js';
import { Cursor, parseYaml } from './cursor.js';
import { readTrafficExpect, type TrafficExpectation } from './expect.js';
import { loadMapEntries } from './map-values.js';
import { readObjectFile } from '../spec/compile-c.js';

export type Timing = { kind: 'asap' } | { kind: 'realtime'; multiplier: number };

export interface TrafficSource {
  pcap: string;
  into: VirtualNic;
  timing: Timing;
  /** Its `expect:` entries (topology/expect.ts), checked by `run --expect`. */
  expect: TrafficExpectation[];
}

export interface Topology {
  file: string;
  name: string;
  description: string;
  network: Network;
  traffic: TrafficSource[];
  outputDir: string;
  /** Loaded objects by path (their maps, for summaries). */
  collections: Map<string, Collection>;
  /** The programs the topology defines, by its names for them. */
  programs: Map<string, Program>;
}

export interface TopologyOverrides {
  seed?: number;
  cpus?: number;
  outputDir?: string;
  /** The execution engine (default: the runtime's default, the JIT). */
  engine?: EngineKind;
  /** How programs are loaded: verified as the kernel would (the default) or not. */
  load?: LoadOptions;
}

const TOP_KEYS = ['name', 'description', 'seed', 'cpus', 'nodes', 'links', 'programs', 'attach', 'traffic', 'outputs'];

export function loadTopology(file: string, sink: PacketSink, overrides: TopologyOverrides = {}): Topology {
  const text = Buffer.from(readInputFile(file)).toString('utf8');
  const root = parseYaml(text, file);
  const top = root.map(TOP_KEYS, ['nodes']);
  const dir = path.dirname(file);
  const name = top.get('name')?.string() ?? path.basename(dir);
  const seed = overrides.seed ?? top.get('seed')?.int(0, 2 ** 32 - 1) ?? 1;
  const cpus = overrides.cpus ?? top.get('cpus')?.int(1, 256) ?? 1;
  const runtime = new Runtime({ cpus, seed, engine: overrides.engine });
  const network = new Network(runtime, sink);

  for (const nodeAt of top.get('nodes')!.list()) network.nodes.push(readNode(nodeAt, cpus));
  if (network.nodes.length === 0) throw top.get('nodes')!.fail('a topology needs at least one node');
  const nodeNames = new Set<string>();
  for (const [i, node] of network.nodes.entries()) {
    if (nodeNames.has(node.name)) throw top.get('nodes')!.list()[i].fail(`node ${node.name} is defined twice`);
    nodeNames.add(node.name);
  }
  top.get('nodes')!.list().forEach((at, i) => readRoutesAndNeighbours(at, network.nodes[i]));
  for (const link of top.get('links')?.list() ?? []) readLink(link, network);
  for (const node of network.nodes) node.addConnectedRoutes();

  const { programs, collections } = readPrograms(top.get('programs'), dir, runtime, overrides.load);
  for (const at of top.get('attach')?.list() ?? []) readAttachment(at, network, programs, runtime, overrides.load);
  const traffic = (top.get('traffic')?.list() ?? []).map((at) => readTraffic(at, network, dir));
  const outputs = top.get('outputs')?.map(['dir']);
  const outputDir = overrides.outputDir ?? (outputs?.get('dir') ? path.resolve(dir, outputs.get('dir')!.string()) : path.join('out', name));
  return { file, name, description: top.get('description')?.string() ?? '', network, traffic, outputDir, collections, programs };
}

// ---- nodes -------------------------------------------------------------------------------

const NODE_KEYS = ['name', 'kind', 'forwarding', 'interfaces', 'routes', 'neighbours'];
const NIC_KEYS = ['name', 'mac', 'ipv4', 'ipv6', 'mtu', 'rx_queues', 'ifindex', 'live'];

function readNode(at: Cursor, cpus: number): Node {
  const f = at.map(NODE_KEYS, ['name', 'interfaces']);
  const name = f.get('name')!.string();
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw f.get('name')!.fail('a node name is letters, digits, _ . -');
  const kind = (f.get('kind')?.oneOf(['host', 'router', 'switch'] as const) ?? 'host') as NodeKind;
  const forwarding = f.get('forwarding')?.bool() ?? kind === 'router';
  const node = new Node(name, kind, forwarding);
  let nextIfindex = 2; // 1 is the loopback
  for (const nicAt of f.get('interfaces')!.list()) {
    const n = nicAt.map(NIC_KEYS, ['name']);
    const nicName = n.get('name')!.string();
    if (node.nicByName(nicName)) throw n.get('name')!.fail(`interface ${nicName} is defined twice on ${name}`);
    const ifindex = n.get('ifindex')?.int(2, 2 ** 31 - 1) ?? nextIfindex;
    if (node.nicByIfindex(ifindex)) throw nicAt.fail(`ifindex ${ifindex} is taken on ${name}`);
    nextIfindex = Math.max(nextIfindex, ifindex) + 1;
    const macAt = n.get('mac');
    const mac = macAt ? parseMac(macAt.string()) : defaultMac(node, ifindex);
    if (!mac) throw macAt!.fail(`"${macAt!.string()}" is not a MAC address (02:00:00:00:00:01)`);
    const addresses = [...readCidrs(n.get('ipv4'), 4), ...readCidrs(n.get('ipv6'), 6)];
    const mtu = n.get('mtu')?.int(68, 65535) ?? 1500;
    const rxQueues = n.get('rx_queues')?.int(1, 256) ?? cpus;
    const nic = new VirtualNic(node, nicName, ifindex, mac, addresses, mtu, rxQueues);
    nic.host = readHostInterface(n.get('live'));
    node.nics.push(nic);
  }
  return node;
}

/** `live: IFACE`: a host interface name as Linux takes it (1 to 15 characters, no / or space). */
function readHostInterface(at: Cursor | undefined): string | undefined {
  if (!at) return undefined;
  const name = at.string();
  if (!/^[^\s/:]{1,15}$/.test(name)) throw at.fail(`"${name}" is not a host interface name (1 to 15 characters, no /, : or space)`);
  return name;
}

/** A locally administered MAC from the node's name and the ifindex, stable run to run. */
function defaultMac(node: Node, ifindex: number): Uint8Array {
  let h = 0x811c9dc5;
  for (const c of node.name) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193);
  return Uint8Array.of(0x02, (h >>> 24) & 0xff, (h >>> 16) & 0xff, (h >>> 8) & 0xff, h & 0xff, ifindex & 0xff);
}

function readCidrs(at: Cursor | undefined, family: 4 | 6): Cidr[] {
  if (!at) return [];
  return at.list().map((item) => {
    const cidr = parseCidr(item.string());
    if (!cidr || cidr.family !== family) throw item.fail(`"${item.string()}" is not an IPv${family} address with a prefix length (${family === 4 ? '192.0.2.1/24' : '2001:db8::1/64'})`);
    return cidr;
  });
}

function nicOf(node: Node, at: Cursor): VirtualNic {
  const name = at.string();
  const nic = node.nicByName(name);
  if (!nic) throw at.fail(`${node.name} has no interface ${name} (it has: ${node.nics.map((n) => n.name).join(', ')})`);
  return nic;
}

function readRoutesAndNeighbours(at: Cursor, node: Node): void {
  const f = at.map(NODE_KEYS, ['name', 'interfaces']);
  for (const r of f.get('routes')?.list() ?? []) {
    const rf = r.map(['to', 'via', 'dev', 'metric', 'type'], ['to']);
    const toText = rf.get('to')!.string();
    const via = rf.get('via') ? parseIp(rf.get('via')!.string()) : undefined;
    if (rf.get('via') && !via) throw rf.get('via')!.fail(`"${rf.get('via')!.string()}" is not an IP address`);
    const family: 4 | 6 = toText === 'default' ? (via?.family ?? 4) : (parseCidr(toText)?.family ?? 4);
    const to = toText === 'default' ? { family, address: new Uint8Array(family === 4 ? 4 : 16), prefixLength: 0, text: toText } : parseCidr(toText);
    if (!to) throw rf.get('to')!.fail(`"${toText}" is not a CIDR (10.0.0.0/8) or "default"`);
    if (via && via.family !== to.family) throw rf.get('via')!.fail('the gateway and the destination are of different families');
    const type = rf.get('type')?.oneOf(['unicast', 'blackhole', 'unreachable', 'prohibit'] as const) ?? 'unicast';
    let nic = rf.get('dev') ? nicOf(node, rf.get('dev')!) : undefined;
    if (type === 'unicast' && !nic) {
      // Without `dev`, the interface whose subnet holds the gateway.
      nic = via ? node.nics.find((n) => n.addresses.some((a) => a.family === via.family && prefixCovers(a, via.bytes))) : undefined;
      if (!nic) throw r.fail('a unicast route needs `dev`, or a `via` inside one of the node\'s subnets');
    }
    node.routes.push({
      family: to.family, prefix: to.address, prefixLength: to.prefixLength, type, nic, gateway: via?.bytes,
      metric: rf.get('metric')?.int(0, 2 ** 32 - 1) ?? 0,
    });
  }
  for (const n of f.get('neighbours')?.list() ?? []) {
    const nf = n.map(['ip', 'mac', 'dev'], ['ip', 'mac', 'dev']);
    const ip = parseIp(nf.get('ip')!.string());
    if (!ip) throw nf.get('ip')!.fail(`"${nf.get('ip')!.string()}" is not an IP address`);
    const mac = parseMac(nf.get('mac')!.string());
    if (!mac) throw nf.get('mac')!.fail(`"${nf.get('mac')!.string()}" is not a MAC address`);
    node.addNeighbour(nicOf(node, nf.get('dev')!), ip.bytes, mac);
  }
}

function prefixCovers(cidr: Cidr, address: Uint8Array): boolean {
  const bits = cidr.prefixLength;
  for (let i = 0; i < bits; i++) {
    const mask = 0x80 >> (i & 7);
    if ((cidr.address[i >> 3] & mask) !== (address[i >> 3] & mask)) return false;
  }
  return true;
}

function nicById(network: Network, at: Cursor): VirtualNic {
  const id = at.string();
  const [nodeName, nicName] = id.split('/');
  const node = network.nodes.find((n) => n.name === nodeName);
  if (!node || nicName === undefined) throw at.fail(`"${id}" is not node/interface (nodes: ${network.nodes.map((n) => n.name).join(', ')})`);
  const nic = node.nicByName(nicName);
  if (!nic) throw at.fail(`${node.name} has no interface ${nicName} (it has: ${node.nics.map((n) => n.name).join(', ')})`);
  return nic;
}

function readLink(at: Cursor, network: Network): void {
  const ends = at.list();
  if (ends.length !== 2) throw at.fail('a link is a pair: [node/iface, node/iface]');
  const [a, b] = ends.map((e) => nicById(network, e));
  if (a === b) throw at.fail('a link needs two different interfaces');
  for (const [nic, end] of [[a, ends[0]], [b, ends[1]]] as const) {
    if (nic.peer) throw end.fail(`${nic.id} is already linked to ${nic.peer.id}`);
    if (nic.host) throw end.fail(`${nic.id} is live on host interface ${nic.host}: its wire is that interface, it takes no link`);
  }
  a.peer = b;
  b.peer = a;
}

// ---- programs ----------------------------------------------------------------------------

function readPrograms(at: Cursor | undefined, dir: string, runtime: Runtime, load: LoadOptions | undefined): { programs: Map<string, Program>; collections: Map<string, Collection> } {
  const entries = (at?.list() ?? []).map((p) => ({ at: p, f: p.map(['name', 'object', 'program', 'globals', 'maps'], ['name', 'object', 'program']) }));
  // Specs per object file, edited by every entry that names the object, then loaded once.
  const specs = new Map<string, CollectionSpec>();
  for (const { f } of entries) {
    const objectAt = f.get('object')!;
    const object = path.resolve(dir, objectAt.string());
    if (!specs.has(object)) specs.set(object, loadSpec(objectAt, object));
    const spec = specs.get(object)!;
    for (const [name, value] of f.get('globals')?.entries() ?? []) {
      const js = value.toJS();
      if (typeof js !== 'number' && typeof js !== 'bigint') throw value.fail('a global is set to an integer');
      try {
        setGlobal(spec, name, BigInt(js));
      } catch (err) {
        throw value.fail((err as Error).message);
      }
    }
  }
  const collections = new Map<string, Collection>();
  for (const [object, spec] of specs) {
    const entry = entries.find((e) => path.resolve(dir, e.f.get('object')!.string()) === object)!;
    try {
      collections.set(object, Collection.load(runtime, spec, load));
    } catch (err) {
      throw entry.f.get('object')!.fail((err as Error).message);
    }
  }
  const programs = new Map<string, Program>();
  for (const { f } of entries) {
    const name = f.get('name')!.string();
    if (programs.has(name)) throw f.get('name')!.fail(`program ${name} is defined twice`);
    const collection = collections.get(path.resolve(dir, f.get('object')!.string()))!;
    let program: Program;
    try {
      program = collection.program(f.get('program')!.string());
    } catch (err) {
      const failure = f.get('program')!.fail((err as Error).message);
      if (err instanceof XdplabError) failure.explanation = err.explanation; // a verifier refusal's why
      throw failure;
    }
    programs.set(name, program);
  }
  // Map entries once every program is known: a devmap or cpumap entry may name one.
  const programByName = (name: string): Program | undefined => programs.get(name);
  for (const { f } of entries) {
    const collection = collections.get(path.resolve(dir, f.get('object')!.string()))!;
    for (const [mapName, entriesAt] of f.get('maps')?.entries() ?? []) {
      const map = collection.maps.get(mapName);
      if (!map) throw entriesAt.fail(`${f.get('object')!.string()} has no map ${mapName} (it has: ${[...collection.maps.keys()].join(', ')})`);
      loadMapEntries(map, entriesAt, collection.spec.btf?.btf, programByName);
    }
  }
  return { programs, collections };
}

function loadSpec(at: Cursor, object: string): CollectionSpec {
  let bytes: Uint8Array;
  try {
    bytes = readObjectFile(object);
  } catch (err) {
    throw at.fail((err as Error).message);
  }
  try {
    return loadCollectionSpec(bytes, object);
  } catch (err) {
    throw at.fail((err as Error).message);
  }
}

function readAttachment(at: Cursor, network: Network, programs: Map<string, Program>, runtime: Runtime, load: LoadOptions | undefined): void {
  const f = at.map(['program', 'filter', 'action', 'interface', 'hook', 'order'], ['interface', 'hook']);
  const hook = f.get('hook')!.oneOf(HOOKS) as HookName;
  const { program, name } = f.get('filter') ? filterProgram(f, hook, runtime, load) : namedProgram(f, programs);
  const nic = nicById(network, f.get('interface')!);
  const want = hook === 'xdp' ? 'xdp' : 'sched_cls';
  const isXdp = program.type === 6;
  if ((hook === 'xdp') !== isXdp) throw f.get('hook')!.fail(`${name} is not a${want === 'xdp' ? 'n XDP' : ' TC'} program (section ${program.spec.sectionName})`);
  if (hook === 'xdp' && nic.xdp) throw f.get('hook')!.fail(`${nic.id} already has XDP program ${nic.xdp.name}`);
  nic.attach(hook, { program, name, order: f.get('order')?.int(-1000, 1000) ?? 0 });
}

function namedProgram(f: Map<string, Cursor>, programs: Map<string, Program>): { program: Program; name: string } {
  if (!f.get('program')) throw f.get('interface')!.fail('an attachment needs a program (a name from programs) or a filter (a pcap-filter expression)');
  if (f.get('action')) throw f.get('action')!.fail('action goes with filter: a program decides for itself');
  const name = f.get('program')!.string();
  const program = programs.get(name);
  if (!program) throw f.get('program')!.fail(`no program ${name} in programs (${[...programs.keys()].join(', ') || 'none'})`);
  return { program, name };
}

/** `filter: EXPR` (and `action: pass|drop`): the expression compiled for the hook (src/filter/), loaded on its own. */
function filterProgram(f: Map<string, Cursor>, hook: HookName, runtime: Runtime, load: LoadOptions | undefined): { program: Program; name: string } {
  const at = f.get('filter')!;
  if (f.get('program')) throw f.get('program')!.fail('give either program or filter, not both');
  const expr = at.string();
  const action = (f.get('action')?.oneOf(['pass', 'drop'] as const) ?? 'pass') as FilterAction;
  try {
    const compiled = compileFilter(expr, { hook: hook === 'xdp' ? 'xdp' : 'tc', action });
    const collection = Collection.load(runtime, compiled.spec(), load);
    return { program: collection.program(compiled.program), name: `filter '${expr}'` };
  } catch (err) {
    throw at.fail((err as Error).message);
  }
}

function readTraffic(at: Cursor, network: Network, dir: string): TrafficSource {
  const f = at.map(['pcap', 'into', 'timing', 'expect'], ['pcap', 'into']);
  const timingAt = f.get('timing');
  let timing: Timing = { kind: 'asap' };
  if (timingAt?.isMapping()) {
    const t = timingAt.map(['multiplier'], ['multiplier']);
    const m = t.get('multiplier')!.toJS();
    if (typeof m !== 'number' || !(m > 0)) throw t.get('multiplier')!.fail('expected a number > 0');
    timing = { kind: 'realtime', multiplier: m };
  } else if (timingAt) {
    timing = timingAt.oneOf(['asap', 'realtime'] as const) === 'asap' ? { kind: 'asap' } : { kind: 'realtime', multiplier: 1 };
  }
  const pcap = path.resolve(dir, f.get('pcap')!.string());
  // A capture that is not there is reported here, at its line, not when the run reaches it.
  try {
    regularInput(pcap, statSync(pcap));
  } catch (err) {
    throw f.get('pcap')!.fail((err instanceof XdplabError ? err : inputError(pcap, err)).message);
  }
  const expect = f.get('expect')?.present ? readTrafficExpect(f.get('expect')!, network) : [];
  return { pcap, into: nicById(network, f.get('into')!), timing, expect };
}
