/**
 * The example flows are laid out cleanly in the editor: no two nodes overlap, counting their
 * buttons, status lines and the heatmap preview (with 50px left free between nodes side by
 * side, room for a wire, and 10px above and below), and no wire runs through a third node.
 * Boxes are estimated the way the editor sizes them (test/support/flow-layout.ts: the label's
 * width at 14px, an upper bound, + 50px for the icon and ports, + 7px for an input); the
 * dashboard browser test compares the estimate with the boxes Chromium draws.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { EXAMPLES, readExample } from '../support/example-flows';
import { drawnNodes, labelWidth, nodeBox, overlaps, wiresThroughNodes } from '../support/flow-layout';

describe('example flow layout', () => {
  const files = fs
    .readdirSync(EXAMPLES)
    .filter((f) => f.endsWith('.json'))
    .sort();

  it('the box estimate follows the editor rule', () => {
    // "threshold" is 57.6px in Helvetica 14px: 57.6 * 1.15 + 57 rounds up to 140
    assert.ok(Math.abs(labelWidth('threshold') / 1.15 - 57.6) < 0.1, `${labelWidth('threshold')}`);
    const box = nodeBox({ id: 't', type: 'padim-threshold', z: 'tab', x: 300, y: 100, wires: [[], []] });
    assert.deepEqual([box.x0, box.x1, box.y0, box.y1], [230, 370, 85, 115]);
    // no input: 7px less, a short label still 100px wide
    const inject = nodeBox({ id: 'i', type: 'inject', name: 'go', z: 'tab', x: 100, y: 100, wires: [[]] });
    assert.equal(inject.x1 - inject.x0, 100);
  });

  it("counts buttons, status lines and the heatmap preview: example 2's old layout is caught", () => {
    // example 2 before it was laid out again: the heatmap node's preview switch sat on the
    // threshold's output ports
    const tab = { z: 'tab' };
    const old = [
      { id: 't', type: 'padim-threshold', ...tab, x: 650, y: 100, wires: [['h'], ['h']] },
      {
        id: 'h',
        type: 'padim-heatmap',
        preview: true,
        previewWidth: 160,
        ...tab,
        x: 850,
        y: 100,
        wires: [[]],
      },
      { id: 'c', type: 'function', name: 'count OK/NG', func: '', ...tab, x: 850, y: 280, wires: [[]] },
    ];
    const clash = overlaps(old, { x: 50, y: 10 }).map(([a, b]) => `${a.label} / ${b.label}`);
    assert.deepEqual(clash, ['threshold / heatmap render', 'heatmap render / count OK/NG']);
  });

  for (const file of files) {
    it(`${file}: no two nodes overlap, no wire runs through a node`, () => {
      const flow = readExample(file);
      assert.ok(drawnNodes(flow).length >= 3, `${file} has nodes on a tab`);
      const clash = overlaps(flow, { x: 50, y: 10 }).map(([a, b]) => `"${a.label}" and "${b.label}"`);
      assert.deepEqual(clash, [], `${file}: boxes overlap`);
      const through = wiresThroughNodes(flow).map((w) => `${w.from} -> ${w.to} through "${w.through}"`);
      assert.deepEqual(through, [], `${file}: wires run through nodes`);
    });
  }
});
