/*
 * porf_print.c - porffor's own Wasm imports "a" (print a number) and "b"
 * (print a character), which its runtime calls when a builtin prints (e.g. an
 * uncaught-error path). Weak: a strong definition elsewhere wins.
 */
#include <stdint.h>
#include "prog.h"
#include "early_console.h"

struct Z__instance_t;

__attribute__((weak)) void Z_Z_a(struct Z__instance_t *inst, f64 v) {
  (void)inst;
  if (v < 0) {
    kputc('-');
    v = -v;
  }
  kputdec((uint64_t)v);
}

__attribute__((weak)) void Z_Z_b(struct Z__instance_t *inst, f64 c) {
  (void)inst;
  kputc((char)(uint32_t)c);
}
