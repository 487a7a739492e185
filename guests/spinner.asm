; spinner.asm - CPU-bound long64 guest for two VMs sharing one pCPU.
;
; Prints "tick <vmid> <i>" for i = 1..5 with a busy loop of about 20 million
; instructions between ticks, then "DONE spinner", and halts. <vmid> is the
; RDI the hypervisor passes at entry (guests/README.md), so the two VMs'
; lines differ even without the console's VM-name prefix. The loop makes no
; VM exits: the ticks of the two VMs interleave only if the hypervisor
; preempts a running vCPU (timer-driven scheduling), not just at exits.
;
; No GDT/IDT: this guest takes no interrupts or exceptions.
;
; Build: nasm -f bin -o spinner.bin spinner.asm

bits 64
org 0x100000

DEBUG_PORT      equ 0xE9
TICKS           equ 5
SPIN            equ 10000000        ; x 2 instructions (dec/jnz) per tick

start:
        cli
        cld
        mov     r15, rdi                ; VM id
        mov     r14d, 1                 ; tick number
.tick:
        lea     rsi, [rel s_tick]
        call    puts
        mov     rax, r15
        call    put_dec
        mov     al, ' '
        out     DEBUG_PORT, al
        mov     rax, r14
        call    put_dec
        mov     al, 10
        out     DEBUG_PORT, al
        cmp     r14d, TICKS
        jae     .done
        mov     ecx, SPIN
.spin:  dec     ecx
        jnz     .spin
        inc     r14d
        jmp     .tick
.done:
        lea     rsi, [rel s_done]
        call    puts
halt:   cli
        hlt
        jmp     halt

; rsi = NUL-terminated string
puts:
        lodsb
        test    al, al
        jz      .e
        out     DEBUG_PORT, al
        jmp     puts
.e:     ret

; rax unsigned decimal; clobbers rax, rcx, rdx, r8
put_dec:
        mov     r8d, 10
        xor     ecx, ecx
.div:   xor     edx, edx
        div     r8
        push    rdx
        inc     ecx
        test    rax, rax
        jnz     .div
.out:   pop     rax
        add     al, '0'
        out     DEBUG_PORT, al
        dec     ecx
        jnz     .out
        ret

s_tick: db "tick ", 0
s_done: db "DONE spinner", 10, 0
