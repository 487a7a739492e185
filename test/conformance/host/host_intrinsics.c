/*
 * host_intrinsics.c - the intrinsics for the conformance tier's hosted build:
 * the compiled TypeScript runs as a Linux program. COM1's transmitter is
 * stdout and its receiver stdin, the command line is argv[1], and the heap
 * figure is porffor's allocator pointer, exactly as on bare metal. Hardware
 * that a conformance program must not touch (MSRs, CRs, physical memory, VMX)
 * stops the program with a message, so a program that strays fails loudly.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "prog.h"
#include "intrinsics_gen.h"

struct Z__instance_t;
#define IMPORT(ret, name, ...) ret HV_IMPORT_##name(struct Z__instance_t *inst, ##__VA_ARGS__)

extern Z_prog_instance_t host_instance;
extern const char *host_cmdline;

static void unavailable(const char *what) {
  fflush(stdout);
  fprintf(stderr, "conformance: %s is not available in the hosted build\n", what);
  exit(99);
}

#define COM1 0x3F8
static uint8_t com1_lcr;

IMPORT(void, __outb, f64 port, f64 v) {
  (void)inst;
  uint32_t p = (uint32_t)port;
  if (p == COM1 + 3) com1_lcr = (uint8_t)v;
  else if (p == COM1 && !(com1_lcr & 0x80)) putchar((int)(uint32_t)v & 0xFF);
}
IMPORT(f64, __inb, f64 port) {
  (void)inst;
  uint32_t p = (uint32_t)port;
  if (p == COM1 + 5) return 0x60; /* THR and TEMT empty, no input */
  return 0xFF;
}
IMPORT(void, __outw, f64 port, f64 v) { (void)inst; (void)port; (void)v; }
IMPORT(f64, __inw, f64 port) { (void)inst; (void)port; return 0xFFFF; }
IMPORT(void, __outl, f64 port, f64 v) { (void)inst; (void)port; (void)v; }
IMPORT(f64, __inl, f64 port) { (void)inst; (void)port; return 4294967295.0; }
IMPORT(f64, __hi) { (void)inst; return 0; }
IMPORT(f64, __rdmsr, f64 msr) { (void)inst; (void)msr; unavailable("rdmsr"); return 0; }
IMPORT(void, __wrmsr, f64 msr, f64 hi, f64 lo) { (void)inst; (void)msr; (void)hi; (void)lo; unavailable("wrmsr"); }
IMPORT(f64, __read_cr, f64 n) { (void)inst; (void)n; unavailable("read_cr"); return 0; }
IMPORT(void, __write_cr, f64 n, f64 v) { (void)inst; (void)n; (void)v; unavailable("write_cr"); }
IMPORT(f64, __cpuid, f64 leaf, f64 sub) { (void)inst; (void)leaf; (void)sub; unavailable("cpuid"); return 0; }
IMPORT(f64, __cpuid_reg, f64 reg) { (void)inst; (void)reg; unavailable("cpuid"); return 0; }
static double tsc;
IMPORT(f64, __rdtsc) { (void)inst; tsc += 1000; return tsc; }
IMPORT(f64, __peek8, f64 pa) { (void)inst; (void)pa; unavailable("peek"); return 0; }
IMPORT(f64, __peek16, f64 pa) { (void)inst; (void)pa; unavailable("peek"); return 0; }
IMPORT(f64, __peek32, f64 pa) { (void)inst; (void)pa; unavailable("peek"); return 0; }
IMPORT(f64, __peek64, f64 pa) { (void)inst; (void)pa; unavailable("peek"); return 0; }
IMPORT(void, __poke8, f64 pa, f64 v) { (void)inst; (void)pa; (void)v; unavailable("poke"); }
IMPORT(void, __poke16, f64 pa, f64 v) { (void)inst; (void)pa; (void)v; unavailable("poke"); }
IMPORT(void, __poke32, f64 pa, f64 v) { (void)inst; (void)pa; (void)v; unavailable("poke"); }
IMPORT(void, __poke64, f64 pa, f64 hi, f64 lo) { (void)inst; (void)pa; (void)hi; (void)lo; unavailable("poke"); }
IMPORT(void, __atomic_or32, f64 pa, f64 bits) { (void)inst; (void)pa; (void)bits; unavailable("atomic_or32"); }
IMPORT(void, __hlt) { (void)inst; }
IMPORT(void, __pause) { (void)inst; }
IMPORT(void, __exit, f64 code) { (void)inst; fflush(stdout); exit((int)code); }
IMPORT(f64, __heap_used) { (void)inst; return *Z_progZ_h(&host_instance); }
IMPORT(f64, __mmap_count) { (void)inst; return 0; }
IMPORT(f64, __mmap_field, f64 i, f64 f) { (void)inst; (void)i; (void)f; return 0; }
IMPORT(f64, __cmdline_len) { (void)inst; return (f64)strlen(host_cmdline); }
IMPORT(f64, __cmdline_byte, f64 i) {
  (void)inst;
  size_t n = strlen(host_cmdline), k = (size_t)i;
  return k < n ? (uint8_t)host_cmdline[k] : 0;
}
IMPORT(f64, __resv_count) { (void)inst; return 0; }
IMPORT(f64, __resv_field, f64 i, f64 f) { (void)inst; (void)i; (void)f; return 0; }
IMPORT(f64, __page_alloc) { (void)inst; return 0; }
IMPORT(void, __page_free, f64 pa) { (void)inst; (void)pa; unavailable("page_free"); }
IMPORT(f64, __pool_pages, f64 which) { (void)inst; (void)which; return 0; }
IMPORT(f64, __vmread, f64 field) { (void)inst; (void)field; unavailable("vmread"); return 0; }
IMPORT(f64, __vmwrite, f64 field, f64 hi, f64 lo) { (void)inst; (void)field; (void)hi; (void)lo; unavailable("vmwrite"); return 0; }
IMPORT(f64, __vmxon, f64 pa) { (void)inst; (void)pa; unavailable("vmxon"); return 0; }
IMPORT(f64, __vmxoff) { (void)inst; unavailable("vmxoff"); return 0; }
IMPORT(f64, __vmclear, f64 pa) { (void)inst; (void)pa; unavailable("vmclear"); return 0; }
IMPORT(f64, __vmptrld, f64 pa) { (void)inst; (void)pa; unavailable("vmptrld"); return 0; }
IMPORT(f64, __invept, f64 t, f64 h, f64 l) { (void)inst; (void)t; (void)h; (void)l; unavailable("invept"); return 0; }
IMPORT(f64, __invvpid, f64 t, f64 v) { (void)inst; (void)t; (void)v; unavailable("invvpid"); return 0; }
IMPORT(f64, __vmcs_host_setup) { (void)inst; unavailable("vmcs_host_setup"); return 0; }
IMPORT(f64, __vcpu_run, f64 c, f64 l) { (void)inst; (void)c; (void)l; unavailable("vcpu_run"); return 0; }
IMPORT(f64, __xsave_size) { (void)inst; return 1088; }
IMPORT(f64, __module_count) { (void)inst; return 0; }
IMPORT(f64, __module_field, f64 i, f64 f) { (void)inst; (void)i; (void)f; return 0; }
IMPORT(f64, __module_byte, f64 i, f64 k) { (void)inst; (void)i; (void)k; return 0; }
IMPORT(void, __vcpu_forget, f64 c) { (void)inst; (void)c; }
IMPORT(f64, __guest_ram_carve, f64 s) { (void)inst; (void)s; return 0; }
IMPORT(void, __exit_floor, f64 on) { (void)inst; (void)on; }
IMPORT(f64, __smp_info, f64 w, f64 i) { (void)inst; (void)i; return w == 0 || w == 2 ? 1 : 0; }
IMPORT(f64, __smp_op, f64 op, f64 a, f64 b, f64 c) { (void)inst; (void)a; (void)b; (void)c; return op == 0 ? 1 : 0; }
IMPORT(void, __selftest_fault, f64 kind) { (void)inst; (void)kind; unavailable("selftest_fault"); }

/* porffor's own imports: console.log of numbers and strings, time. */
void Z_Z_a(struct Z__instance_t *i, f64 v) {
  (void)i;
  if (v == (double)(int64_t)v) printf("%lld", (long long)v);
  else printf("%.17g", v);
}
void Z_Z_b(struct Z__instance_t *i, f64 c) { (void)i; putchar((int)c); }
f64 Z_Z_c(struct Z__instance_t *i) { (void)i; return 0; }
f64 Z_Z_d(struct Z__instance_t *i) { (void)i; return 0; }
