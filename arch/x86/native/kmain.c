/*
 * kmain.c - the native boot path on the boot CPU, between boot.asm and the
 * TypeScript entry (hv/main.ts):
 *   1. read the multiboot2 boot information (clear message on bad input);
 *   2. record what the hypervisor owns and carve, from usable RAM, the fixed
 *      Wasm window (TypeScript heap) and the page pool: build configuration
 *      WASM_WINDOW_MB and POOL_MB (the scenario will size the pool later);
 *   3. declare the boot modules as read-only memory TypeScript may read;
 *   4. instantiate the compiled TypeScript and run it under the TypeScript lock,
 *      with an unwind target so an uncaught exception is a clear panic.
 */
#include <stdint.h>
#include <setjmp.h>
#include "prog.h"
#include "early_console.h"
#include "memmap.h"
#include "multiboot2.h"
#include "palloc.h"
#include "panic.h"
#include "physaccess.h"
#include "smp.h"

#ifndef WASM_WINDOW_MB
#define WASM_WINDOW_MB 48
#endif
#ifndef POOL_MB
#define POOL_MB 16
#endif
#define MIB (1024ull * 1024ull)
#define HV_EXIT_BAD_BOOT 3

/* Highest physical address boot.asm identity-mapped (exclusive). */
extern uint64_t boot_mapped_top;

static Z_prog_instance_t ts_instance;

uint32_t hv_heap_used(void) { return *Z_progZ_h(&ts_instance); }
Z_prog_instance_t *hv_ts_instance(void) { return &ts_instance; }

__attribute__((noreturn)) static void bad_boot(const char *what, const char *detail) {
  kputs("FATAL: ");
  kputs(what);
  if (detail) {
    kputs(": ");
    kputs(detail);
  }
  kputs("\nSystem halted.\n");
  hv_exit(HV_EXIT_BAD_BOOT);
}

static void carve_or_die(uint64_t size, uint32_t kind, const char *what, uint64_t *base) {
  /* Below boot_mapped_top: everything TypeScript touches must be identity mapped. */
  if (memmap_carve_below(size, 2 * MIB, boot_mapped_top, kind, base)) return;
  kputs("FATAL: too little RAM: no free ");
  kputdec(size / MIB);
  kputs(" MiB range for the ");
  kputs(what);
  kputs(" (usable RAM ");
  kputdec(memmap_total_ram() / MIB);
  kputs(" MiB; ");
  kputs(memmap_error());
  kputs(")\nSystem halted.\n");
  hv_exit(HV_EXIT_BAD_BOOT);
}

void kmain(uint32_t magic, uint64_t mbi) {
  smp_set_gs_base(0); /* this_cpu() reads percpu[0].cpu_id (0) through GS */
  smp_gs_ready();
  early_console_init();
  if (magic != MB2_BOOTLOADER_MAGIC) bad_boot("not booted by a multiboot2 loader", 0);
  if (!mb2_parse(mbi)) bad_boot("bad multiboot2 boot information", mb2_error());
  if (mb2_mmap_count() == 0) bad_boot("no multiboot2 memory map", 0);
  if (!memmap_init()) bad_boot("cannot build the host memory map", memmap_error());

  uint64_t window, pool;
  carve_or_die((uint64_t)WASM_WINDOW_MB * MIB, MEMMAP_WASM_WINDOW, "TypeScript Wasm window", &window);
  carve_or_die((uint64_t)POOL_MB * MIB, MEMMAP_PAGE_POOL, "page pool", &pool);
  palloc_init(pool, (uint64_t)POOL_MB * MIB);
  /* The local APIC's registers (xAPIC default base, SDM Vol. 3A 10.4.1). */
  phys_declare(0xFEE00000ull, 0x1000, PHYS_DEVICE);
  for (uint32_t i = 0; i < mb2_module_count(); i++) {
    const struct mb2_module *m = mb2_module(i);
    if (m->end > m->start) phys_declare(m->start, m->end - m->start, PHYS_MODULE);
  }

  smp_init(); /* TSC calibration, MADT, trampoline page, interrupt gates */

  extern void wasm_window_set(uint64_t base, uint64_t size);
  wasm_window_set(window, (uint64_t)WASM_WINDOW_MB * MIB);
  percpu[0].online = 1;
  ts_lock_acquire();
  Z_prog_init_module();
  Z_prog_instantiate(&ts_instance, NULL);
  jmp_buf top;
  if (setjmp(top) != 0) {
    this_percpu()->unwind_target = 0;
    hv_panic("uncaught exception in TypeScript");
  }
  this_percpu()->unwind_target = &top;
  Z_progZ_m(&ts_instance); /* hv/main.ts: returns only if the hypervisor stops */
  this_percpu()->unwind_target = 0;
  ts_lock_release();
  hv_exit(HV_EXIT_POWEROFF);
}
