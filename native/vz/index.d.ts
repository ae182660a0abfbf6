/**
 * Typed surface of the Virtualization.framework addon (native/vz/*.mm, target `nestbox_vz`, macOS only).
 * The TypeScript side (app/core/hypervisor/vz) builds every spec; the addon maps fields 1:1 onto framework
 * objects and turns every NSError into a rejected/thrown Error carrying {domain, vzCode, message}.
 *
 * Threading: VZVirtualMachine is used only on its dispatch queue. With `queue: 'main'` (Electron's main process,
 * whose main thread runs the Cocoa run loop) that is the main queue, which VZVirtualMachineView requires; with
 * `queue: 'private'` (plain Node, headless) it is a private serial queue and windows are refused. Calls return at
 * once; results and events come back through N-API thread-safe functions.
 */

export type VzCaching = 'automatic' | 'cached' | 'uncached';
export type VzSync = 'full' | 'fsync' | 'none';

export interface VzDiskSpec {
  path: string;
  readOnly: boolean;
  caching: VzCaching;
  sync: VzSync;
}

export interface VzDirectorySpec {
  path: string;
  readOnly: boolean;
}

export type VzShareSpec =
  | { tag: string; kind: 'single'; directory: VzDirectorySpec }
  | { tag: string; kind: 'multiple'; directories: Record<string, VzDirectorySpec> };

export type VzDisplaySpec =
  | { kind: 'mac'; width: number; height: number; unit: 'pt' }
  | { kind: 'mac'; width: number; height: number; unit: 'px'; pixelsPerInch: number }
  | { kind: 'virtio'; width: number; height: number };

export type VzPlatformSpec =
  /** hardwareModel / machineIdentifier: base64 of the framework's dataRepresentation, exactly as in Tart's config.json. */
  | { kind: 'mac'; hardwareModel: string; machineIdentifier: string; auxiliaryStorage: string }
  | { kind: 'linux'; efiVariableStore: string };

export interface VzMachineSpec {
  cpuCount: number;
  memorySize: number;
  platform: VzPlatformSpec;
  disks: VzDiskSpec[];
  network: { kind: 'nat'; macAddress: string };
  shares: VzShareSpec[];
  display: VzDisplaySpec;
  keyboards: ('usb' | 'mac')[];
  pointingDevices: ('usb-screen' | 'mac-trackpad')[];
  audio: boolean;
  entropy: boolean;
  memoryBalloon: boolean;
  /** A SPICE agent console port sharing the clipboard with the guest's agent (spice-vdagent / tart-guest-agent); macOS 13+. */
  clipboard: boolean;
  /** Linux guests: virtio console → this file (appended). */
  serial: { outputPath: string } | undefined;
  /** Linux guests: Rosetta directory share on this virtio-fs tag. */
  rosetta: { tag: string } | undefined;
  startOptions: { recovery: boolean };
  /** macOS guests: where saveState/restoreState keep the snapshot (state.vzvmsave). */
  saveFile: string | undefined;
}

/** VZVirtualMachineState raw values (VZVirtualMachine.h). */
export const enum VzState {
  Stopped = 0,
  Running = 1,
  Paused = 2,
  Error = 3,
  Starting = 4,
  Pausing = 5,
  Resuming = 6,
  Stopping = 7,
  Saving = 8,
  Restoring = 9,
}

/** What every addon error carries (an NSError flattened). */
export interface VzErrorInfo {
  /** NSError domain ("VZErrorDomain", "NSCocoaErrorDomain", "NSPOSIXErrorDomain", …) or "nestbox" for the addon's own checks. */
  domain: string;
  /** NSError code (VZErrorCode for VZErrorDomain). */
  vzCode: number;
  /** localizedDescription. */
  message: string;
  failureReason?: string;
}

export type VzEvent =
  | { type: 'state'; state: number }
  | { type: 'guestDidStop' }
  | { type: 'didStopWithError'; error: VzErrorInfo }
  | { type: 'networkDisconnected'; error: VzErrorInfo }
  | { type: 'windowClosed' };

export interface VzCapabilities {
  canStart: boolean;
  canPause: boolean;
  canResume: boolean;
  canRequestStop: boolean;
  canStop: boolean;
}

export interface VzMachine {
  /** startWithOptions:completionHandler: (macOS guests: VZMacOSVirtualMachineStartOptions, macOS 13+). */
  start(): Promise<void>;
  /** Hard stop: stopWithCompletionHandler: (macOS 12+). */
  stop(): Promise<void>;
  /** requestStopWithError: — asks the guest to shut down. Throws when the framework refuses. */
  requestStop(): Promise<void>;
  pause(): Promise<void>;
  resume(): Promise<void>;
  /** saveMachineStateToURL:completionHandler: (macOS 14+). The VM must be paused. */
  saveState(path: string): Promise<void>;
  /** restoreMachineStateFromURL:completionHandler: (macOS 14+). The VM must be stopped; resume() afterwards. */
  restoreState(path: string): Promise<void>;
  /** Installs macOS from a restore image with VZMacOSInstaller; onProgress gets fractionCompleted (0..1). */
  install(ipswPath: string, onProgress: (fraction: number) => void): Promise<void>;
  /** Cancels a running install() through the installer's NSProgress (never stop/pause the VM while installing). */
  cancelInstall(): void;
  /** The last state seen on the VM queue (VzState). */
  state(): number;
  capabilities(): VzCapabilities;
  /** Opens (or brings forward) a window with a VZVirtualMachineView. Closing it leaves the VM running. */
  showWindow(o: { title: string; width: number; height: number }): void;
  closeWindow(): void;
  /** Releases the machine and its callbacks (the VM must be stopped). */
  dispose(): void;
}

export interface VzRestoreImage {
  buildVersion: string;
  productVersion: string;
  /** mostFeaturefulSupportedConfiguration; undefined when this host cannot install the image. */
  requirements?: {
    hardwareModel: string;
    hardwareModelSupported: boolean;
    minimumSupportedCPUCount: number;
    minimumSupportedMemorySize: number;
  };
}

export interface VzHostInfo {
  macosVersion: string;
  /** VZVirtualMachine.isSupported */
  supported: boolean;
  minimumAllowedCPUCount: number;
  maximumAllowedCPUCount: number;
  minimumAllowedMemorySize: number;
  maximumAllowedMemorySize: number;
  rosetta: 'installed' | 'notInstalled' | 'notSupported';
  /** True when the caller's thread is the main thread and it runs a Cocoa run loop (windows possible). */
  mainQueueServiced: boolean;
}

export function hostInfo(): VzHostInfo;
/** Validates the spec (VZVirtualMachineConfiguration validateWithError:) and creates the VM on the chosen queue. */
export function createMachine(spec: VzMachineSpec, onEvent: (e: VzEvent) => void, o: { queue: 'main' | 'private' }): Promise<VzMachine>;
/** VZMacOSRestoreImage loadFileURL:completionHandler: (macOS 12+). */
export function loadRestoreImage(ipswPath: string): Promise<VzRestoreImage>;
/** VZMacAuxiliaryStorage initCreatingStorageAtURL:hardwareModel:options:error: (macOS 12+). Fails if the file exists. */
export function createMacAuxiliaryStorage(path: string, hardwareModel: string): void;
/** A fresh VZMacMachineIdentifier, base64 of its dataRepresentation (Tart's `ecid`). */
export function newMacMachineIdentifier(): string;
/** VZEFIVariableStore initCreatingVariableStoreAtURL:options:error: (macOS 13+). */
export function createEfiVariableStore(path: string): void;
export const platform: 'darwin';
