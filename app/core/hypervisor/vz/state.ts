/**
 * VZVirtualMachineState → the backend's VmState. The framework has transitional states the backend state
 * machine folds into their direction of travel (pausing → still running until paused, resuming → still paused
 * until running, saving → suspending, restoring → starting).
 */
import type { VmState } from '../backend';

export const VZ_STATE_NAMES = ['stopped', 'running', 'paused', 'error', 'starting', 'pausing', 'resuming', 'stopping', 'saving', 'restoring'] as const;
export type VzStateName = (typeof VZ_STATE_NAMES)[number];

export function vzStateName(raw: number): VzStateName | undefined {
  return Number.isInteger(raw) && raw >= 0 && raw < VZ_STATE_NAMES.length ? VZ_STATE_NAMES[raw] : undefined;
}

const TO_VM: Record<VzStateName, VmState> = {
  stopped: 'stopped',
  running: 'running',
  paused: 'paused',
  error: 'error',
  starting: 'starting',
  pausing: 'running',
  resuming: 'paused',
  stopping: 'stopping',
  saving: 'suspending',
  restoring: 'starting',
};

/** Maps a raw VZVirtualMachineState; unknown future values map to `error` with the raw value kept by the caller. */
export function vmStateFromVz(raw: number): VmState {
  const n = vzStateName(raw);
  return n ? TO_VM[n] : 'error';
}

/** Operations the backend exposes, checked against the VM state before a call reaches the framework. */
export type VzOperation = 'start' | 'stop' | 'requestStop' | 'pause' | 'resume' | 'save' | 'restore' | 'showWindow';

/** Which raw states allow an operation (mirrors canStart/canPause/… plus the save/restore rules in Apple's docs). */
export function allowedIn(op: VzOperation): readonly VzStateName[] {
  switch (op) {
    case 'start':
    case 'restore':
      return ['stopped', 'error'];
    case 'stop':
      return ['running', 'paused', 'starting', 'pausing', 'resuming', 'stopping', 'error', 'saving', 'restoring'];
    case 'requestStop':
      return ['running'];
    case 'pause':
      return ['running'];
    case 'resume':
      return ['paused'];
    case 'save':
      // saveMachineStateToURL: requires a paused VM.
      return ['paused'];
    case 'showWindow':
      return ['starting', 'running', 'paused', 'pausing', 'resuming', 'restoring'];
  }
}

export function canDo(op: VzOperation, raw: number): boolean {
  const n = vzStateName(raw);
  return !!n && allowedIn(op).includes(n);
}
