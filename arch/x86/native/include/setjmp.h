/* setjmp/longjmp for wasm2c's exception unwinding; implemented in boot/boot.asm.
   jmp_buf: rbx rbp r12 r13 r14 r15 rsp rip (SysV callee-saved state). */
#pragma once
typedef unsigned long jmp_buf[8];
int setjmp(jmp_buf env) __attribute__((returns_twice));
void longjmp(jmp_buf env, int val) __attribute__((noreturn));
