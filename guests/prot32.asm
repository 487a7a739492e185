; prot32.asm - 32-bit protected-mode guest (kind "prot32").
;
; Loaded at GPA 0x100000 and entered like a Linux 32-bit boot protocol kernel:
; protected mode, paging off, CS = 0x10 flat code, DS/ES/SS = 0x18 flat data,
; ESP = 0x80000, ESI = 0 (no zero page), IF = 0, no GDT/IDT loaded
; (ACRN-ABI.md "Linux boot protocol", 32-bit entry).
;
; Prints "prot32 up esi=<8 hex digits>", then one "ok <name>" or
; "FAIL <name> <detail>" per check, then "DONE prot32 <ok>/<total>", and halts.
;
; Build: nasm -f bin -o prot32.bin prot32.asm

bits 32
org 0x100000

DEBUG_PORT      equ 0xE9
TEST_PORT       equ 0xEA
BOOT_CS         equ 0x10            ; Linux __BOOT_CS
BOOT_DS         equ 0x18            ; Linux __BOOT_DS

%macro CHECK 1
        jmp     %%go
.name:  db      %1, 0
%%go:
%endmacro

%macro PASS 0
        mov     esi, .name
        jmp     report_ok
%endmacro

%macro FAIL 2
        mov     eax, %2
        mov     esi, .name
        mov     edx, %%d
        jmp     report_fail
%%d:    db      %1, 0
%endmacro

start:
        cli
        cld
        mov     ebp, esi                ; entry ESI, printed below
        ; Our own GDT with the same selectors as the boot protocol's; the
        ; far jump and segment loads read the descriptors back from guest RAM.
        lgdt    [gdt_desc]
        jmp     BOOT_CS:.cs_loaded
.cs_loaded:
        mov     ax, BOOT_DS
        mov     ds, ax
        mov     es, ax
        mov     ss, ax
        mov     fs, ax
        mov     gs, ax
        mov     esp, 0x80000
        call    idt_init
        lidt    [idt_desc]

        mov     esi, s_up
        call    puts
        mov     eax, ebp
        call    put_hex32
        call    newline

        call    t_cpuid_hv
        call    t_cr0_mode
        call    t_io_in
        call    t_io_rep_outs

        mov     esi, s_done
        call    puts
        mov     eax, [n_ok]
        call    put_dec
        mov     al, '/'
        out     DEBUG_PORT, al
        mov     eax, [n_total]
        call    put_dec
        call    newline
halt:   cli
        hlt
        jmp     halt

; CPUID.01H:ECX[31] hypervisor present; ECX[5] VMX hidden.
t_cpuid_hv:
        CHECK   "cpuid-hv"
        mov     eax, 1
        xor     ecx, ecx
        cpuid
        mov     eax, ecx
        and     eax, (1 << 31) | (1 << 5)
        cmp     eax, 1 << 31
        jne     .f
        PASS
.f:     FAIL    "ecx", ecx

; Protected mode without paging: CR0.PE = 1, CR0.PG = 0. Under unrestricted
; guest the hypervisor may not force PE/PG (SDM Vol 3C 26.3.1.1), so the
; guest sees exactly the mode it was started in.
t_cr0_mode:
        CHECK   "cr0-mode"
        mov     eax, cr0
        mov     ecx, eax
        and     ecx, 0x80000001
        cmp     ecx, 1
        jne     .f
        PASS
.f:     FAIL    "cr0", eax

; Port 0xEA counter: the VM's first read gives 0; IN AL gives the next
; value (1) and leaves EAX[31:8] alone (SDM Vol 2 IN).
t_io_in:
        CHECK   "io-in"
        mov     dx, TEST_PORT
        in      eax, dx
        test    eax, eax
        jnz     .f1
        mov     eax, 0x55667788
        in      al, dx
        cmp     eax, 0x55667701
        jne     .f2
        PASS
.f1:    FAIL    "first", eax
.f2:    FAIL    "second", eax

; REP OUTSB: the string is the check's output line; nothing else is printed
; when it passes.
t_io_rep_outs:
        CHECK   "io-rep-outs"
        mov     esi, s_rep_outs
        mov     ecx, s_rep_outs_len
        mov     dx, DEBUG_PORT
        rep     outsb
        test    ecx, ecx
        jnz     .fecx
        cmp     esi, s_rep_outs + s_rep_outs_len
        jne     .fesi
        inc     dword [n_ok]
        inc     dword [n_total]
        ret
.fecx:  FAIL    "ecx", ecx
.fesi:  FAIL    "esi", esi

; ---------------------------------------------------------------------------
report_ok:                              ; esi = name
        push    esi
        mov     esi, s_ok
        call    puts
        pop     esi
        call    puts
        call    newline
        inc     dword [n_ok]
        inc     dword [n_total]
        ret

report_fail:                            ; esi = name, edx = detail, eax = value
        push    esi
        mov     esi, s_fail
        call    puts
        pop     esi
        call    puts
        push    eax
        mov     al, ' '
        out     DEBUG_PORT, al
        mov     esi, edx
        call    puts
        mov     al, '='
        out     DEBUG_PORT, al
        pop     eax
        call    put_hex32
        call    newline
        inc     dword [n_total]
        ret

puts:                                   ; esi = NUL-terminated string
        push    eax
        push    esi
.l:     lodsb
        test    al, al
        jz      .e
        out     DEBUG_PORT, al
        jmp     .l
.e:     pop     esi
        pop     eax
        ret

newline:
        push    eax
        mov     al, 10
        out     DEBUG_PORT, al
        pop     eax
        ret

put_hex32:                              ; eax as 8 hex digits
        push    eax
        push    ecx
        push    edx
        mov     edx, eax
        mov     ecx, 8
.l:     rol     edx, 4
        mov     al, dl
        and     al, 0x0F
        cmp     al, 10
        jb      .n
        add     al, 'a' - '0' - 10
.n:     add     al, '0'
        out     DEBUG_PORT, al
        dec     ecx
        jnz     .l
        pop     edx
        pop     ecx
        pop     eax
        ret

put_dec:                                ; eax unsigned decimal
        push    eax
        push    ebx
        push    ecx
        push    edx
        mov     ebx, 10
        xor     ecx, ecx
.div:   xor     edx, edx
        div     ebx
        push    edx
        inc     ecx
        test    eax, eax
        jnz     .div
.out:   pop     eax
        add     al, '0'
        out     DEBUG_PORT, al
        dec     ecx
        jnz     .out
        pop     edx
        pop     ecx
        pop     ebx
        pop     eax
        ret

; ---------------------------------------------------------------------------
; IDT: 32-bit interrupt gates for the 32 exception vectors (SDM Vol 3A 6.11),
; each pointing at a stub that reports "FAIL unexpected vector <n>" and halts.
; ---------------------------------------------------------------------------
idt_init:
        mov     edi, idt
        mov     eax, stubs
        xor     ecx, ecx
.l:     mov     [edi], ax                       ; offset 15:0
        mov     word [edi + 2], BOOT_CS
        mov     word [edi + 4], 0x8E00          ; P=1 DPL=0 32-bit int gate
        mov     edx, eax
        shr     edx, 16
        mov     [edi + 6], dx                   ; offset 31:16
        add     eax, STUB_SIZE
        add     edi, 8
        inc     ecx
        cmp     ecx, 32
        jb      .l
        ret

STUB_SIZE equ 10
stubs:
%assign v 0
%rep 32
        push    strict dword v
        jmp     strict near catch_all
%assign v v + 1
%endrep
        times (($ - stubs) - 32 * STUB_SIZE) db 0
        times ((32 * STUB_SIZE) - ($ - stubs)) db 0

; [esp] = vector, then the error code for 8, 10-14, 17, 21, 29, 30, then EIP.
catch_all:
        cld
        mov     eax, [esp]
        mov     ecx, [esp + 4]
        mov     edx, 0x60227D00
        bt      edx, eax
        jnc     .p
        mov     ecx, [esp + 8]
.p:     mov     esi, s_unexpected
        call    puts
        call    put_dec
        mov     esi, s_eip
        call    puts
        mov     eax, ecx
        call    put_hex32
        call    newline
        jmp     halt

; ---------------------------------------------------------------------------
s_up:           db "prot32 up esi=", 0
s_ok:           db "ok ", 0
s_fail:         db "FAIL ", 0
s_done:         db "DONE prot32 ", 0
s_unexpected:   db "FAIL unexpected vector ", 0
s_eip:          db " eip=", 0
s_rep_outs:     db "rep-outs ok", 10
s_rep_outs_len  equ $ - s_rep_outs

align 8
gdt:    dq 0
        dq 0
        dq 0x00CF9A000000FFFF   ; 0x10: flat 4 GiB code, 32-bit
        dq 0x00CF92000000FFFF   ; 0x18: flat 4 GiB data
gdt_end:
        dw 0
gdt_desc:
        dw gdt_end - gdt - 1
        dd gdt
        dw 0
idt_desc:
        dw 32 * 8 - 1
        dd idt

align 4
n_ok:   dd 0
n_total: dd 0

align 8
idt:    times 32 * 8 db 0
