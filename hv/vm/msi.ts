// MSI injection into a VM (ACRN's vlapic_inject_msi, used by the
// INJECT_MSI hypercall and by emulated PCI devices): the message address and
// data a device would write decode into a vLAPIC delivery (SDM Vol. 3A
// 11.11.1 "Message Address Register Format", 11.11.2 "Message Data Register
// Format"):
//
//   address  31:20 0xFEE   19:12 destination ID   3 redirection hint (RH)
//            2 destination mode (DM: 0 physical, 1 logical)
//            63:32 must be 0 (no x2APIC extended destination)
//   data     7:0 vector   10:8 delivery mode   14 level   15 trigger mode
//
// With RH = 1 the message goes to the lowest-priority processor among the
// destinations (ACRN: RH set => lowest priority). Fixed, lowest priority,
// NMI, INIT and ExtINT are delivered; SMI and start-up are not valid in an MSI
// and the message is dropped. Returns how many vCPUs the message reached, or a
// negative MSI_ERR_* code for a malformed message (the hypercall's -EINVAL).
import { DEST_LOGICAL, DEST_PHYSICAL, DM_FIXED, DM_LOWEST, DM_SMI, DM_STARTUP } from './vlapic-regs';
import { vlapicDeliverMessage } from './vlapic-dest';
import type { AcrnVm } from './vm';

/** The address does not have 0xFEE in bits 31:20, or bits 63:32 are not 0. */
export const MSI_ERR_ADDRESS = -1;
/** Delivery mode SMI, start-up or reserved (3): not deliverable as an MSI. */
export const MSI_ERR_MODE = -2;
/** Vector 0-15 with a fixed or lowest-priority mode (SDM 11.5.2: illegal vectors). */
export const MSI_ERR_VECTOR = -3;

export function injectMsi(vm: AcrnVm, addrHi: number, addrLo: number, data: number): number {
  const lo = addrLo >>> 0;
  if (addrHi !== 0 || lo >>> 20 !== 0xfee) return MSI_ERR_ADDRESS;
  const d = data >>> 0;
  const vector = d & 0xff;
  let mode = (d >>> 8) & 7;
  if (mode === DM_SMI || mode === DM_STARTUP || mode === 3) return MSI_ERR_MODE;
  if ((mode === DM_FIXED || mode === DM_LOWEST) && vector < 16) return MSI_ERR_VECTOR;
  const dest = (lo >>> 12) & 0xff;
  const destMode = (lo & 4) !== 0 ? DEST_LOGICAL : DEST_PHYSICAL;
  if ((lo & 8) !== 0 && mode === DM_FIXED) mode = DM_LOWEST;
  const levelTriggered = (d & 0x8000) !== 0;
  return vlapicDeliverMessage(vm.vlapics, vm.vcpuCount, destMode, dest, false, mode, vector, levelTriggered);
}
