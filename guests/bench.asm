; bench.asm - long64 guest: VM-exit round-trip cost, measured with RDTSC.
;
; Each loop runs N iterations of one instruction between two TSC reads and
; prints "bench <name> <cycles-per-iteration>" ((tsc_end - tsc_start) / N,
; 64-bit unsigned, decimal), then "DONE bench", and halts:
;   cpuid   CPUID with EAX = ECX = 0: exits unconditionally (SDM Vol 3C
;           26.1.2), answered from the hypervisor's table
;   vmcall  VMCALL: exits unconditionally; from a non-Service VM the
;           hypervisor injects #UD, so an iteration is exit + #UD delivery +
;           the guest handler's IRETQ. A #UD count other than N prints
;           "FAIL bench vmcall ud=<n>".
;   io-in   IN AL, 0xEA: an I/O exit (unconditional I/O exiting or the I/O
;           bitmap) emulated by the hypervisor's test control port
;   nop     the same loop with NOP: the baseline, no exit
; RDTSC itself must not exit (the hypervisor leaves RDTSC exiting off), and
; the TSC goes on counting while the hypervisor handles an exit, so the
; figures are guest-visible TSC ticks including the hypervisor's time.
; LFENCE before RDTSC keeps it from running ahead of earlier instructions
; (SDM Vol 2 RDTSC); LFENCE after the first read keeps the loop from
; starting before it.
; Any exception other than the VMCALL #UD prints
; "FAIL unexpected vector <n> rip=<hex>" and halts.
;
; Build: nasm -f bin -o bench.bin bench.asm

bits 64
org 0x100000

DEBUG_PORT      equ 0xE9
TEST_PORT       equ 0xEA
KERNEL_CS       equ 0x08
KERNEL_DS       equ 0x10
N_VECTORS       equ 32                  ; exceptions only; interrupts stay off
TEST_MMIO       equ 0x3FE00000          ; the test MMIO device (guests/README.md)
N               equ 2000                ; iterations per loop (Bochs is slow)

; BENCH "<name>", {<instruction>}: time N iterations of
; "xor eax, eax; xor ecx, ecx; <instruction>" and print the line.
; The loop counter lives in R13 and the start TSC in R12, which none of the
; measured instructions touch (CPUID writes EAX-EDX, IN writes AL).
%macro BENCH 2
        call    tsc_now
        mov     r12, rax
        mov     r13d, N
%%loop: xor     eax, eax
        xor     ecx, ecx
        %2
        dec     r13d
        jnz     %%loop
        call    tsc_now
        lea     rsi, [rel %%name]
        call    report
        jmp     %%next
%%name: db      %1, 0
%%next:
%endmacro

; ---------------------------------------------------------------------------
start:
        cli
        cld
        lgdt    [rel gdt_desc]
        push    KERNEL_CS               ; IRETQ pops CS and SS: both must name
        lea     rax, [rel .cs_loaded]   ; our GDT
        push    rax
        retfq
.cs_loaded:
        mov     ax, KERNEL_DS
        mov     ds, ax
        mov     es, ax
        mov     ss, ax
        xor     eax, eax
        mov     fs, ax
        mov     gs, ax
        call    idt_init
        lidt    [rel idt_desc]

        BENCH   "cpuid",  {cpuid}
        mov     dword [rel ud_count], 0
        BENCH   "vmcall", {vmcall}                  ; -> #UD, skipped
        mov     eax, [rel ud_count]
        cmp     eax, N
        je      .ud_ok
        lea     rsi, [rel s_ud_fail]
        call    puts
        call    put_dec
        call    newline
.ud_ok:
        BENCH   "io-in",  {in al, TEST_PORT}
        mov     rbx, TEST_MMIO
        BENCH   "mmio-load", {mov eax, [rbx]}       ; EPT violation: fetch, decode, emulate
        BENCH   "nop",    {nop}

        lea     rsi, [rel s_done]
        call    puts
halt:   cli
        hlt
        jmp     halt

; rax = TSC (EDX:EAX of RDTSC), after earlier instructions completed.
; Clobbers rdx.
tsc_now:
        lfence
        rdtsc
        lfence
        shl     rdx, 32
        or      rax, rdx
        ret

; rsi = name, r12 = start TSC, rax = end TSC: "bench <name> <(rax-r12)/N>".
report:
        sub     rax, r12
        xor     edx, edx
        mov     ecx, N
        div     rcx
        push    rsi
        lea     rsi, [rel s_bench]
        call    puts
        pop     rsi
        call    puts
        push    rax
        mov     al, ' '
        out     DEBUG_PORT, al
        pop     rax
        call    put_dec
        jmp     newline

; ---------------------------------------------------------------------------
; Console helpers (as in long64.asm). All preserve every register.
; ---------------------------------------------------------------------------

; puts: rsi = NUL-terminated string.
puts:
        push    rax
        push    rsi
.l:     lodsb
        test    al, al
        jz      .e
        out     DEBUG_PORT, al
        jmp     .l
.e:     pop     rsi
        pop     rax
        ret

newline:
        push    rax
        mov     al, 10
        out     DEBUG_PORT, al
        pop     rax
        ret

; put_hex: rax as "0x" and at least one hex digit.
put_hex:
        push    rax
        push    rcx
        push    rdx
        mov     rdx, rax
        mov     al, '0'
        out     DEBUG_PORT, al
        mov     al, 'x'
        out     DEBUG_PORT, al
        mov     ecx, 60
.skip:  test    ecx, ecx
        jz      .dig
        mov     rax, rdx
        shr     rax, cl
        test    al, 0x0F
        jnz     .dig
        sub     ecx, 4
        jmp     .skip
.dig:   mov     rax, rdx
        shr     rax, cl
        and     eax, 0x0F
        cmp     al, 10
        jb      .num
        add     al, 'a' - '0' - 10
.num:   add     al, '0'
        out     DEBUG_PORT, al
        sub     ecx, 4
        jns     .dig
        pop     rdx
        pop     rcx
        pop     rax
        ret

; put_dec: rax unsigned decimal.
put_dec:
        push    rax
        push    rbx
        push    rcx
        push    rdx
        mov     ebx, 10
        xor     ecx, ecx
.div:   xor     edx, edx
        div     rbx
        push    rdx
        inc     ecx
        test    rax, rax
        jnz     .div
.out:   pop     rax
        add     al, '0'
        out     DEBUG_PORT, al
        dec     ecx
        jnz     .out
        pop     rdx
        pop     rcx
        pop     rbx
        pop     rax
        ret

; ---------------------------------------------------------------------------
; IDT: 64-bit interrupt gates (SDM Vol 3A 6.14.1) for the 32 exception
; vectors; all point at catch-all stubs except #UD.
; ---------------------------------------------------------------------------

idt_init:
        xor     ecx, ecx
        lea     rax, [rel stubs]
.l:     call    set_gate
        add     rax, STUB_SIZE
        inc     ecx
        cmp     ecx, N_VECTORS
        jb      .l
        mov     ecx, 6
        lea     rax, [rel isr_ud]
        jmp     set_gate

; ecx = vector, rax = handler. Preserves all registers.
set_gate:
        push    rax
        push    rdx
        mov     edx, ecx
        shl     rdx, 4
        add     rdx, idt
        mov     [rdx], ax                       ; offset 15:0
        mov     word [rdx + 2], KERNEL_CS       ; selector
        mov     word [rdx + 4], 0x8E00          ; P=1 DPL=0 type=0xE, IST=0
        shr     rax, 16
        mov     [rdx + 6], ax                   ; offset 31:16
        shr     rax, 16
        mov     [rdx + 8], eax                  ; offset 63:32
        mov     dword [rdx + 12], 0
        pop     rdx
        pop     rax
        ret

; #UD (vector 6, no error code): skip VMCALL (0F 01 C1, 3 bytes) and count it.
isr_ud:
        push    rax
        mov     rax, [rsp + 8]          ; saved RIP
        cmp     word [rax], 0x010F      ; 0F 01
        jne     .unknown
        cmp     byte [rax + 2], 0xC1    ; C1
        jne     .unknown
        add     qword [rsp + 8], 3
        inc     dword [rel ud_count]
        pop     rax
        iretq
.unknown:
        mov     rcx, rax
        mov     eax, 6
        jmp     fatal

; Catch-all stubs: 10 bytes each, "push vector; jmp catch_all".
STUB_SIZE equ 10
stubs:
%assign v 0
%rep N_VECTORS
        push    strict dword v
        jmp     strict near catch_all
%assign v v + 1
%endrep
        times (($ - stubs) - N_VECTORS * STUB_SIZE) db 0     ; assert: not longer
        times ((N_VECTORS * STUB_SIZE) - ($ - stubs)) db 0   ; assert: not shorter

; [rsp] = vector, then the error code for vectors 8, 10-14, 17, 21, 29, 30
; (SDM Vol 3A 6.15 / Table 6-1), then RIP.
catch_all:
        mov     rax, [rsp]
        mov     rcx, [rsp + 8]
        mov     edx, 0x60227D00         ; vectors that push an error code
        bt      edx, eax
        jnc     fatal
        mov     rcx, [rsp + 16]
; eax = vector, rcx = RIP: "FAIL unexpected vector <n> rip=<hex>", halt.
fatal:
        cld
        lea     rsi, [rel s_unexpected]
        call    puts
        call    put_dec
        lea     rsi, [rel s_rip]
        call    puts
        mov     rax, rcx
        call    put_hex
        call    newline
        jmp     halt

; ---------------------------------------------------------------------------
; Data
; ---------------------------------------------------------------------------
s_bench:        db "bench ", 0
s_ud_fail:      db "FAIL bench vmcall ud=", 0
s_done:         db "DONE bench", 10, 0
s_unexpected:   db "FAIL unexpected vector ", 0
s_rip:          db " rip=", 0

align 8
gdt:    dq 0
        dq 0x00AF9A000000FFFF   ; 0x08: 64-bit code, DPL 0 (L=1, D=0)
        dq 0x00CF92000000FFFF   ; 0x10: data, flat
gdt_end:

align 8
        dw 0, 0, 0
gdt_desc:
        dw gdt_end - gdt - 1
        dq gdt
        dw 0, 0, 0
idt_desc:
        dw N_VECTORS * 16 - 1
        dq idt

align 8
ud_count:   dd 0                ; #UDs taken by isr_ud

align 16
idt:        times N_VECTORS * 16 db 0
