/**
 * The topology drawn as inline SVG: each node a box listing its interfaces and the programs
 * at their hooks, wires as curves between interfaces, captures as arrows into theirs. Nodes
 * are laid out in columns by their distance from the most connected node, so a router sits
 * left of the hosts it serves. Every name is escaped (escape.ts).
 */
import { escapeHtml } from './escape.js';
import type { TopologyPicture } from './types.js';

type PictureNode = TopologyPicture['nodes'][number];
type PictureNic = PictureNode['nics'][number];

const BOX_WIDTH = 250;
const COLUMN_GAP = 180;
const ROW_GAP = 30;
const HEADER = 30;
const NIC_ROW = 22;
const HOOK_ROW = 16;
/** Room on the left for the captures' labels. */
const LEFT = 180;
const TOP = 20;
const MAX_LABEL = 36;

interface Placed {
  node: PictureNode;
  x: number;
  y: number;
  height: number;
  column: number;
  /** Interface id → the y of its row's middle. */
  nicY: Map<string, number>;
}

const clip = (text: string, n = MAX_LABEL): string => (text.length > n ? `${text.slice(0, n - 1)}…` : text);
const nicHeight = (nic: PictureNic): number => NIC_ROW + nic.hooks.reduce((n, h) => n + h.programs.length, 0) * HOOK_ROW;
const boxHeight = (node: PictureNode): number => HEADER + node.nics.reduce((n, nic) => n + nicHeight(nic), 0) + 8;

/** Each node's column: its distance (in wires) from the most connected node of its part of the network. */
function columns(picture: TopologyPicture): number[] {
  const nodeOf = new Map<string, number>();
  picture.nodes.forEach((node, i) => node.nics.forEach((nic) => nodeOf.set(nic.id, i)));
  const next = picture.nodes.map(() => new Set<number>());
  for (const [a, b] of picture.links) {
    const [i, j] = [nodeOf.get(a), nodeOf.get(b)];
    if (i !== undefined && j !== undefined && i !== j) {
      next[i].add(j);
      next[j].add(i);
    }
  }
  const column = picture.nodes.map(() => -1);
  const byDegree = picture.nodes.map((_, i) => i).sort((a, b) => next[b].size - next[a].size || a - b);
  for (const root of byDegree) {
    if (column[root] >= 0) continue;
    column[root] = 0;
    for (const queue = [root]; queue.length;) {
      const i = queue.shift()!;
      for (const j of next[i]) {
        if (column[j] >= 0) continue;
        column[j] = column[i] + 1;
        queue.push(j);
      }
    }
  }
  return column;
}

function place(picture: TopologyPicture): Placed[] {
  const column = columns(picture);
  const bottom = new Map<number, number>();
  return picture.nodes.map((node, i) => {
    const c = column[i];
    const y = bottom.get(c) ?? TOP;
    const height = boxHeight(node);
    bottom.set(c, y + height + ROW_GAP);
    const x = LEFT + c * (BOX_WIDTH + COLUMN_GAP);
    const nicY = new Map<string, number>();
    let at = y + HEADER;
    for (const nic of node.nics) {
      nicY.set(nic.id, at + NIC_ROW / 2);
      at += nicHeight(nic);
    }
    return { node, x, y, height, column: c, nicY };
  });
}

function nodeSvg(p: Placed): string {
  const parts = [
    `<g class="node" data-node="${escapeHtml(p.node.name)}">`,
    `<title>${escapeHtml(`${p.node.name} (${p.node.kind})`)}</title>`,
    `<rect class="node-box node-${escapeHtml(p.node.kind)}" x="${p.x}" y="${p.y}" width="${BOX_WIDTH}" height="${p.height}" rx="8"/>`,
    `<text class="node-name" x="${p.x + 10}" y="${p.y + 20}">${escapeHtml(clip(p.node.name, 24))}</text>`,
    `<text class="node-kind" x="${p.x + BOX_WIDTH - 10}" y="${p.y + 20}" text-anchor="end">${escapeHtml(p.node.kind)}</text>`,
  ];
  for (const nic of p.node.nics) {
    const y = p.nicY.get(nic.id)! - NIC_ROW / 2;
    const name = nic.host ? `${nic.name} (live on ${nic.host})` : nic.name;
    parts.push(`<g class="nic" data-nic="${escapeHtml(nic.id)}">`,
      `<rect class="nic-box" x="${p.x + 6}" y="${y + 2}" width="${BOX_WIDTH - 12}" height="${nicHeight(nic) - 4}" rx="4"/>`,
      `<text class="nic-name" x="${p.x + 14}" y="${y + 16}">${escapeHtml(clip(name))}</text>`);
    let line = y + NIC_ROW;
    for (const hook of nic.hooks) {
      for (const program of hook.programs) {
        parts.push(`<text class="hook hook-${escapeHtml(hook.hook)}" x="${p.x + 24}" y="${line + 11}">${escapeHtml(clip(`${hook.hook}: ${program}`, MAX_LABEL - 2))}<title>${escapeHtml(`${hook.hook}: ${program}`)}</title></text>`);
        line += HOOK_ROW;
      }
    }
    parts.push('</g>');
  }
  parts.push('</g>');
  return parts.join('');
}

/** A wire: from the side of one box facing the other, a curve; two boxes of a column join on their right. */
function linkSvg(a: string, b: string, at: Map<string, Placed>): string {
  let [pa, pb] = [at.get(a), at.get(b)];
  if (!pa || !pb) return '';
  if (pa.column > pb.column) [a, b, pa, pb] = [b, a, pb, pa];
  const [ya, yb] = [pa.nicY.get(a)!, pb.nicY.get(b)!];
  const same = pa.column === pb.column;
  const xa = pa.x + BOX_WIDTH;
  const xb = same ? pb.x + BOX_WIDTH : pb.x;
  const bend = same ? 60 + Math.abs(yb - ya) / 4 : (xb - xa) / 2;
  const d = `M ${xa} ${ya} C ${xa + bend} ${ya}, ${same ? xb + bend : xb - bend} ${yb}, ${xb} ${yb}`;
  return `<g class="link" data-link="${escapeHtml(`${a} ${b}`)}"><path d="${d}"/><title>${escapeHtml(`${a} — ${b}`)}</title></g>`;
}

/** A capture fed into an interface: an arrow into its row, the file named above the arrow. */
function trafficSvg(nic: string, pcap: string, at: Map<string, Placed>): string {
  const p = at.get(nic);
  if (!p) return '';
  const y = p.nicY.get(nic)!;
  const x = p.x;
  return `<g class="traffic"><path d="M ${x - 48} ${y} L ${x - 4} ${y}" marker-end="url(#arrow)"/>` +
    `<text x="${x - 6}" y="${y - 6}" text-anchor="end">${escapeHtml(clip(pcap, 24))}</text><title>${escapeHtml(`${pcap} → ${nic}`)}</title></g>`;
}

/** The picture as an `<svg>` element. */
export function topologySvg(picture: TopologyPicture): string {
  const placed = place(picture);
  const at = new Map<string, Placed>();
  for (const p of placed) for (const id of p.nicY.keys()) at.set(id, p);
  const width = placed.reduce((w, p) => Math.max(w, p.x + BOX_WIDTH), 0) + 120;
  const height = placed.reduce((h, p) => Math.max(h, p.y + p.height), 0) + TOP;
  return [
    `<svg class="topology" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="the network">`,
    '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M 0 0 L 10 5 L 0 10 z"/></marker></defs>',
    ...picture.links.map(([a, b]) => linkSvg(a, b, at)),
    ...placed.map(nodeSvg),
    ...picture.traffic.map((t) => trafficSvg(t.nic, t.pcap, at)),
    '</svg>',
  ].join('\n');
}
