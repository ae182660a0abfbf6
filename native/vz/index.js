'use strict';
// Loads the Virtualization.framework addon (macOS only; built by the `nestbox_vz` target of ../binding.gyp).
const path = require('node:path');
if (process.platform !== 'darwin') {
  const e = new Error('The Virtualization.framework addon exists only on macOS.');
  e.code = 'VZ_UNAVAILABLE';
  throw e;
}
let binding;
try {
  binding = require(path.join(__dirname, '..', 'build', 'Release', 'nestbox_vz.node'));
} catch (err) {
  const e = new Error(
    `Nestbox's Virtualization.framework addon is not built (${err.message}). ` +
      'Fix: run `npm rebuild @nestbox/native` on the Mac (needs Xcode command line tools).',
  );
  e.code = 'VZ_MISSING';
  throw e;
}
module.exports = binding;
