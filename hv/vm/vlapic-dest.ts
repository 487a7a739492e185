// Which vLAPICs an interrupt message reaches (SDM Vol. 3A 11.6.2
// "Determining IPI Destination", 11.12.10 for x2APIC; ACRN
// is_dest_field_matched / vlapic_calc_dest), and delivery over the array of a
// VM's vLAPICs, so that the VM's VlapicBus is one call. Pure functions of the
// vLAPICs' registers; nothing here allocates.
//
//   physical   dest == APIC ID (8 bits in xAPIC format, 32 in x2APIC format)
//   logical    xAPIC flat:    LDR[31:24] & dest[7:0] != 0          (DFR 0xFxxxxxxx)
//              xAPIC cluster: LDR[31:28] == dest[7:4] and
//                             LDR[27:24] & dest[3:0] != 0          (DFR 0x0xxxxxxx)
//              x2APIC:        LDR[31:16] == dest[31:16] and
//                             LDR[15:0] & dest[15:0] != 0
//   broadcast  0xFF in xAPIC format, 0xFFFFFFFF in x2APIC format, either mode
// The logical model is the target's (its mode and DFR); the destination's
// format is the sender's mode for IPIs and xAPIC for I/O APIC and MSI
// messages (ACRN: no interrupt remapping). A globally disabled APIC matches
// nothing.
import type { Vlapic } from './vlapic';
import {
  DEST_PHYSICAL, DM_FIXED, DM_LOWEST, DM_STARTUP, SHORTHAND_ALL_EXCLUDING_SELF, SHORTHAND_ALL_INCLUDING_SELF,
  SHORTHAND_SELF, VLAPIC_MODE_DISABLED, VLAPIC_MODE_X2APIC,
} from './vlapic-regs';

/** Does `target` accept a message for `dest` in `destMode` (DEST_PHYSICAL / DEST_LOGICAL); `x2apic`: dest is in x2APIC format. */
export function matchesDestination(target: Vlapic, destMode: number, dest: number, x2apic: boolean): boolean {
  if (target.mode === VLAPIC_MODE_DISABLED) return false;
  if (x2apic ? dest === 0xffffffff : dest === 0xff) return true;
  const targetX2apic = target.mode === VLAPIC_MODE_X2APIC;
  if (destMode === DEST_PHYSICAL) {
    return x2apic || targetX2apic ? dest === target.apicId : dest === (target.apicId & 0xff);
  }
  const ldr = target.ldr;
  if (targetX2apic) return ldr >>> 16 === dest >>> 16 && (ldr & dest & 0xffff) !== 0;
  const logicalId = ldr >>> 24;
  const model = target.dfr >>> 28;
  if (model === 0xf) return (logicalId & dest & 0xff) !== 0;
  if (model === 0) return logicalId >>> 4 === ((dest >>> 4) & 0xf) && (logicalId & dest & 0xf) !== 0;
  return false; // a DFR model the SDM does not define: the guest gets nothing (ACRN)
}

/** Is `target` a destination of the IPI `sender` sends with `shorthand` (SHORTHAND_*), `destMode` and `dest`? */
export function vlapicIsIpiTarget(target: Vlapic, sender: Vlapic, shorthand: number, destMode: number, dest: number): boolean {
  if (target.mode === VLAPIC_MODE_DISABLED) return false;
  if (shorthand === SHORTHAND_SELF) return target === sender;
  if (shorthand === SHORTHAND_ALL_INCLUDING_SELF) return true;
  if (shorthand === SHORTHAND_ALL_EXCLUDING_SELF) return target !== sender;
  return matchesDestination(target, destMode, dest, sender.mode === VLAPIC_MODE_X2APIC);
}

/**
 * Lowest-priority arbitration (SDM 11.6.2.4): among the enabled targets of
 * the IPI, the one with the lowest PPR; ties go to the lowest index, i.e. the
 * first vCPU (ACRN vlapic_calc_dest keeps the first of equal PPRs; the SDM
 * leaves ties to the model, and focus-processor checking is not emulated).
 * Index into vlapics[0..count), or -1.
 */
export function vlapicLowestPriority(vlapics: Vlapic[], count: number, sender: Vlapic, shorthand: number,
  destMode: number, dest: number): number {
  const n = count < vlapics.length ? count : vlapics.length;
  let best = -1;
  let bestPpr = 256;
  for (let i = 0; i < n; i++) {
    const target = vlapics[i];
    if (!target.isEnabled() || !vlapicIsIpiTarget(target, sender, shorthand, destMode, dest)) continue;
    if (target.ppr < bestPpr) {
      best = i;
      bestPpr = target.ppr;
    }
  }
  return best;
}

/** As vlapicLowestPriority, for a message without a sender (I/O APIC, MSI). */
export function vlapicLowestPriorityMatch(vlapics: Vlapic[], count: number, destMode: number, dest: number,
  x2apic: boolean): number {
  const n = count < vlapics.length ? count : vlapics.length;
  let best = -1;
  let bestPpr = 256;
  for (let i = 0; i < n; i++) {
    const target = vlapics[i];
    if (!target.isEnabled() || !matchesDestination(target, destMode, dest, x2apic)) continue;
    if (target.ppr < bestPpr) {
      best = i;
      bestPpr = target.ppr;
    }
  }
  return best;
}

/**
 * Deliver an IPI (the arguments of VlapicBus.deliver) to vlapics[0..count):
 * lowest priority to the one vlapicLowestPriority picks, every other mode to
 * each target. IPIs are edge-triggered (ACRN: LAPIC_TRIG_EDGE). Returns the
 * number of vLAPICs the IPI was given to (each decides by Vlapic.receive).
 */
export function vlapicDeliverIpi(vlapics: Vlapic[], count: number, sender: Vlapic, mode: number, vector: number,
  shorthand: number, destMode: number, dest: number): number {
  if (mode === DM_LOWEST) {
    const at = vlapicLowestPriority(vlapics, count, sender, shorthand, destMode, dest);
    if (at < 0) return 0;
    vlapics[at].receive(DM_FIXED, vector, false);
    return 1;
  }
  const n = count < vlapics.length ? count : vlapics.length;
  let reached = 0;
  for (let i = 0; i < n; i++) {
    const target = vlapics[i];
    if (vlapicIsIpiTarget(target, sender, shorthand, destMode, dest)) {
      target.receive(mode, vector, false);
      reached++;
    }
  }
  return reached;
}

/**
 * Deliver an I/O APIC redirection entry or MSI (ACRN vlapic_receive_intr):
 * `dest` in xAPIC format unless `x2apic`; fixed, lowest priority, NMI, INIT
 * and ExtINT (SMI is dropped, and start-up is not a valid mode here);
 * `levelTriggered` sets the TMR bit so the EOI comes back through
 * VlapicSink.eoiLevel. Returns the number of vLAPICs the message matched.
 */
export function vlapicDeliverMessage(vlapics: Vlapic[], count: number, destMode: number, dest: number, x2apic: boolean,
  mode: number, vector: number, levelTriggered: boolean): number {
  if (mode === DM_STARTUP) return 0;
  if (mode === DM_LOWEST) {
    const at = vlapicLowestPriorityMatch(vlapics, count, destMode, dest, x2apic);
    if (at < 0) return 0;
    vlapics[at].receive(DM_FIXED, vector, levelTriggered);
    return 1;
  }
  const n = count < vlapics.length ? count : vlapics.length;
  let reached = 0;
  for (let i = 0; i < n; i++) {
    const target = vlapics[i];
    if (matchesDestination(target, destMode, dest, x2apic)) {
      target.receive(mode, vector, levelTriggered);
      reached++;
    }
  }
  return reached;
}
