// Interrupts into a User VM (ACRN hypercall.c hcall_set_irqline, hcall_inject_msi).
// Both require a target that is not POWERED_OFF and whose severity passes
// (ACRN is_severity_pass: SEVERITY_SERVICE_VM >= the target's, so a real-time
// VM refuses them), else -1.
//
//   SET_IRQLINE  param2 = struct acrn_irqline_ops by value: gsi = bits 31:0,
//                op = bits 63:32. gsi beyond the target's vIOAPIC pins: -1
//                (ACRN get_vm_gsicount). op GSI_SET_HIGH / GSI_SET_LOW set the
//                line; GSI_RAISING_PULSE raises then lowers it, GSI_FALLING_PULSE
//                lowers then raises it, on both interrupt controllers through
//                the VM's GsiRouter (GSI n = vIOAPIC pin n, vPIC pin n below 16
//                with GSI 2 on pin 0). 0. Any other op: -EINVAL (ACRN ignores
//                it and answers 0; the ABI defines only these four).
//   INJECT_MSI   param2 = GPA of struct acrn_msi_entry (16 bytes); the copy
//                fails: -1. The message (address 64 bits, data bits 31:0 as
//                ACRN) goes to injectMsi: 0, or -EINVAL for a malformed one.
import type { Vcpu } from '../vm/vcpu';
import { type AcrnVm, VM_POWERED_OFF } from '../vm/vm';
import { SEVERITY_SERVICE_VM } from '../vm/vm-api';
import { injectMsi } from '../vm/msi';
import {
  abiRd32, EINVAL, GSI_FALLING_PULSE, GSI_RAISING_PULSE, GSI_SET_HIGH, GSI_SET_LOW, HC_FAIL, MSI_ENTRY_ADDR,
  MSI_ENTRY_DATA, MSI_ENTRY_SIZE,
} from './abi';
import { HC } from './hc-state';
import { hcCopyIn } from './hc-util';

/** ACRN is_severity_pass(target) and !is_poweroff_vm(target). */
function hcInterruptible(vm: AcrnVm): boolean {
  return vm.state !== VM_POWERED_OFF && vm.severity <= SEVERITY_SERVICE_VM;
}

export function hcSetIrqline(_c: Vcpu, vm: AcrnVm, _p1Hi: number, _p1Lo: number, p2Hi: number, p2Lo: number): number {
  if (!hcInterruptible(vm)) return HC_FAIL;
  const gsi = p2Lo;
  const op = p2Hi;
  if (gsi >= vm.devices.gsiCount()) return HC_FAIL;
  const router = vm.devices.router;
  if (op === GSI_SET_HIGH) router.drive(gsi, true);
  else if (op === GSI_SET_LOW) router.drive(gsi, false);
  else if (op === GSI_RAISING_PULSE) {
    router.drive(gsi, true);
    router.drive(gsi, false);
  } else if (op === GSI_FALLING_PULSE) {
    router.drive(gsi, false);
    router.drive(gsi, true);
  } else return -EINVAL;
  return 0;
}

export function hcInjectMsi(caller: Vcpu, vm: AcrnVm, _p1Hi: number, _p1Lo: number, p2Hi: number, p2Lo: number): number {
  if (!hcInterruptible(vm)) return HC_FAIL;
  const b = HC.buf;
  if (!hcCopyIn(caller.vm, p2Hi, p2Lo, b, MSI_ENTRY_SIZE)) return HC_FAIL;
  const rc = injectMsi(vm, abiRd32(b, MSI_ENTRY_ADDR + 4), abiRd32(b, MSI_ENTRY_ADDR), abiRd32(b, MSI_ENTRY_DATA));
  return rc < 0 ? -EINVAL : 0;
}
