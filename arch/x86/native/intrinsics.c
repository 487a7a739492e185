/*
 * intrinsics.c - the native bodies of arch/x86/intrinsics.ts.
 *
 * Each function is a Wasm import of the compiled TypeScript. wasm2c names them
 * Z_Z_<field>; build/intrinsics_gen.h (made by tools/porfc.mjs from
 * tools/intrinsics.json) maps each TypeScript name to its field, so this file
 * only uses HV_IMPORT_<name>. Every value crosses as an f64: integers below
 * 2^53 are exact; 64-bit results return the low half and latch the high half
 * for __hi. Physical memory goes through physaccess.c's checks.
 */
#include <stdint.h>
#include "prog.h"
#include "intrinsics_gen.h"
#include "early_console.h"
#include "memmap.h"
#include "multiboot2.h"
#include "palloc.h"
#include "panic.h"
#include "physaccess.h"
#include "portio.h"

struct Z__instance_t;
#define IMPORT(ret, name, ...) ret HV_IMPORT_##name(struct Z__instance_t *inst, ##__VA_ARGS__)

/* f64 -> integer conversions for values the TypeScript side guarantees in range. */
static inline uint64_t u64_of(f64 v) { return v <= 0 ? 0 : (uint64_t)v; }
static inline uint32_t u32_of(f64 v) { return (uint32_t)u64_of(v); }
static inline f64 f64_of(uint64_t v) { return (f64)v; }

/* High half of the last 64-bit result. */
static uint32_t latched_hi;
static inline f64 latch64(uint64_t v) {
  latched_hi = (uint32_t)(v >> 32);
  return (f64)(uint32_t)v;
}
static inline uint64_t join64(f64 hi, f64 lo) { return ((uint64_t)u32_of(hi) << 32) | u32_of(lo); }

IMPORT(void, __outb, f64 port, f64 v) { (void)inst; outb((uint16_t)u32_of(port), (uint8_t)u32_of(v)); }
IMPORT(f64, __inb, f64 port) { (void)inst; return inb((uint16_t)u32_of(port)); }
IMPORT(void, __outw, f64 port, f64 v) { (void)inst; outw((uint16_t)u32_of(port), (uint16_t)u32_of(v)); }
IMPORT(f64, __inw, f64 port) { (void)inst; return inw((uint16_t)u32_of(port)); }
IMPORT(void, __outl, f64 port, f64 v) { (void)inst; outl((uint16_t)u32_of(port), u32_of(v)); }
IMPORT(f64, __inl, f64 port) { (void)inst; return inl((uint16_t)u32_of(port)); }
IMPORT(f64, __hi) { (void)inst; return latched_hi; }

IMPORT(f64, __rdmsr, f64 msr) {
  (void)inst;
  uint32_t lo, hi;
  __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(u32_of(msr)));
  latched_hi = hi;
  return lo;
}
IMPORT(void, __wrmsr, f64 msr, f64 hi, f64 lo) {
  (void)inst;
  __asm__ volatile("wrmsr" ::"c"(u32_of(msr)), "a"(u32_of(lo)), "d"(u32_of(hi)));
}

IMPORT(f64, __read_cr, f64 n) {
  (void)inst;
  uint64_t v = 0;
  switch ((int)n) {
    case 0: __asm__ volatile("mov %%cr0, %0" : "=r"(v)); break;
    case 2: __asm__ volatile("mov %%cr2, %0" : "=r"(v)); break;
    case 3: __asm__ volatile("mov %%cr3, %0" : "=r"(v)); break;
    case 4: __asm__ volatile("mov %%cr4, %0" : "=r"(v)); break;
    default: hv_panic("__read_cr: no such control register");
  }
  return f64_of(v);
}
IMPORT(void, __write_cr, f64 n, f64 value) {
  (void)inst;
  uint64_t v = u64_of(value);
  switch ((int)n) {
    case 0: __asm__ volatile("mov %0, %%cr0" ::"r"(v) : "memory"); break;
    case 3: __asm__ volatile("mov %0, %%cr3" ::"r"(v) : "memory"); break;
    case 4: __asm__ volatile("mov %0, %%cr4" ::"r"(v) : "memory"); break;
    default: hv_panic("__write_cr: no such control register");
  }
}

static uint32_t cpuid_regs[4];
IMPORT(f64, __cpuid, f64 leaf, f64 sub) {
  (void)inst;
  __asm__ volatile("cpuid"
                   : "=a"(cpuid_regs[0]), "=b"(cpuid_regs[1]), "=c"(cpuid_regs[2]), "=d"(cpuid_regs[3])
                   : "a"(u32_of(leaf)), "c"(u32_of(sub)));
  return cpuid_regs[0];
}
IMPORT(f64, __cpuid_reg, f64 reg) { (void)inst; return cpuid_regs[u32_of(reg) & 3]; }

IMPORT(f64, __rdtsc) {
  (void)inst;
  uint32_t lo, hi;
  __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
  return f64_of(((uint64_t)hi << 32) | lo);
}

IMPORT(f64, __peek8, f64 pa) { (void)inst; return (f64)phys_read(u64_of(pa), 1); }
IMPORT(f64, __peek16, f64 pa) { (void)inst; return (f64)phys_read(u64_of(pa), 2); }
IMPORT(f64, __peek32, f64 pa) { (void)inst; return (f64)phys_read(u64_of(pa), 4); }
IMPORT(f64, __peek64, f64 pa) { (void)inst; return latch64(phys_read(u64_of(pa), 8)); }
IMPORT(void, __poke8, f64 pa, f64 v) { (void)inst; phys_write(u64_of(pa), 1, u32_of(v) & 0xFF); }
IMPORT(void, __poke16, f64 pa, f64 v) { (void)inst; phys_write(u64_of(pa), 2, u32_of(v) & 0xFFFF); }
IMPORT(void, __poke32, f64 pa, f64 v) { (void)inst; phys_write(u64_of(pa), 4, u32_of(v)); }
IMPORT(void, __poke64, f64 pa, f64 hi, f64 lo) { (void)inst; phys_write(u64_of(pa), 8, join64(hi, lo)); }
/* LOCK OR into an aligned dword (guest paging-entry A/D flags). Same ownership
   rule as phys_write: a disallowed address goes through phys_write, which
   panics with the address before anything is written. */
IMPORT(void, __atomic_or32, f64 pa, f64 bits) {
  (void)inst;
  uint64_t a = u64_of(pa);
  if ((a & 3) != 0) hv_panic("__atomic_or32: address not 4-byte aligned");
  if (!phys_allowed(a, 4, true)) phys_write(a, 4, 0);
  __asm__ volatile("lock orl %1, %0" : "+m"(*(volatile uint32_t *)(uintptr_t)a) : "r"(u32_of(bits)) : "memory");
}

IMPORT(void, __hlt) { (void)inst; __asm__ volatile("hlt"); }
IMPORT(void, __pause) { (void)inst; __asm__ volatile("pause"); }
IMPORT(void, __exit, f64 code) { (void)inst; hv_exit(u32_of(code)); }

/* Bytes handed out by porffor's bump allocator: its `currentPtr` global,
   exported as "h" by tools/patch-porffor.mjs. */
extern uint32_t hv_heap_used(void);
IMPORT(f64, __heap_used) { (void)inst; return hv_heap_used(); }

IMPORT(f64, __mmap_count) { (void)inst; return mb2_mmap_count(); }
IMPORT(f64, __mmap_field, f64 index, f64 field) {
  (void)inst;
  uint32_t i = u32_of(index);
  if (i >= mb2_mmap_count()) return 0;
  const struct mb2_mmap_entry *e = mb2_mmap(i);
  switch ((int)field) {
    case 0: return f64_of(e->base);
    case 1: return f64_of(e->len);
    default: return e->type;
  }
}

IMPORT(f64, __cmdline_len) { (void)inst; return mb2_cmdline_len(); }
IMPORT(f64, __cmdline_byte, f64 index) {
  (void)inst;
  uint32_t i = u32_of(index);
  return i < mb2_cmdline_len() ? (uint8_t)mb2_cmdline()[i] : 0;
}

IMPORT(f64, __resv_count) { (void)inst; return memmap_reserved_count(); }
IMPORT(f64, __resv_field, f64 index, f64 field) {
  (void)inst;
  uint32_t i = u32_of(index);
  if (i >= memmap_reserved_count()) return 0;
  const struct memmap_reservation *r = memmap_reserved(i);
  switch ((int)field) {
    case 0: return f64_of(r->base);
    case 1: return f64_of(r->size);
    default: return r->kind;
  }
}

IMPORT(f64, __module_count) { (void)inst; return mb2_module_count(); }
IMPORT(f64, __module_field, f64 index, f64 field) {
  (void)inst;
  uint32_t i = u32_of(index);
  if (i >= mb2_module_count()) return 0;
  const struct mb2_module *m = mb2_module(i);
  switch ((int)field) {
    case 0: return f64_of(m->start);
    case 1: return f64_of(m->end);
    default: return m->cmdline_len;
  }
}
IMPORT(f64, __module_byte, f64 index, f64 offset) {
  (void)inst;
  uint32_t i = u32_of(index), k = u32_of(offset);
  if (i >= mb2_module_count()) return 0;
  const struct mb2_module *m = mb2_module(i);
  return k < m->cmdline_len ? (uint8_t)m->cmdline[k] : 0;
}

/* Carve 2 MiB-aligned RAM for a VM that the hypervisor backs with host memory
   (pre-launched and test VMs), record it as such and let TypeScript reach it.
   Returns the host physical address, or 0 when no such range is free. */
extern uint64_t boot_mapped_top;
IMPORT(f64, __guest_ram_carve, f64 size) {
  (void)inst;
  uint64_t bytes = (u64_of(size) + 0xFFF) & ~0xFFFull, base;
  if (!bytes || !memmap_carve_below(bytes, 0x200000, boot_mapped_top, MEMMAP_GUEST_RAM, &base)) return 0;
  phys_declare(base, bytes, PHYS_GUEST);
  return f64_of(base);
}

IMPORT(f64, __page_alloc) { (void)inst; return f64_of(palloc_alloc()); }
IMPORT(void, __page_free, f64 pa) { (void)inst; palloc_free(u64_of(pa)); }
IMPORT(f64, __pool_pages, f64 which) {
  (void)inst;
  return f64_of(u32_of(which) == 0 ? palloc_free_count() : palloc_total_count());
}

/* VMX instructions report failure in RFLAGS (SDM Vol. 3C 31.2 "Conventions"):
   CF=1 VMfailInvalid (1), ZF=1 VMfailValid (2), else success (0). */
IMPORT(f64, __vmread, f64 field) {
  (void)inst;
  uint64_t v = 0;
  uint8_t cf, zf;
  __asm__ volatile("vmread %3, %0; setc %1; setz %2"
                   : "=r"(v), "=r"(cf), "=r"(zf)
                   : "r"(u64_of(field))
                   : "cc");
  if (cf | zf) v = 0;
  return latch64(v);
}
IMPORT(f64, __vmwrite, f64 field, f64 hi, f64 lo) {
  (void)inst;
  uint8_t cf, zf;
  __asm__ volatile("vmwrite %3, %2; setc %0; setz %1"
                   : "=r"(cf), "=r"(zf)
                   : "r"(u64_of(field)), "r"(join64(hi, lo))
                   : "cc", "memory");
  return cf ? 1 : zf ? 2 : 0;
}

/* Deliberate faults, so tests can see each panic path end to end. */
extern uint64_t boot_mapped_top;
static volatile uint64_t recursion_sink;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Winfinite-recursion" /* on purpose: runs into the guard page */
__attribute__((noinline)) static uint64_t recurse_forever(uint64_t depth) {
  volatile uint8_t frame[256];
  frame[0] = (uint8_t)depth;
  recursion_sink += recurse_forever(depth + 1) + frame[0];
  return recursion_sink;
}
#pragma GCC diagnostic pop
IMPORT(void, __selftest_fault, f64 kind) {
  (void)inst;
  switch ((int)kind) {
    case 0: __asm__ volatile("ud2"); break;
    case 1: recursion_sink = *(volatile uint64_t *)(uintptr_t)(boot_mapped_top + 0x1000); break;
    case 2: recurse_forever(0); break;
    case 3: phys_read(boot_mapped_top - 0x1000, 4); break;
    default: break;
  }
}
