// Every (API, state) pair of ACRN's VM state machine with the return value
// and the resulting state, written out from ../shared/ACRN-ABI.md "VM states
// and API guards". Used by test/unit/vm-api.test.ts (through the real APIs on
// the simulated machine) and test/conformance/vm-state.ts (through the
// guard table, natively). Rows: [api, state before, return value, state after]
// with api 0 create, 1 start, 2 pause, 3 reset, 4 shutdown, 5 a real-time
// VM's own power-off; states 0 POWERED_OFF, 1 CREATED, 2 RUNNING,
// 3 READY_TO_POWEROFF, 4 PAUSED.

/** A standard VM: READY_TO_POWEROFF is never reached. */
export const STANDARD_VECTORS = [
  [0, 0, 0, 1], [0, 1, -1, 1], [0, 2, -1, 2], [0, 4, -1, 4],
  [1, 0, -1, 0], [1, 1, 0, 2], [1, 2, -1, 2], [1, 4, -1, 4],
  [2, 0, -1, 0], [2, 1, 0, 4], [2, 2, 0, 4], [2, 4, 0, 4],
  [3, 0, -1, 0], [3, 1, -1, 1], [3, 2, -1, 2], [3, 4, 0, 1],
  [4, 0, -1, 0], [4, 1, -1, 1], [4, 2, -1, 2], [4, 4, 0, 0],
  [5, 0, -1, 0], [5, 1, -1, 1], [5, 2, -1, 2], [5, 4, -1, 4],
];

/** A real-time VM: a running one is not paused; it powers off to READY_TO_POWEROFF, which pauses. */
export const REALTIME_VECTORS = [
  [0, 0, 0, 1], [0, 1, -1, 1], [0, 2, -1, 2], [0, 3, -1, 3], [0, 4, -1, 4],
  [1, 0, -1, 0], [1, 1, 0, 2], [1, 2, -1, 2], [1, 3, -1, 3], [1, 4, -1, 4],
  [2, 0, -1, 0], [2, 1, 0, 4], [2, 2, 0, 2], [2, 3, 0, 4], [2, 4, 0, 4],
  [3, 0, -1, 0], [3, 1, -1, 1], [3, 2, -1, 2], [3, 3, -1, 3], [3, 4, 0, 1],
  [4, 0, -1, 0], [4, 1, -1, 1], [4, 2, -1, 2], [4, 3, -1, 3], [4, 4, 0, 0],
  [5, 0, -1, 0], [5, 1, -1, 1], [5, 2, 0, 3], [5, 3, -1, 3], [5, 4, -1, 4],
];
