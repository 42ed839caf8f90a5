/**
 * Cursor: a position in a parsed YAML document, for validating it by hand with errors that
 * say where — `topology.yaml:12:7: nodes[0].interfaces[1].mtu: expected an integer 68..65535,
 * got "big"`. Unknown keys are errors too, pointing at the key.
 */
import { LineCounter, isMap, isScalar, isSeq, parseDocument, type Node as YamlNode, type Pair } from 'yaml';
import { XdplabError } from '../errors.js';

export interface Source {
  file: string;
  lines: LineCounter;
}

export function parseYaml(text: string, file: string): Cursor {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const source: Source = { file, lines };
  const first = doc.errors[0];
  if (first) {
    const at = lines.linePos(first.pos[0]);
    throw new XdplabError('BAD_INPUT', `${file}:${at.line}:${at.col}: ${first.message.split('\n')[0]}`);
  }
  return new Cursor(doc.contents as YamlNode | null, '', source);
}

export class Cursor {
  constructor(
    readonly node: YamlNode | null,
    readonly path: string,
    readonly source: Source,
    /** Where to point when the node is missing (the parent's position). */
    private readonly fallbackOffset = 0,
  ) {}

  get present(): boolean {
    return this.node !== null && this.node !== undefined && !(isScalar(this.node) && this.node.value === null);
  }

  private where(node: YamlNode | null = this.node): string {
    const offset = node?.range?.[0] ?? this.fallbackOffset;
    const at = this.source.lines.linePos(offset);
    return `${this.source.file}:${at.line}:${at.col}`;
  }

  fail(message: string, node: YamlNode | null = this.node): XdplabError {
    return new XdplabError('BAD_INPUT', `${this.where(node)}: ${this.path || 'the document'}: ${message}`);
  }

  private describe(): string {
    if (isScalar(this.node)) return JSON.stringify(this.node.value);
    if (isMap(this.node)) return 'a mapping';
    if (isSeq(this.node)) return 'a list';
    return 'nothing';
  }

  private child(node: YamlNode | null, path: string): Cursor {
    return new Cursor(node, path, this.source, this.node?.range?.[0] ?? this.fallbackOffset);
  }

  /** The mapping's keys → cursors; keys outside `allowed` are errors. `required` keys must exist. */
  map(allowed: readonly string[], required: readonly string[] = []): Map<string, Cursor> {
    if (!isMap(this.node)) throw this.fail(`expected a mapping with ${allowed.join(', ')}, got ${this.describe()}`);
    const out = new Map<string, Cursor>();
    for (const pair of this.node.items as Pair<YamlNode, YamlNode | null>[]) {
      const key = isScalar(pair.key) ? String(pair.key.value) : undefined;
      if (key === undefined || !allowed.includes(key)) {
        throw this.fail(`unknown key ${JSON.stringify(key ?? '?')} (expected one of: ${allowed.join(', ')})`, pair.key);
      }
      out.set(key, this.child(pair.value, this.path ? `${this.path}.${key}` : key));
    }
    for (const key of required) if (!out.has(key)) throw this.fail(`missing ${key}`);
    return out;
  }

  /** A mapping whose keys are names (map contents by map name): name → cursor. */
  entries(): Array<[string, Cursor]> {
    if (!isMap(this.node)) throw this.fail(`expected a mapping, got ${this.describe()}`);
    return (this.node.items as Pair<YamlNode, YamlNode | null>[]).map((pair) => {
      const key = isScalar(pair.key) ? String(pair.key.value) : '?';
      return [key, this.child(pair.value, `${this.path}.${key}`)];
    });
  }

  list(): Cursor[] {
    if (!this.present) return [];
    if (!isSeq(this.node)) throw this.fail(`expected a list, got ${this.describe()}`);
    return this.node.items.map((item, i) => this.child(item as YamlNode | null, `${this.path}[${i}]`));
  }

  isList(): boolean {
    return isSeq(this.node);
  }

  isMapping(): boolean {
    return isMap(this.node);
  }

  /** The scalar's value as parsed by YAML (string, number, boolean), or undefined. */
  scalar(): unknown {
    return isScalar(this.node) ? this.node.value : undefined;
  }

  string(): string {
    const v = this.scalar();
    if (typeof v !== 'string' && typeof v !== 'number') throw this.fail(`expected a string, got ${this.describe()}`);
    return String(v);
  }

  int(min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER): number {
    const v = this.scalar();
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      throw this.fail(`expected an integer ${min}..${max}, got ${this.describe()}`);
    }
    return v;
  }

  bool(): boolean {
    const v = this.scalar();
    if (typeof v !== 'boolean') throw this.fail(`expected true or false, got ${this.describe()}`);
    return v;
  }

  oneOf<T extends string>(choices: readonly T[]): T {
    const v = this.string();
    if (!(choices as readonly string[]).includes(v)) throw this.fail(`expected one of ${choices.join(', ')}, got ${JSON.stringify(v)}`);
    return v as T;
  }

  /** The node as plain JS data (for map values). */
  toJS(): unknown {
    return this.node && 'toJSON' in this.node ? (this.node as { toJSON(): unknown }).toJSON() : this.scalar();
  }
}
