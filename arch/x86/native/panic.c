/* panic.c - see panic.h. */
#include <stdint.h>
#include "early_console.h"
#include "panic.h"
#include "portio.h"

#define QEMU_DEBUG_EXIT_PORT 0xF4   /* -device isa-debug-exit,iobase=0xf4 */
#define BOCHS_IODEBUG_PORT 0x8A00   /* 0x8A00 then 0x8AE0: return to the debugger (rc: q) */
#define BOCHS_SHUTDOWN_PORT 0x8900  /* the bytes "Shutdown": Bochs stops with a panic */

__attribute__((noreturn)) void hv_exit(uint32_t code) {
  early_console_drain();
  outl(QEMU_DEBUG_EXIT_PORT, code);
  if (code == HV_EXIT_POWEROFF) {
    outw(BOCHS_IODEBUG_PORT, 0x8A00);
    outw(BOCHS_IODEBUG_PORT, 0x8AE0);
  } else {
    const char *s = "Shutdown";
    while (*s) outb(BOCHS_SHUTDOWN_PORT, (uint8_t)*s++);
  }
  for (;;) __asm__ volatile("cli; hlt");
}

/* Called by the exception handlers (exceptions.c) after their PANIC line. */
__attribute__((noreturn)) void panic_halt(void) { hv_exit(HV_EXIT_PANIC); }

__attribute__((noreturn)) void hv_panic(const char *msg) {
  kputs("PANIC: ");
  kputs(msg);
  kputs("\n");
  hv_exit(HV_EXIT_PANIC);
}
