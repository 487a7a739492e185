; vmxinsn.asm - long64 guest: the VMX instructions and MONITOR/MWAIT are #UD.
;
; The hypervisor hides VMX (CPUID.1:ECX[5] = 0) and MONITOR/MWAIT from its
; guests. In VMX non-root operation VMXON, VMCLEAR, VMPTRLD, VMPTRST, VMREAD,
; VMWRITE, VMLAUNCH, VMRESUME, VMXOFF, INVEPT and INVVPID exit
; unconditionally (SDM Vol 3C 26.1.2), VMFUNC exits when the function is not
; enabled or the leaf is invalid, else #UDs directly (26.1.3, 26.5.6), and
; MONITOR/MWAIT exit with "MONITOR exiting"/"MWAIT exiting" set (26.1.3). For
; all of them the hypervisor must inject #UD, as a processor without VMX or
; MONITOR/MWAIT does (SDM Vol 2: "#UD If ... not supported").
;
; For each instruction, in that order: record its expected RIP and length,
; execute it once with valid operands (memory operands point at a zeroed
; qword, registers are zeroed; MONITOR gets RAX = that qword's address), and
; check that exactly one #UD arrived with the saved RIP at the instruction.
; The #UD handler skips the instruction by the recorded length. Each prints
; "ok ud-<mnemonic>" or "FAIL ud-<mnemonic> count=<n>" / "... rip=<hex>";
; the run ends with "DONE vmxinsn <ok>/<total>" and halts with interrupts off.
; Any other exception prints "FAIL unexpected vector <n> rip=<hex>" and halts.
;
; Build: nasm -f bin -o vmxinsn.bin vmxinsn.asm

bits 64
org 0x100000

DEBUG_PORT      equ 0xE9
KERNEL_CS       equ 0x08
KERNEL_DS       equ 0x10
N_VECTORS       equ 32                  ; exceptions only; interrupts stay off

; UDTEST "<mnemonic>", {<instruction>} [, {<extra setup>}]
; Zeroes RAX/RBX/RCX/RDX/RSI/RDI, runs the optional setup, executes the
; instruction once and reports. The setup must not touch the recorded state.
%macro UDTEST 2-3
        lea     rsi, [rel %%name]
        lea     rax, [rel %%i]
        mov     ecx, %%e - %%i
        call    ud_arm                  ; rsi = name, rax = RIP, ecx = length
        xor     eax, eax
        xor     ebx, ebx
        xor     ecx, ecx
        xor     edx, edx
        xor     esi, esi
        xor     edi, edi
        %3
%%i:    %2                              ; -> #UD
%%e:    call    ud_check
        jmp     %%next
%%name: db      "ud-", %1, 0
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

        UDTEST  "vmxon",    {vmxon [rel scratch]}           ; F3 0F C7 /6
        UDTEST  "vmclear",  {vmclear [rel scratch]}         ; 66 0F C7 /6
        UDTEST  "vmptrld",  {vmptrld [rel scratch]}         ; 0F C7 /6
        UDTEST  "vmptrst",  {vmptrst [rel scratch]}         ; 0F C7 /7
        UDTEST  "vmread",   {vmread rax, rbx}               ; 0F 78
        UDTEST  "vmwrite",  {vmwrite rbx, rax}              ; 0F 79
        UDTEST  "vmlaunch", {vmlaunch}                      ; 0F 01 C2
        UDTEST  "vmresume", {vmresume}                      ; 0F 01 C3
        UDTEST  "vmxoff",   {vmxoff}                        ; 0F 01 C4
        UDTEST  "invept",   {invept rax, [rel desc16]}      ; 66 0F 38 80
        UDTEST  "invvpid",  {invvpid rax, [rel desc16]}     ; 66 0F 38 81
        UDTEST  "vmfunc",   {db 0x0F, 0x01, 0xD4}           ; VMFUNC, EAX = 0
        UDTEST  "monitor",  {monitor}, {lea rax, [rel scratch]} ; 0F 01 C8
        UDTEST  "mwait",    {mwait}                         ; 0F 01 C9

        lea     rsi, [rel s_done]
        call    puts
        mov     eax, [rel n_ok]
        call    put_dec
        mov     al, '/'
        out     DEBUG_PORT, al
        mov     eax, [rel n_total]
        call    put_dec
        call    newline
halt:   cli
        hlt
        jmp     halt

; ---------------------------------------------------------------------------
; Per-instruction bookkeeping
; ---------------------------------------------------------------------------

; rsi = check name, rax = the instruction's address, ecx = its length.
ud_arm:
        mov     [rel cur_name], rsi
        mov     [rel ud_at], rax
        mov     [rel ud_len], rcx
        mov     dword [rel ud_count], 0
        mov     qword [rel ud_rip], 0
        ret

; Right after the instruction: exactly one #UD, saved RIP = the instruction.
ud_check:
        mov     qword [rel ud_len], 0   ; disarm: another #UD is fatal
        inc     dword [rel n_total]
        mov     rsi, [rel cur_name]
        mov     eax, [rel ud_count]
        cmp     eax, 1
        jne     .fcount
        mov     rax, [rel ud_rip]
        cmp     rax, [rel ud_at]
        jne     .frip
        inc     dword [rel n_ok]
        push    rsi
        lea     rsi, [rel s_ok]
        call    puts
        pop     rsi
        call    puts
        jmp     newline
.fcount:
        lea     rdx, [rel s_count]
        call    fail_line
        jmp     put_dec_nl
.frip:
        lea     rdx, [rel s_ripeq]
        call    fail_line
        call    put_hex
        jmp     newline

; "FAIL <rsi> <rdx>" without the line end. Preserves rax.
fail_line:
        push    rsi
        lea     rsi, [rel s_fail]
        call    puts
        pop     rsi
        call    puts
        mov     rsi, rdx
        jmp     puts

put_dec_nl:
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

; #UD (vector 6, no error code): count it, remember the saved RIP, and resume
; after the armed instruction (saved RIP + recorded length). If the saved
; RIP is not the armed instruction, resume after the armed instruction
; anyway (ud_check reports the RIP) rather than at a byte in mid-code.
isr_ud:
        push    rax
        mov     rax, [rel ud_len]
        test    rax, rax
        jz      .unarmed
        inc     dword [rel ud_count]
        mov     rax, [rsp + 8]          ; saved RIP
        mov     [rel ud_rip], rax
        mov     rax, [rel ud_at]
        add     rax, [rel ud_len]
        mov     [rsp + 8], rax          ; = saved RIP + length when it matches
        pop     rax
        iretq
.unarmed:
        mov     eax, 6
        mov     rcx, [rsp + 8]
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
s_ok:           db "ok ", 0
s_fail:         db "FAIL ", 0
s_count:        db " count=", 0
s_ripeq:        db " rip=", 0
s_done:         db "DONE vmxinsn ", 0
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
n_ok:       dd 0
n_total:    dd 0
ud_count:   dd 0
            dd 0
cur_name:   dq 0                ; name of the armed check
ud_at:      dq 0                ; address of the armed instruction
ud_len:     dq 0                ; its length; 0 = no #UD expected
ud_rip:     dq 0                ; saved RIP of the last #UD
scratch:    dq 0                ; memory operand (VMCS pointer / VMXON region)
align 16
desc16:     times 16 db 0       ; INVEPT / INVVPID descriptor

align 16
idt:        times N_VECTORS * 16 db 0
