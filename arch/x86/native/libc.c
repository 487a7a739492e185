/*
 * libc.c - the few C library functions wasm2c's output and the runtime need,
 * freestanding: mem*, strlen, a bump allocator for wasm-rt metadata (function
 * type and table arrays made once at instantiation), and a math subset done
 * with SSE2 instructions only.
 */
#include <stdint.h>
#include <stddef.h>
#include "early_console.h"
#include "panic.h"

void *memcpy(void *d, const void *s, size_t n) {
  uint8_t *dd = d;
  const uint8_t *ss = s;
  while (n--) *dd++ = *ss++;
  return d;
}

void *memmove(void *d, const void *s, size_t n) {
  uint8_t *dd = d;
  const uint8_t *ss = s;
  if (dd < ss) {
    while (n--) *dd++ = *ss++;
  } else {
    dd += n;
    ss += n;
    while (n--) *--dd = *--ss;
  }
  return d;
}

void *memset(void *d, int c, size_t n) {
  uint8_t *dd = d;
  while (n--) *dd++ = (uint8_t)c;
  return d;
}

int memcmp(const void *a, const void *b, size_t n) {
  const uint8_t *x = a, *y = b;
  for (; n; n--, x++, y++)
    if (*x != *y) return *x - *y;
  return 0;
}

size_t strlen(const char *s) {
  size_t n = 0;
  while (s[n]) n++;
  return n;
}

/* Runtime metadata arena. wasm-rt allocates only at instantiation (tables);
   nothing on the TypeScript heap comes from here. Never freed. */
static uint8_t rt_arena[1u << 20] __attribute__((aligned(16)));
size_t rt_arena_used;

void *malloc(size_t n) {
  n = (n + 15) & ~(size_t)15;
  if (n > sizeof rt_arena - rt_arena_used) hv_panic("runtime arena exhausted (malloc)");
  void *p = rt_arena + rt_arena_used;
  rt_arena_used += n;
  return p;
}

void *calloc(size_t n, size_t m) {
  if (m && n > SIZE_MAX / m) hv_panic("calloc overflow");
  void *p = malloc(n * m);
  memset(p, 0, n * m);
  return p;
}

void free(void *p) { (void)p; }

void *realloc(void *p, size_t n) {
  (void)p;
  (void)n;
  hv_panic("realloc is not supported by the bare-metal runtime");
}

void abort(void) { hv_panic("abort() called"); }

void __assert_fail(const char *e, const char *f, int l) {
  kputs("assertion failed: ");
  kputs(e);
  kputs(" at ");
  kputs(f);
  kputs(":");
  kputdec((uint64_t)l);
  kputs("\n");
  hv_panic("assertion failed");
}

/* ---- math subset (SSE2 only; wasm2c uses these for f64/f32 rounding ops) ---- */
double fabs(double x) { return __builtin_fabs(x); }
float fabsf(float x) { return __builtin_fabsf(x); }
double sqrt(double x) { double r; __asm__("sqrtsd %1, %0" : "=x"(r) : "x"(x)); return r; }
float sqrtf(float x) { float r; __asm__("sqrtss %1, %0" : "=x"(r) : "x"(x)); return r; }
double copysign(double a, double b) { return __builtin_copysign(a, b); }
float copysignf(float a, float b) { return __builtin_copysignf(a, b); }
/* |x| >= 2^52 is already an integer (or NaN/inf). */
double trunc(double x) {
  if (!(__builtin_fabs(x) < 4503599627370496.0)) return x;
  return __builtin_copysign((double)(int64_t)x, x);
}
double floor(double x) { double t = trunc(x); return (t > x) ? t - 1.0 : t; }
double ceil(double x) { double t = trunc(x); return (t < x) ? t + 1.0 : t; }
/* Round half to even, as Wasm's f64.nearest requires. */
double nearbyint(double x) {
  if (!(__builtin_fabs(x) < 4503599627370496.0)) return x;
  double f = floor(x), d = x - f;
  double r = d < 0.5 ? f : d > 0.5 ? f + 1.0 : (((int64_t)f & 1) ? f + 1.0 : f);
  return __builtin_copysign(r, x);
}
double rint(double x) { return nearbyint(x); }
float truncf(float x) { return (float)trunc(x); }
float floorf(float x) { return (float)floor(x); }
float ceilf(float x) { return (float)ceil(x); }
float nearbyintf(float x) { return (float)nearbyint(x); }
float rintf(float x) { return (float)nearbyint(x); }
/* Wasm min/max: NaN in, NaN out; -0 < +0. */
double fmin(double a, double b) {
  if (a != a || b != b) return __builtin_nan("");
  if (a == b) return __builtin_signbit(a) ? a : b;
  return a < b ? a : b;
}
double fmax(double a, double b) {
  if (a != a || b != b) return __builtin_nan("");
  if (a == b) return __builtin_signbit(a) ? b : a;
  return a > b ? a : b;
}
float fminf(float a, float b) { return (float)fmin(a, b); }
float fmaxf(float a, float b) { return (float)fmax(a, b); }
