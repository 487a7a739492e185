; triple.asm - long64 guest that triple-faults on purpose.
;
; Prints "triple-fault now", loads an IDT with limit 0 and executes INT3.
; Vector 3's gate lies beyond the IDT limit, so delivery raises #GP(error
; code 3*8+2 = 0x1A: IDT bit set, SDM Vol 3A 6.13 "Error Code"); the #GP gate is
; beyond the limit too, which is a contributory fault during delivery of a
; #GP, so the processor raises #DF (SDM Vol 3A 6.15, "Interrupt 8 - Double
; Fault Exception (#DF)", Table 6-5); the #DF gate is also beyond the limit,
; and a fault while invoking the double-fault handler is a triple fault: the
; processor shuts down. In VMX non-root operation a triple fault is a VM exit
; (exit reason 2, SDM Vol 3C "Other Causes of VM Exits"); the hypervisor
; must stop (or, per ACRN, reset) this VM and carry on with the others.
;
; Nothing is printed after the first line.
;
; Build: nasm -f bin -o triple.bin triple.asm

bits 64
org 0x100000

DEBUG_PORT      equ 0xE9

start:
        cli
        cld
        lea     rsi, [rel s_msg]
.l:     lodsb
        test    al, al
        jz      .go
        out     DEBUG_PORT, al
        jmp     .l
.go:    lidt    [rel idt_empty]
        int3                            ; #GP -> #DF -> triple fault
halt:   cli                             ; never reached
        hlt
        jmp     halt

s_msg:  db "triple-fault now", 10, 0

align 8
        dw 0, 0, 0
idt_empty:
        dw 0                            ; limit 0: no gate fits
        dq 0                            ; base 0
