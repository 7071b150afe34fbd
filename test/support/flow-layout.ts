/**
 * Where the Node-RED editor draws a flow's nodes, estimated without a browser, so a test can
 * check that the example flows are laid out cleanly (no two nodes overlap, no wire runs
 * through a third node). A node is its box plus what is drawn around it: a button beside it,
 * the status line under it, and the heatmap node's preview image.
 *
 * The editor's rule (@node-red/editor-client, view.js): a node is centred on (x, y); its width
 * is max(100, 20 * ceil((label width + 50 + 7 if it has an input) / 20)) px and its height
 * max(30, 15 * outputs) px for a one-line label. The label is measured in the browser at 14px;
 * here its width is the sum of Helvetica's advance widths (the font metrics Arial shares) at
 * 14px times SAFETY, because the editor falls back to wider sans fonts (DejaVu Sans on Linux
 * without Arial): the estimate is meant to be an upper bound, and the dashboard browser test
 * checks it against the real boxes in Chromium.
 */
import type { FlowNode } from './example-flows';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Helvetica advance widths, 1/1000 em, for the printable ASCII characters 32..126. */
const HELVETICA = [
  278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556, 556, 556,
  556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, 1015, 667, 667, 722, 722, 667, 611, 778, 722, 278,
  500, 667, 556, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469,
  556, 333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556, 556, 556, 333, 500,
  278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584,
];
/** any other character (×, →, Japanese) counted as one em: wide, so the bound holds */
const OTHER = 1000;
const FONT_PX = 14;
/** DejaVu Sans, the widest common fallback, runs up to ~15% wider than Helvetica */
export const SAFETY = 1.15;

export function labelWidth(label: string): number {
  let units = 0;
  for (const ch of label) {
    const c = ch.codePointAt(0)!;
    units += c >= 32 && c <= 126 ? HELVETICA[c - 32] : OTHER;
  }
  return (units / 1000) * FONT_PX * SAFETY;
}

/** Types without an input port (the editor adds 7px for an input). */
const NO_INPUT = new Set([
  'comment',
  'inject',
  'catch',
  'status',
  'complete',
  'link in',
  'http in',
  'mqtt in',
  'ui-button',
]);

const locale = (type: string): Record<string, string> => {
  const file = path.resolve(__dirname, '../../../locales/en-US', `${type}.json`);
  return JSON.parse(fs.readFileSync(file, 'utf8'))[type];
};

/** The label the editor shows: the name, else the type's default label (throws for one it does not know). */
export function nodeLabel(n: FlowNode): string {
  if (typeof n.name === 'string' && n.name) return n.name;
  switch (n.type) {
    case 'padim-fit':
    case 'padim-score':
    case 'padim-heatmap':
    case 'padim-image-source':
    case 'padim-archive':
    case 'padim-review':
      return locale(n.type).paletteLabel;
    case 'padim-threshold': {
      const base = locale(n.type).paletteLabel;
      if (n.mode === 'fixed') return `${base} ${n.threshold}`;
      if (n.mode === 'normalized') return `${base} ×${n.limit}`;
      if (n.mode === 'rate') return `${base} ${n.rate}%`;
      return base;
    }
    case 'http in':
      return `[${n.method}] ${n.url}`;
    case 'http response':
      return n.statusCode ? `http (${n.statusCode})` : 'http';
  }
  throw new Error(`no default label known for an unnamed ${n.type} node (${n.id}): give it a name`);
}

export interface Box {
  id: string;
  label: string;
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** The node's box in the editor, estimated (see the file comment). */
export function nodeBox(n: FlowNode): Box {
  const label = nodeLabel(n);
  const input = NO_INPUT.has(n.type) ? 0 : 7;
  const w = Math.max(100, 20 * Math.ceil((labelWidth(label) + 50 + input) / 20));
  const outputs = n.wires?.length ?? 0;
  const h = Math.max(30, 15 * outputs);
  const x = n.x as number;
  const y = n.y as number;
  return { id: n.id, label, x0: x - w / 2, y0: y - h / 2, x1: x + w / 2, y1: y + h / 2 };
}

/** Types drawn with a button on the left (inject's, the heatmap preview's switch) or the right (debug's). */
const BUTTON_LEFT = new Set(['inject', 'padim-heatmap']);
const BUTTON_RIGHT = new Set(['debug']);
/** The button's reach beyond the box: at -25 px (left) or w - 6 px with 32 px width (right). */
const BUTTON_PX = { left: 25, right: 26 };
/** The status line under a node (dot and text), from the box's bottom edge. */
const STATUS_PX = 20;
/** The heatmap preview's top, below the node's top edge (nodes/padim-heatmap.html, PREVIEW_Y). */
const PREVIEW_Y = 48;

/** Whether the node shows a status line (text width not estimated: it changes at run time). */
function showsStatus(n: FlowNode): boolean {
  if (n.type.startsWith('padim-')) return true;
  if (n.type === 'debug') return n.tostatus === true;
  if (n.type === 'function') return typeof n.func === 'string' && n.func.includes('node.status');
  return ['mqtt in', 'mqtt out', 'OpcUa-Client'].includes(n.type);
}

/**
 * Everything the editor draws for the node: its box, its button, its status line, and for a
 * heatmap node with the preview on, the preview image (previewWidth wide; taken as square, as
 * the demo's images are).
 */
export function footprint(n: FlowNode): Box {
  const b = { ...nodeBox(n) };
  const x0 = b.x0;
  if (BUTTON_LEFT.has(n.type)) b.x0 -= BUTTON_PX.left;
  if (BUTTON_RIGHT.has(n.type)) b.x1 += BUTTON_PX.right;
  if (showsStatus(n)) b.y1 += STATUS_PX;
  if (n.type === 'padim-heatmap' && (n.preview === true || n.preview === 'true')) {
    const width = Number(n.previewWidth ?? 160);
    b.y1 = Math.max(b.y1, b.y0 + PREVIEW_Y + width);
    b.x1 = Math.max(b.x1, x0 + width);
  }
  return b;
}

/** Nodes drawn on a tab (those with a position). */
export function drawnNodes(flow: FlowNode[]): FlowNode[] {
  return flow.filter((n) => typeof n.x === 'number' && typeof n.y === 'number' && n.z);
}

/** Pairs of footprints on the same tab closer than `gap` px across or down (0: touching counts as clear). */
export function overlaps(flow: FlowNode[], gap: { x: number; y: number }): [Box, Box][] {
  const nodes = drawnNodes(flow);
  const found: [Box, Box][] = [];
  for (let i = 0; i < nodes.length; i++)
    for (let j = i + 1; j < nodes.length; j++) {
      if (nodes[i].z !== nodes[j].z) continue;
      const a = footprint(nodes[i]);
      const b = footprint(nodes[j]);
      if (a.x0 < b.x1 + gap.x && b.x0 < a.x1 + gap.x && a.y0 < b.y1 + gap.y && b.y0 < a.y1 + gap.y)
        found.push([a, b]);
    }
  return found;
}

/**
 * Wires whose curve passes through a third node's footprint (its box, button, status, preview). The editor draws a wire from an output
 * port (right edge; ports 13px apart, centred) to the input port (left edge) as a cubic Bézier
 * with its control points 75px right of the start and 75px left of the end (view.js,
 * lineCurveScale 0.75 x node_width 100); the curve is sampled at 64 points. Wires back to a
 * node further left loop around in the editor and are not checked.
 */
export function wiresThroughNodes(flow: FlowNode[]): { from: string; to: string; through: string }[] {
  const nodes = drawnNodes(flow);
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const found: { from: string; to: string; through: string }[] = [];
  for (const n of nodes) {
    const a = nodeBox(n);
    const outs = n.wires ?? [];
    outs.forEach((targets, port) => {
      const sy = (a.y0 + a.y1) / 2 + (port - (outs.length - 1) / 2) * 13;
      for (const id of targets) {
        const t = byId.get(id);
        if (!t || t.z !== n.z) continue;
        const b = nodeBox(t);
        const [sx, ex, ey] = [a.x1 + 5, b.x0 - 5, (b.y0 + b.y1) / 2];
        // a wire back to a node on the left (a feedback loop) is drawn around the nodes: not checked
        if (ex < sx) continue;
        for (const other of nodes) {
          if (other === n || other === t || other.z !== n.z) continue;
          const o = footprint(other);
          for (let k = 1; k < 64; k++) {
            const s = k / 64;
            const u = 1 - s;
            const x = u ** 3 * sx + 3 * u * u * s * (sx + 75) + 3 * u * s * s * (ex - 75) + s ** 3 * ex;
            const y = u ** 3 * sy + 3 * u * u * s * sy + 3 * u * s * s * ey + s ** 3 * ey;
            if (x > o.x0 && x < o.x1 && y > o.y0 && y < o.y1) {
              found.push({ from: a.label, to: b.label, through: o.label });
              break;
            }
          }
        }
      }
    });
  }
  return found;
}
