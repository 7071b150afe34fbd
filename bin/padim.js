#!/usr/bin/env node
'use strict';
// Entry point of the `padim` command; the implementation is compiled TypeScript in dist/.
const { main } = require('../dist/src/cli/main.js');

// `padim score ... | head` closes the pipe early: that is not an error
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    console.error(`padim: internal error: ${err && err.stack ? err.stack : err}`);
    process.exitCode = 70;
  },
);
