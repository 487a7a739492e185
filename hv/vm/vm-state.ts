// ACRN's VM state machine as one pure table (ACRN-ABI.md "VM states and API
// guards"; ACRN vm.c create_vm/start_vm/pause_vm/reset_vm/shutdown_vm and
// poweroff_if_rt_vm): for an API and the state a VM is in, the state it
// leaves the VM in, or VM_API_REFUSED (-1, the API's return value). The APIs
// in vm-api.ts ask it first and then do the work; the conformance tier runs
// the same vectors through it natively (test/conformance/vm-state.ts).
//
//   createVm       POWERED_OFF -> CREATED
//   startVm        CREATED -> RUNNING                     (@pre CREATED)
//   pauseVm        CREATED/RUNNING/READY_TO_POWEROFF -> PAUSED; PAUSED stays
//                  (0); a running real-time VM stays RUNNING (0); OFF refused
//   resetVm        PAUSED -> CREATED
//   shutdownVm     PAUSED -> POWERED_OFF
//   powerOffRtVm   a real-time VM's S5: RUNNING -> READY_TO_POWEROFF
import { VM_CREATED, VM_PAUSED, VM_POWERED_OFF, VM_READY_TO_POWEROFF, VM_RUNNING } from './vm';

export const VM_API_CREATE = 0;
export const VM_API_START = 1;
export const VM_API_PAUSE = 2;
export const VM_API_RESET = 3;
export const VM_API_SHUTDOWN = 4;
export const VM_API_POWEROFF_RT = 5;
export const VM_API_NAMES = ['create', 'start', 'pause', 'reset', 'shutdown', 'poweroff_rt'];
export const VM_API_REFUSED = -1;

/** The state `api` leaves a VM in from `state` (`rt`: a real-time VM), or VM_API_REFUSED. */
export function vmApiNextState(api: number, state: number, rt: boolean): number {
  if (api === VM_API_CREATE) return state === VM_POWERED_OFF ? VM_CREATED : VM_API_REFUSED;
  if (api === VM_API_START) return state === VM_CREATED ? VM_RUNNING : VM_API_REFUSED;
  if (api === VM_API_PAUSE) {
    if (state === VM_POWERED_OFF) return VM_API_REFUSED;
    if (rt && state === VM_RUNNING) return VM_RUNNING;
    return VM_PAUSED;
  }
  if (api === VM_API_RESET) return state === VM_PAUSED ? VM_CREATED : VM_API_REFUSED;
  if (api === VM_API_SHUTDOWN) return state === VM_PAUSED ? VM_POWERED_OFF : VM_API_REFUSED;
  if (api === VM_API_POWEROFF_RT) return rt && state === VM_RUNNING ? VM_READY_TO_POWEROFF : VM_API_REFUSED;
  return VM_API_REFUSED;
}
