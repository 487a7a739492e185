/*
 * wasm_rt.c - the wasm-rt interface (wabt 1.0.32's wasm-rt.h) on bare metal.
 *
 * Linear memory lives in a fixed physical window (identity mapped), carved from
 * RAM by kmain before instantiation and recorded as hypervisor-owned, so the
 * TypeScript heap never moves and never reaches a guest. Traps and uncaught
 * exceptions are panics. Exception unwinding uses setjmp/longjmp (boot.asm)
 * with one unwind target per CPU.
 */
#include <stdint.h>
#include <stddef.h>
#include <stdarg.h>
#include <string.h>
#include <stdlib.h>
#include "wasm-rt.h"
#include "early_console.h"
#include "panic.h"
#include "smp.h"

#define WASM_PAGE_SIZE 65536u
#define MAX_EXCEPTION_SIZE 256
#define MAX_FUNC_TYPES 256
#define MAX_FUNC_TYPE_ARITY 64

/* Set by kmain (wasm_window_set) before the module is instantiated. */
static uint64_t window_base, window_size;
static int window_taken;

void wasm_window_set(uint64_t base, uint64_t size) {
  window_base = base;
  window_size = size;
}

static const char *trap_name(wasm_rt_trap_t t) {
  switch (t) {
    case WASM_RT_TRAP_OOB: return "out of bounds memory access";
    case WASM_RT_TRAP_INT_OVERFLOW: return "integer overflow";
    case WASM_RT_TRAP_DIV_BY_ZERO: return "divide by zero";
    case WASM_RT_TRAP_INVALID_CONVERSION: return "invalid conversion";
    case WASM_RT_TRAP_UNREACHABLE: return "unreachable";
    case WASM_RT_TRAP_CALL_INDIRECT: return "call_indirect type mismatch";
    case WASM_RT_TRAP_UNCAUGHT_EXCEPTION: return "uncaught TypeScript exception";
    case WASM_RT_TRAP_EXHAUSTION: return "call stack exhausted";
    default: return "unknown trap";
  }
}

const char *wasm_rt_strerror(wasm_rt_trap_t t) { return trap_name(t); }

void wasm_rt_trap(wasm_rt_trap_t code) {
  kputs("Wasm trap in TypeScript: ");
  kputs(trap_name(code));
  kputs("\n");
  hv_panic("TypeScript trapped");
}

void wasm_rt_init(void) {}
bool wasm_rt_is_initialized(void) { return true; }
void wasm_rt_free(void) {}

typedef struct {
  uint32_t params, results;
  wasm_rt_type_t types[MAX_FUNC_TYPE_ARITY];
} func_type_t;
static func_type_t func_types[MAX_FUNC_TYPES];
static uint32_t func_type_count;

uint32_t wasm_rt_register_func_type(uint32_t params, uint32_t results, ...) {
  func_type_t ft;
  memset(&ft, 0, sizeof ft);
  ft.params = params;
  ft.results = results;
  if (params + results > MAX_FUNC_TYPE_ARITY) hv_panic("wasm-rt: function type too large");
  va_list ap;
  va_start(ap, results);
  for (uint32_t i = 0; i < params + results; i++) ft.types[i] = va_arg(ap, wasm_rt_type_t);
  va_end(ap);
  for (uint32_t i = 0; i < func_type_count; i++)
    if (!memcmp(&func_types[i], &ft, sizeof ft)) return i + 1;
  if (func_type_count == MAX_FUNC_TYPES) hv_panic("wasm-rt: too many function types");
  func_types[func_type_count++] = ft;
  return func_type_count;
}

/* ---- exceptions (one in flight at a time: only one CPU runs TypeScript) ---- */
static uint32_t exc_tag, exc_size, tag_count;
static uint8_t exc_buf[MAX_EXCEPTION_SIZE];

uint32_t wasm_rt_register_tag(uint32_t size) {
  if (size > MAX_EXCEPTION_SIZE) hv_panic("wasm-rt: exception payload too large");
  return tag_count++;
}

void wasm_rt_load_exception(uint32_t tag, uint32_t size, const void *values) {
  exc_tag = tag;
  exc_size = size;
  if (size) memcpy(exc_buf, values, size);
}

void wasm_rt_throw(void) {
  jmp_buf *target = this_percpu()->unwind_target;
  if (!target) wasm_rt_trap(WASM_RT_TRAP_UNCAUGHT_EXCEPTION);
  longjmp(*target, WASM_RT_TRAP_UNCAUGHT_EXCEPTION);
}

WASM_RT_UNWIND_TARGET *wasm_rt_get_unwind_target(void) { return this_percpu()->unwind_target; }
void wasm_rt_set_unwind_target(WASM_RT_UNWIND_TARGET *t) { this_percpu()->unwind_target = t; }
uint32_t wasm_rt_exception_tag(void) { return exc_tag; }
uint32_t wasm_rt_exception_size(void) { return exc_size; }
void *wasm_rt_exception(void) { return exc_buf; }

/* ---- linear memory: the fixed window ---- */
void wasm_rt_allocate_memory(wasm_rt_memory_t *m, uint32_t initial, uint32_t max) {
  if (window_taken) hv_panic("wasm-rt: a second linear memory was requested");
  if (!window_size) hv_panic("wasm-rt: no Wasm window was set before instantiation");
  uint64_t window_pages = window_size / WASM_PAGE_SIZE;
  if (max == 0 || max > window_pages) max = (uint32_t)window_pages;
  if (initial > max) hv_panic("wasm-rt: the module's initial memory does not fit the Wasm window");
  window_taken = 1;
  m->data = (uint8_t *)(uintptr_t)window_base;
  m->pages = initial;
  m->max_pages = max;
  m->size = (uint64_t)initial * WASM_PAGE_SIZE;
  memset(m->data, 0, m->size);
}

uint32_t wasm_rt_grow_memory(wasm_rt_memory_t *m, uint32_t delta) {
  uint32_t old = m->pages, pages = old + delta;
  /* porffor's allocator does not check memory.grow's result, so failing here
     would corrupt memory: the heap running out is fatal, with a clear message. */
  if (pages < old || pages > m->max_pages) {
    kputs("TypeScript heap exhausted: Wasm window of ");
    kputdec(window_size >> 20);
    kputs(" MiB is full (raise WASM_WINDOW_MB)\n");
    hv_panic("out of TypeScript heap");
  }
  memset(m->data + m->size, 0, (size_t)delta * WASM_PAGE_SIZE);
  m->pages = pages;
  m->size = (uint64_t)pages * WASM_PAGE_SIZE;
  return old;
}

void wasm_rt_free_memory(wasm_rt_memory_t *m) { (void)m; }

void wasm_rt_allocate_funcref_table(wasm_rt_funcref_table_t *t, uint32_t n, uint32_t max) {
  t->size = n;
  t->max_size = max;
  t->data = calloc(n ? n : 1, sizeof(wasm_rt_funcref_t));
}
void wasm_rt_free_funcref_table(wasm_rt_funcref_table_t *t) { (void)t; }
void wasm_rt_allocate_externref_table(wasm_rt_externref_table_t *t, uint32_t n, uint32_t max) {
  t->size = n;
  t->max_size = max;
  t->data = calloc(n ? n : 1, sizeof(wasm_rt_externref_t));
}
void wasm_rt_free_externref_table(wasm_rt_externref_table_t *t) { (void)t; }
uint32_t wasm_rt_grow_funcref_table(wasm_rt_funcref_table_t *t, uint32_t d, wasm_rt_funcref_t init) {
  (void)t; (void)d; (void)init;
  hv_panic("wasm-rt: table.grow is not supported");
}
uint32_t wasm_rt_grow_externref_table(wasm_rt_externref_table_t *t, uint32_t d, wasm_rt_externref_t init) {
  (void)t; (void)d; (void)init;
  hv_panic("wasm-rt: table.grow is not supported");
}
