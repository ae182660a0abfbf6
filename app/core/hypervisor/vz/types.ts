/** The VZ addon's data types (authoritative in native/vz/index.d.ts), re-exported for the engine. */
export type {
  VzMachineSpec,
  VzDiskSpec,
  VzShareSpec,
  VzDisplaySpec,
  VzPlatformSpec,
  VzErrorInfo,
  VzEvent,
  VzMachine,
  VzHostInfo,
  VzRestoreImage,
  VzCapabilities,
} from '@nestbox/native/vz';

export type VzAddon = typeof import('@nestbox/native/vz');
