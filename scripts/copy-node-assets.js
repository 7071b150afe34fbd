#!/usr/bin/env node
/**
 * Places the Node-RED editor files beside the compiled nodes: Node-RED looks for a node's
 * `.html` at its `.js` path, and for `icons/` and `locales/` in the `.js` file's folder
 * (see DESIGN.md section 4). Sources stay where people edit them (nodes/*.html, icons/,
 * locales/ at the top); this copies them into dist/nodes/ after `tsc`.
 */
'use strict';

const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const target = path.join(root, 'dist', 'nodes');

function copyDir(from, to) {
  fs.rmSync(to, { recursive: true, force: true });
  fs.cpSync(from, to, { recursive: true });
}

fs.mkdirSync(target, { recursive: true });
let count = 0;
for (const name of fs.readdirSync(path.join(root, 'nodes'))) {
  if (!name.endsWith('.html')) continue;
  fs.copyFileSync(path.join(root, 'nodes', name), path.join(target, name));
  count++;
}
copyDir(path.join(root, 'icons'), path.join(target, 'icons'));
copyDir(path.join(root, 'locales'), path.join(target, 'locales'));
console.log(
  `copy-node-assets: ${count} editor files, icons/ and locales/ -> ${path.relative(root, target)}/`,
);
