// Bringing the boot CPU into VMX root operation once the capability report is
// printed: the essential-feature check (ACRN's check_essential_vmx_caps), VMXON,
// the guest control words, and the host timer. A refusal names what is missing.
import { CAP_MISC, type VmxCaps } from '../arch/x86/vmx-caps';
import { checkEssentialFeatures, computeVmcsControls, ESSENTIAL_MESSAGES, ESSENTIAL_OK, ROOT_MESSAGES, ROOT_OK, VmxRoot } from '../arch/x86/vmx';
import { LOG_ERROR, LOG_INFO, log } from './log';
import { Platform } from './vm/platform';

/** Host LAPIC timer initial count (bus clock / 16): a tick every few milliseconds. */
export const HOST_TICK_COUNT = 0x40000;

export function startVmx(caps: VmxCaps, root: VmxRoot): Platform | null {
  const missing = checkEssentialFeatures(caps);
  if (missing !== ESSENTIAL_OK) {
    log.begin(LOG_ERROR);
    log.str('VMX not usable: ');
    log.str(ESSENTIAL_MESSAGES[missing]);
    log.end();
    return null;
  }
  const rc = root.enable(caps);
  if (rc !== ROOT_OK) {
    log.begin(LOG_ERROR);
    log.str('VMX not usable: ');
    log.str(ROOT_MESSAGES[rc]);
    log.end();
    return null;
  }
  const platform = new Platform(caps, computeVmcsControls(caps));
  platform.preemptionShift = caps.msrLo(CAP_MISC) & 0x1f; // SDM Vol. 3D A.6: bits 4:0
  const c = platform.controls;
  log.begin(LOG_INFO);
  log.str('VMX root operation on CPU 0; controls pin ');
  log.hex(c.pin, 8);
  log.str(' proc ');
  log.hex(c.proc, 8);
  log.str(' proc2 ');
  log.hex(c.proc2, 8);
  log.str(' exit ');
  log.hex(c.exit, 8);
  log.str(' entry ');
  log.hex(c.entry, 8);
  log.end();
  platform.lapic.startTimer(HOST_TICK_COUNT);
  return platform;
}
