// electron-builder `afterPack` hook: flips Electron's fuses in the packaged binary before it is signed.
// https://www.electronjs.org/docs/latest/tutorial/fuses
//   RunAsNode off                              ELECTRON_RUN_AS_NODE cannot turn the app into a plain Node
//   EnableCookieEncryption on                  the cookie store is encrypted with an OS-held key
//   EnableNodeOptionsEnvironmentVariable off   NODE_OPTIONS cannot inject code
//   EnableNodeCliInspectArguments off          --inspect cannot attach a debugger to the main process
//   EnableEmbeddedAsarIntegrityValidation on   app.asar must match the hash embedded at package time (macOS/Windows;
//                                              Electron does not support it on Linux, so it stays as shipped there)
//   OnlyLoadAppFromAsar on                     the app is loaded from app.asar only, never from a loose app/ folder
//   GrantFileProtocolExtraPrivileges off       file:// gets no special powers (the UI is served from app://)
'use strict';
const path = require('node:path');

/** electron-builder's Arch enum: ia32 0, x64 1, armv7l 2, arm64 3, universal 4. */
const ARCH_ARM64 = 3;
const ARCH_UNIVERSAL = 4;

/** The fuse settings for a platform (exported for the config test). */
function fuseConfig(FuseV1Options, FuseVersion, platform, arch) {
  return {
    version: FuseVersion.V1,
    // Flipping fuses invalidates an arm64 ad-hoc signature; electron-builder signs afterwards anyway.
    resetAdHocDarwinSignature: platform === 'darwin' && (arch === ARCH_ARM64 || arch === ARCH_UNIVERSAL),
    [FuseV1Options.RunAsNode]: false,
    [FuseV1Options.EnableCookieEncryption]: true,
    [FuseV1Options.EnableNodeOptionsEnvironmentVariable]: false,
    [FuseV1Options.EnableNodeCliInspectArguments]: false,
    ...(platform === 'darwin' || platform === 'win32' ? { [FuseV1Options.EnableEmbeddedAsarIntegrityValidation]: true } : {}),
    [FuseV1Options.OnlyLoadAppFromAsar]: true,
    [FuseV1Options.GrantFileProtocolExtraPrivileges]: false,
  };
}

/** The file holding the fuse wire: the .app bundle on macOS (the fuses library finds the framework), else the executable. */
function electronBinaryPath(context) {
  const platform = context.electronPlatformName;
  const info = context.packager.appInfo;
  if (platform === 'darwin' || platform === 'mas') return path.join(context.appOutDir, `${info.productFilename}.app`);
  if (platform === 'win32') return path.join(context.appOutDir, `${info.productFilename}.exe`);
  return path.join(context.appOutDir, context.packager.executableName);
}

async function afterPack(context) {
  const { flipFuses, FuseV1Options, FuseVersion } = await import('@electron/fuses');
  const platform = context.electronPlatformName === 'mas' ? 'darwin' : context.electronPlatformName;
  const target = electronBinaryPath(context);
  await flipFuses(target, fuseConfig(FuseV1Options, FuseVersion, platform, context.arch));
  console.log(`  • fuses flipped  file=${path.relative(process.cwd(), target)}`);
}

module.exports = afterPack;
module.exports.default = afterPack;
module.exports.fuseConfig = fuseConfig;
module.exports.electronBinaryPath = electronBinaryPath;
