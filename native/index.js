'use strict';
// Loads the compiled addon. Built by node-gyp during `npm install` (see binding.gyp).
const path = require('node:path');
let binding;
try {
  binding = require(path.join(__dirname, 'build', 'Release', 'nestbox_native.node'));
} catch (err) {
  const e = new Error(
    `Nestbox's native addon is not built (${err.message}). ` +
      'Fix: run `npm rebuild @nestbox/native` (needs python3, make and a C++ compiler).',
  );
  e.code = 'NATIVE_MISSING';
  throw e;
}
module.exports = binding;
