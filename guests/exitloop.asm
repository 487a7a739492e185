; exitloop.asm - long64 test guest: 175,000 VM exits (or 7 x RSI, from the
; module's arg=) of six kinds (CPUID, IN from the test control port, RDMSR
; IA32_EFER and IA32_PAT, WRMSR IA32_PAT with its own value, and an MMIO
; store and load on the test MMIO device at 0x3FE00000, which are EPT
; violations served by the instruction emulator) between a heap mark and a
; heap report (test control commands 4 and 5), so the hypervisor prints how
; much its TypeScript heap grew over them: it must be 0 (DESIGN.md: nothing
; allocates on the VM-exit path).
; Contract: guests/README.md (entry in 64-bit mode at 0x100000, RDI = VM id).
bits 64
org 0x100000

%define DEBUG_PORT      0xE9
%define TEST_PORT       0xEA
%define CMD_HEAP_MARK   4
%define CMD_HEAP_REPORT 5
%define WARMUP          100
%define ROUNDS          25000           ; x 7 exits = 175,000
%define TEST_MMIO       0x3FE00000
%define MSR_EFER        0xC0000080
%define MSR_PAT         0x277

start:
        mov     r15, rsi                ; keep the round count
        lea     rsi, [rel msg_start]
        call    puts
        mov     r12d, WARMUP            ; warm up: the first exits of each kind
        call    round_loop
        mov     dx, TEST_PORT
        mov     eax, CMD_HEAP_MARK
        out     dx, eax
        mov     r12d, r15d          ; rounds from the module's arg= (RSI), else ROUNDS
        test    r12d, r12d
        jnz     .go
        mov     r12d, ROUNDS
.go:    call    round_loop
        mov     dx, TEST_PORT
        mov     eax, CMD_HEAP_REPORT
        out     dx, eax
        lea     rsi, [rel msg_done]
        call    puts
.halt:  cli
        hlt
        jmp     .halt

; r12d rounds of: CPUID, IN, RDMSR, WRMSR (four exits). CPUID clobbers EBX.
round_loop:
.next:  xor     eax, eax
        xor     ecx, ecx
        cpuid
        mov     dx, TEST_PORT
        in      eax, dx
        mov     ecx, MSR_EFER
        rdmsr
        mov     ecx, MSR_PAT
        rdmsr
        wrmsr
        mov     rbx, TEST_MMIO
        mov     [rbx + 8], r12d         ; MMIO store (EPT violation, MOV 89 /r)
        mov     eax, [rbx + 8]          ; MMIO load (MOV 8B /r)
        dec     r12d
        jnz     .next
        ret

; Print the NUL-terminated string at rsi on the debug console.
puts:   mov     dx, DEBUG_PORT
.c:     lodsb
        test    al, al
        jz      .e
        out     dx, al
        jmp     .c
.e:     ret

msg_start:  db "exitloop start", 10, 0
msg_done:   db "DONE exitloop", 10, 0
