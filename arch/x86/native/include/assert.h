#pragma once
void __assert_fail(const char *e, const char *f, int l) __attribute__((noreturn));
#define assert(e) ((e) ? (void)0 : __assert_fail(#e, __FILE__, __LINE__))
