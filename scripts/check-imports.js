#!/usr/bin/env node
// Import-direction and cycle check for src/ and nodes/ (run by `npm run lint`).
//
// Every import counts, `import type` included: a type-only cycle is still two modules that cannot
// be read apart. The allowed directions are written down in ARCHITECTURE.md:
//   nodes/ -> src/node-support/ -> core (the rest of src/); src/cli/ and src/bench/ sit beside
//   node-support; the core never imports up, and nothing in src/ imports test/ or bench/.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const ts = require('typescript');

const ROOT = path.resolve(__dirname, '..');
const SCANNED = ['src', 'nodes'];

/** Folders above the core: a core module may import none of them. */
const ABOVE_CORE = ['nodes', 'src/node-support', 'src/cli', 'src/bench', 'test', 'bench'];
/** What each upper layer may not import (besides the rules for the core). */
const FORBIDDEN = {
  'src/node-support': ['nodes', 'src/cli', 'src/bench', 'test', 'bench'],
  'src/cli': ['nodes', 'src/node-support', 'test', 'bench'],
  'src/bench': ['nodes', 'src/node-support', 'src/cli', 'test', 'bench'],
  nodes: ['src/cli', 'src/bench', 'test', 'bench'],
};

function listSources(dir) {
  const out = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listSources(full));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) out.push(full);
  }
  return out;
}

function resolveImport(fromFile, spec) {
  if (!spec.startsWith('.')) return null; // a package
  const base = path.resolve(path.dirname(fromFile), spec);
  for (const candidate of [base + '.ts', path.join(base, 'index.ts'), base.replace(/\.js$/, '.ts')]) {
    if (fs.existsSync(candidate)) return candidate;
  }
  return null;
}

const rel = (file) => path.relative(ROOT, file).split(path.sep).join('/');
const within = (file, folder) => file === folder || file.startsWith(folder + '/');
const layerOf = (file) => Object.keys(FORBIDDEN).find((folder) => within(file, folder)) ?? 'core';

const files = SCANNED.flatMap((dir) => listSources(path.join(ROOT, dir)));
const graph = new Map();
const problems = [];
for (const file of files) {
  const info = ts.preProcessFile(fs.readFileSync(file, 'utf8'), true, true);
  const targets = [];
  for (const ref of info.importedFiles) {
    const target = resolveImport(file, ref.fileName);
    if (!target) continue;
    targets.push(target);
    const from = rel(file);
    const to = rel(target);
    const layer = layerOf(from);
    const banned = layer === 'core' ? ABOVE_CORE : FORBIDDEN[layer];
    const hit = banned.find((folder) => within(to, folder));
    if (hit)
      problems.push(`${from} imports ${to}: ${layer === 'core' ? 'the core' : layer} may not import ${hit}/`);
  }
  graph.set(file, targets);
}

// Tarjan's strongly connected components: any component with more than one module is a cycle.
let index = 0;
const stack = [];
const state = new Map();
function visit(node) {
  const s = { index, low: index, onStack: true };
  index += 1;
  state.set(node, s);
  stack.push(node);
  for (const next of graph.get(node) ?? []) {
    const t = state.get(next);
    if (!t) {
      visit(next);
      s.low = Math.min(s.low, state.get(next).low);
    } else if (t.onStack) s.low = Math.min(s.low, t.index);
  }
  if (s.low === s.index) {
    const component = [];
    let member;
    do {
      member = stack.pop();
      state.get(member).onStack = false;
      component.push(member);
    } while (member !== node);
    if (component.length > 1) problems.push(`import cycle: ${component.map(rel).sort().join(' <-> ')}`);
    else if ((graph.get(node) ?? []).includes(node)) problems.push(`${rel(node)} imports itself`);
  }
}
for (const file of files) if (!state.has(file)) visit(file);

if (problems.length > 0) {
  console.error(`check-imports: ${problems.length} problem(s)\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log(`check-imports: ${files.length} modules, no cycles, every import points down`);
