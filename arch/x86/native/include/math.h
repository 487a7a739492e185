/* Freestanding math subset used by wasm2c output (implemented in rt.c, SSE2 only). */
#pragma once
double fabs(double); float fabsf(float);
double floor(double); float floorf(float);
double ceil(double);  float ceilf(float);
double trunc(double); float truncf(float);
double nearbyint(double); float nearbyintf(float);
double rint(double);  float rintf(float);
double sqrt(double);  float sqrtf(float);
double copysign(double, double); float copysignf(float, float);
double fmin(double, double); double fmax(double, double);
float fminf(float, float); float fmaxf(float, float);
#define INFINITY (__builtin_inff())
#define NAN (__builtin_nanf(""))
#define isnan(x) __builtin_isnan(x)
#define isinf(x) __builtin_isinf(x)
#define signbit(x) __builtin_signbit(x)
#define isfinite(x) __builtin_isfinite(x)
