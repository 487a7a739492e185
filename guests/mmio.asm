; mmio.asm - long64 guest: every MMIO instruction form the hypervisor's
; instruction emulator supports, checked against the CPU itself.
;
; The test MMIO device (guests/README.md): a scratch register file at GPA
; 0x3FE00000, 0x2000 bytes (two 4 KiB pages), not mapped in the EPT, so every
; access is an EPT violation that the hypervisor decodes and emulates; it
; behaves like little-endian RAM (initially 0) for 1/2/4/8-byte accesses at
; any alignment. The page at 0x3FE02000, like every other GPA no device
; claims, is "unmapped MMIO": reads return all ones, writes are dropped.
;
; Differential checks: each case runs the SAME instruction twice, starting
; from identical register values (the 15 GPRs other than RSP), RFLAGS and
; memory contents: once against a RAM window (ram_win) and once against a
; window of the device (MWIN, 0x80 bytes at 0x3FE00FC0, so the device's page
; boundary 0x3FE01000 is window offset 0x40). Registers marked as pointers
; (macro P) hold "window base + offset" in each run and are compared as
; offsets. Afterwards the GPRs, RFLAGS (masked to the flags the SDM defines
; for the instruction), the window (read back with qword loads) and the aux
; buffer must be equal: the CPU (Bochs) is the reference. Forms with the
; address inside the instruction (moffs, RIP-relative, SIB without base) are
; assembled twice, once per window (W in the T macro).
;
; The aux buffer (AUX, 0x80 bytes) is the RAM side of MOVS: it sits at the
; virtual address 0x20000FC0, whose 4 KiB pages the guest maps with its own
; page table to NON-adjacent physical pages (remap_init), so the RAM side of
; MOVS crosses a page boundary (also inside one element). The same page table
; holds instructions that straddle non-adjacent code pages (group
; fetch-straddle). FS and GS get non-zero bases (for segment overrides).
;
; Output: one line per group, "ok <group>", or for each failing case
; "FAIL <group> <case> <what>=<mmio value> ram=<RAM value>" (differential) or
; "FAIL <group> <case> got=<hex> want=<hex>" (direct checks); then
; "DONE mmio <ok>/<total>". RSI (module arg) = 0: then prints
; "unsupported-add now" and runs `add [0x3FE00000], eax`, which the emulator
; does not handle: the hypervisor must stop the VM ("FAIL still running" if
; it does not). Any other arg: halts after DONE. Exceptions print
; "FAIL unexpected vector <n> rip=<hex>" and halt.
;
; Build: nasm -f bin -o mmio.bin mmio.asm

bits 64
org 0x100000

ORG_ADDR        equ 0x100000
DEBUG_PORT      equ 0xE9
KERNEL_CS       equ 0x08
KERNEL_DS       equ 0x10

MMIO_BASE       equ 0x3FE00000          ; test device, 2 pages
MMIO_END        equ 0x3FE02000
UNMAPPED        equ 0x3FE02000          ; unmapped MMIO page: reads all ones
WIN             equ 0x80                ; window size (bytes, multiple of 8)
MWIN            equ MMIO_BASE + 0x1000 - 0x40   ; device window: page boundary at +0x40

REMAP_VA        equ 0x20000000          ; 2 MiB of VA remapped with 4 KiB pages
PT_PA           equ 0x240000            ; its page table
PAGE0_PA        equ 0x380000            ; VA page i -> these, none adjacent
PAGE1_PA        equ 0x250000
PAGE2_PA        equ 0x3A0000
PAGE3_PA        equ 0x260000
PAGE4_PA        equ 0x270000
AUX             equ REMAP_VA + 0x1000 - 0x40    ; page boundary at +0x40
AUXN            equ 0x80

MSR_FS_BASE     equ 0xC0000100
MSR_GS_BASE     equ 0xC0000101
FSB             equ 0x1000              ; FS base
GSB             equ -0x40               ; GS base (wraps: GS:x = x - 0x40)

; RFLAGS
CF              equ 0x001
PF              equ 0x004
AF              equ 0x010
ZF              equ 0x040
SF              equ 0x080
DF              equ 0x400
OF              equ 0x800
F_ALL           equ OF | DF | SF | ZF | AF | PF | CF     ; MOV & co: nothing changes
F_LOGIC         equ F_ALL & ~AF                         ; AND OR XOR TEST: AF undefined
F_BT            equ DF | ZF | CF                        ; BT: OF SF AF PF undefined
F_INIT          equ CF | AF | OF | 2                    ; default initial RFLAGS
F_SET           equ OF | SF | ZF | AF | PF | CF         ; all status flags

; register numbers (encoding order), for the tables
R_rax equ 0
R_rcx equ 1
R_rdx equ 2
R_rbx equ 3
R_rsp equ 4
R_rbp equ 5
R_rsi equ 6
R_rdi equ 7
R_r8  equ 8
R_r9  equ 9
R_r10 equ 10
R_r11 equ 11
R_r12 equ 12
R_r13 equ 13
R_r14 equ 14
R_r15 equ 15

; ---------------------------------------------------------------------------
; Case scaffolding. Before each case the tables hold the defaults (case_reset):
; def_regs, RBX = window base (pointer), RFLAGS F_INIT, mask F_ALL, window =
; def_img, aux = def_aux. Setup macros change them; T runs the case.
; ---------------------------------------------------------------------------

; R reg, value: initial value of a data register
%macro R 2
        mov     rax, %2
        mov     [rel init_regs + R_%1 * 8], rax
        and     dword [rel ptr_mask], ~(1 << R_%1)
        and     dword [rel norm_mask], ~(1 << R_%1)
%endmacro

; P reg, offset: the register points at window + offset (compared as offset)
%macro P 2
        mov     rax, %2
        mov     [rel init_regs + R_%1 * 8], rax
        or      dword [rel ptr_mask], 1 << R_%1
        or      dword [rel norm_mask], 1 << R_%1
%endmacro

; PIN reg, offset: points at window + offset, but the instruction overwrites it
%macro PIN 2
        mov     rax, %2
        mov     [rel init_regs + R_%1 * 8], rax
        or      dword [rel ptr_mask], 1 << R_%1
        and     dword [rel norm_mask], ~(1 << R_%1)
%endmacro

; FL flags: initial RFLAGS (status flags and DF; bit 1 is added)
%macro FL 1
        mov     qword [rel init_flags], (%1) | 2
%endmacro

; FM mask: the RFLAGS bits compared (this case)
%macro FM 1
        mov     qword [rel flag_mask], %1
%endmacro

; GFM mask: the RFLAGS bits compared, for the rest of the group
%macro GFM 1
        mov     qword [rel group_mask], %1
        mov     qword [rel flag_mask], %1
%endmacro

; MB/MW/MD/MQ offset, value: initial window contents
%macro MB 2
        mov     byte [rel init_img + %1], (%2) & 0xFF
%endmacro
%macro MW 2
        mov     word [rel init_img + %1], (%2) & 0xFFFF
%endmacro
%macro MD 2
        mov     dword [rel init_img + %1], (%2) & 0xFFFFFFFF
%endmacro
%macro MQ 2
        mov     rax, %2
        mov     [rel init_img + %1], rax
%endmacro

; T "case", instruction: run it against RAM and the device and compare.
; W is the window address inside the instruction text.
%macro T 2+
        jmp     %%go
%%name: db      %1, 0
%define W ram_win
%%ram:  %2
        ret
%define W ($$ - ORG_ADDR + MWIN)
%%dev:  %2
        ret
%undef W
%%go:   lea     rax, [rel %%ram]
        lea     rdx, [rel %%dev]
        lea     rsi, [rel %%name]
        call    run_pair
%endmacro

%macro GROUP 1
        jmp     %%go
%%name: db      %1, 0
%%go:   lea     rsi, [rel %%name]
        call    group_begin
%endmacro

%macro ENDGROUP 0
        call    group_end
%endmacro

; EXPECT "case", got (register), want: a direct check
%macro EXPECT 3
        mov     rcx, %3
        cmp     %2, rcx
        je      %%ok
        mov     rax, %2
        lea     rsi, [rel %%name]
        call    direct_fail
        jmp     %%ok
%%name: db      %1, 0
%%ok:
%endmacro

; ---------------------------------------------------------------------------
start:
        cli
        cld
        mov     [rel arg], rsi
        lgdt    [rel gdt_desc]
        push    KERNEL_CS
        lea     rax, [rel .cs_loaded]
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
        mov     ecx, MSR_FS_BASE
        mov     eax, FSB
        xor     edx, edx
        wrmsr
        mov     ecx, MSR_GS_BASE
        mov     eax, GSB & 0xFFFFFFFF
        mov     edx, 0xFFFFFFFF
        wrmsr
        call    remap_init
        call    case_reset

        call    g_device_init           ; first: nothing has written the device yet
        call    g_device_edges
        call    g_mov_load
        call    g_mov_store
        call    g_mov_imm
        call    g_mov_moffs
        call    g_addressing
        call    g_prefixes
        call    g_movzx
        call    g_movsx
        call    g_movsxd
        call    g_and
        call    g_or
        call    g_xor
        call    g_sub
        call    g_cmp
        call    g_test
        call    g_lock
        call    g_bt
        call    g_stos
        call    g_rep_stos
        call    g_movs
        call    g_rep_movs
        call    g_straddle
        call    g_fetch_straddle
        call    g_unmapped

        lea     rsi, [rel s_done]
        call    puts
        mov     eax, [rel n_ok]
        call    put_dec
        mov     al, '/'
        out     DEBUG_PORT, al
        mov     eax, [rel n_total]
        call    put_dec
        call    newline
        cmp     qword [rel arg], 0
        jne     halt
        ; an instruction the emulator does not handle: the VM must be stopped
        lea     rsi, [rel s_unsup]
        call    puts
        mov     rbx, MMIO_BASE
        mov     eax, 1
        add     [rbx], eax
        lea     rsi, [rel s_still]
        call    puts
halt:   cli
        hlt
        jmp     halt

; ---------------------------------------------------------------------------
; Groups
; ---------------------------------------------------------------------------

; the device starts as zeros (reads in both pages, before any write)
g_device_init:
        GROUP   "device-init"
        mov     rbx, MMIO_BASE
        mov     rax, [rbx]
        EXPECT  "first", rax, 0
        mov     rax, [rbx + 0xFF8]
        EXPECT  "page0-end", rax, 0
        mov     rax, [rbx + 0x1000]
        EXPECT  "page1", rax, 0
        mov     rax, [rbx + 0x1800]
        EXPECT  "page1-mid", rax, 0
        mov     rax, [rbx + 0x1FF8]
        EXPECT  "last", rax, 0
        ENDGROUP
        ret

; both ends of the device; the write at its last byte does not spill
g_device_edges:
        GROUP   "device-edges"
        mov     rbx, MMIO_BASE
        mov     rax, 0x1122334455667788
        mov     [rbx], rax
        mov     rdx, [rbx]
        EXPECT  "first-q", rdx, 0x1122334455667788
        mov     byte [rbx + 0x1FFF], 0xAB
        mov     rdx, [rbx + 0x1FF8]
        EXPECT  "last-b", rdx, 0xAB00000000000000
        mov     rax, 0x0102030405060708
        mov     [rbx + 0x1FF8], rax
        mov     rdx, [rbx + 0x1FF8]
        EXPECT  "last-q", rdx, 0x0102030405060708
        mov     edx, [rbx + 0x1FFC]
        EXPECT  "last-d", rdx, 0x01020304
        mov     rdx, [rbx + 0x2000]
        EXPECT  "past-end", rdx, -1
        mov     ecx, 0x5A5A5A5A
        mov     [rbx + 0x800], ecx
        mov     rdx, [rbx + 0x800]
        EXPECT  "dword-zero-rest", rdx, 0x5A5A5A5A
        ENDGROUP
        ret

; MOV r, r/m (8A, 8B)
g_mov_load:
        GROUP   "mov-load"
        T       "al", mov al, [rbx + 3]
        T       "ah", mov ah, [rbx + 5]
        T       "ch", mov ch, [rbx + 6]
        T       "dh", mov dh, [rbx + 0x41]
        P       rsi, 0x10
        R       rbx, 0x1111111111111111
        T       "bh", mov bh, [rsi + 1]
        T       "sil", mov sil, [rbx + 9]
        T       "dil", mov dil, [rbx + 0x0A]
        T       "bpl", mov bpl, [rbx + 0x0B]
        T       "r9b", mov r9b, [rbx + 0x11]
        T       "r15b", mov r15b, [rbx + 0x7F]
        T       "ax", mov ax, [rbx + 0x12]
        T       "r10w", mov r10w, [rbx + 0x22]
        T       "eax", mov eax, [rbx + 0x14]
        T       "r12d", mov r12d, [rbx + 0x44]
        T       "rax", mov rax, [rbx + 0x18]
        T       "r14", mov r14, [rbx + 0x20]
        T       "rdx-misaligned", mov rdx, [rbx + 0x13]
        T       "ecx-disp32", mov ecx, [dword rbx + 0x70]
        PIN     r11, 0x30
        T       "r11-from-r11", mov r11, [r11 + 8]
        ENDGROUP
        ret

; MOV r/m, r (88, 89)
g_mov_store:
        GROUP   "mov-store"
        T       "al", mov [rbx + 1], al
        T       "ah", mov [rbx + 2], ah
        T       "ch", mov [rbx + 0x43], ch
        T       "dh", mov [rbx + 4], dh
        P       rsi, 0x20
        R       rbx, 0x1111111111119911
        T       "bh", mov [rsi + 5], bh
        T       "spl", mov [rbx + 6], spl
        T       "bpl", mov [rbx + 7], bpl
        T       "sil", mov [rbx + 8], sil
        T       "dil", mov [rbx + 9], dil
        T       "r8b", mov [rbx + 0x0A], r8b
        T       "r13b", mov [rbx + 0x7F], r13b
        T       "ax", mov [rbx + 0x10], ax
        T       "r11w", mov [rbx + 0x13], r11w
        T       "eax", mov [rbx + 0x18], eax
        T       "r9d", mov [rbx + 0x4C], r9d
        T       "rax", mov [rbx + 0x20], rax
        T       "r15", mov [rbx + 0x78], r15
        T       "rdx-misaligned", mov [rbx + 0x2B], rdx
        T       "ecx-disp32", mov [dword rbx + 0x60], ecx
        ENDGROUP
        ret

; MOV r/m, imm (C6 /0, C7 /0)
g_mov_imm:
        GROUP   "mov-imm"
        T       "imm8", mov byte [rbx + 1], 0x9C
        T       "imm16", mov word [rbx + 2], 0xA55A
        T       "imm32", mov dword [rbx + 4], 0x89ABCDEF
        T       "imm32-sx64-neg", mov qword [rbx + 8], -2
        T       "imm32-sx64-min", mov qword [rbx + 0x10], -0x80000000
        T       "imm32-sx64-pos", mov qword [rbx + 0x18], 0x7FFFFFFF
        T       "imm16-disp32", mov word [dword rbx + 0x22], 0x1357
        P       r12, 0
        T       "imm8-r12", mov byte [r12 + 0x45], 0x80
        P       r13, 0x40
        T       "imm32-r13", mov dword [r13 - 0x25], 0xFEDCBA98
        ENDGROUP
        ret

; A0-A3 with a 64-bit moffs, and with a 32-bit moffs (67)
g_mov_moffs:
        GROUP   "mov-moffs"
        T       "a0", mov al, [qword W + 0x21]
        T       "a1-16", mov ax, [qword W + 0x22]
        T       "a1-32", mov eax, [qword W + 0x24]
        T       "a1-64", mov rax, [qword W + 0x28]
        T       "a2", mov [qword W + 0x30], al
        T       "a3-16", mov [qword W + 0x32], ax
        T       "a3-32", mov [qword W + 0x34], eax
        T       "a3-64", mov [qword W + 0x48], rax
        T       "a1-64-straddle", mov rax, [qword W + 0x3D]
        T       "a32-a1", a32 mov eax, [dword W + 0x50]
        T       "a32-a3-64", a32 mov [dword W + 0x58], rax
        T       "a32-a2", a32 mov [dword W + 0x61], al
        ENDGROUP
        ret

; ModRM / SIB / REX / RIP-relative / 67 / segment bases
g_addressing:
        GROUP   "addressing"
        R       rsi, 3
        T       "sib-scale4", mov ecx, [rbx + rsi * 4 + 0x10]
        P       r13, 0
        R       r14, 2
        T       "rex-rxb", mov r12d, [r13 + r14 * 8 + 0x08]
        P       r13, 0
        R       r14, 5
        T       "rex-rxb-store", mov [r13 + r14 * 8 + 0x11], r12
        R       rcx, -0x10
        T       "neg-index-scale2", mov eax, [rbx + rcx * 2 + 0x40]
        R       rax, 0x0B
        T       "scale1", mov dl, [rbx + rax + 0x30]
        P       r12, 0x20
        T       "r12-base", mov rax, [r12 + 8]
        P       r13, 0x28
        T       "r13-disp0", mov eax, [r13]
        P       rbp, 0x30
        T       "rbp-neg-disp8", mov eax, [rbp - 0x10]
        P       rbx, 0x110
        T       "neg-disp32", mov eax, [rbx - 0x100]
        R       r14, 3
        T       "sib-no-base", mov eax, [r14 * 8 + W + 4]
        R       rsi, 0x21
        T       "sib-no-base-index1", mov cx, [nosplit rsi * 1 + W]
        T       "rip-load", mov eax, [rel W + 0x0C]
        T       "rip-store", mov [rel W + 0x2E], cx
        T       "rip-imm32", mov dword [rel W + 0x10], 0x12345678
        T       "rip-imm8", mov byte [rel W + 0x11], 0x5A
        T       "rip-imm16", mov word [rel W + 0x12], 0x8001
        T       "rip-imm-sx64", mov qword [rel W + 0x18], -3
        T       "rip-cmp-imm8", cmp byte [rel W + 0x03], 0x80
        FM      F_LOGIC
        T       "rip-and-imm32", and dword [rel W + 0x04], 0x0F0F0F0F
        FM      F_LOGIC
        T       "rip-or-imm8", or word [rel W + 0x06], 0x7
        FM      F_BT
        T       "rip-bt-imm8", bt dword [rel W + 0x08], 9
        P       rbx, 0xABCD000000000000 + 8
        T       "a32-base", mov eax, [ebx + 0x08]
        P       r8, 0x7777000000000000 + 4
        R       r10, 0x5555555500000003
        T       "a32-rex-sib", mov r9d, [r8d + r10d * 2 + 4]
        P       rbx, -FSB
        T       "fs-base", mov eax, [fs:rbx + 4]
        P       rbx, -FSB
        T       "fs-base-store", mov [fs:rbx + 0x44], rcx
        P       rbx, -GSB
        T       "gs-base", mov eax, [gs:rbx + 0x0C]
        P       rbx, -GSB
        T       "gs-base-imm", mov word [gs:rbx + 0x4E], 0x4321
        ENDGROUP
        ret

; prefix combinations (raw bytes; ModRM 43 = [rbx + disp8])
g_prefixes:
        GROUP   "prefixes"
        T       "ds-ignored", db 0x3E, 0x8B, 0x43, 0x04         ; mov eax, [ds:rbx+4]
        T       "es-ignored", db 0x26, 0x89, 0x43, 0x08         ; mov [es:rbx+8], eax
        T       "cs-ignored", db 0x2E, 0x8A, 0x63, 0x09         ; mov ah, [cs:rbx+9]
        T       "ss-ignored", db 0x36, 0x88, 0x73, 0x0A         ; mov [ss:rbx+0xA], dh
        T       "66-rexw", db 0x66, 0x48, 0x8B, 0x43, 0x10      ; REX.W wins: mov rax, [rbx+0x10]
        T       "66-rexw-imm", db 0x66, 0x48, 0xC7, 0x43, 0x18, 0x78, 0x56, 0x34, 0x92  ; imm32, not imm16
        T       "rex-then-66", db 0x48, 0x66, 0x8B, 0x43, 0x10  ; REX not last: ignored, mov ax
        T       "seg-66", db 0x3E, 0x66, 0x89, 0x43, 0x06       ; mov [ds:rbx+6], ax
        P       r11, -FSB
        T       "66-seg-rex", db 0x66, 0x64, 0x41, 0x89, 0x43, 0x16 ; fs: mov [r11+0x16], ax
        T       "rex40-byte", db 0x40, 0x88, 0x73, 0x0C         ; mov [rbx+0xC], sil
        T       "66-66", db 0x66, 0x66, 0x8B, 0x43, 0x20        ; mov ax, [rbx+0x20]
        ENDGROUP
        ret

g_movzx:
        GROUP   "movzx"
        MB      0x01, 0x80
        T       "b-r32", movzx eax, byte [rbx + 1]
        MB      0x02, 0xFF
        T       "b-r16", movzx ax, byte [rbx + 2]
        MB      0x03, 0x9A
        T       "b-r64", movzx rax, byte [rbx + 3]
        MB      0x04, 0x7F
        T       "b-r10d", movzx r10d, byte [rbx + 4]
        MB      0x43, 0xC1
        T       "b-bp", movzx bp, byte [rbx + 0x43]
        MW      0x06, 0xFFFE
        T       "w-r32", movzx eax, word [rbx + 6]
        MW      0x08, 0x8000
        T       "w-r64", movzx rcx, word [rbx + 8]
        MW      0x0B, 0x7FFF
        T       "w-r11", movzx r11, word [rbx + 0x0B]
        MW      0x10, 0x8765
        T       "w-r16", db 0x66, 0x0F, 0xB7, 0x53, 0x10      ; movzx dx, word [rbx+0x10]
        ENDGROUP
        ret

g_movsx:
        GROUP   "movsx"
        MB      0x01, 0x80
        T       "b-r32-neg", movsx eax, byte [rbx + 1]
        MB      0x02, 0x7F
        T       "b-r32-pos", movsx eax, byte [rbx + 2]
        MB      0x03, 0xFE
        T       "b-r16-neg", movsx ax, byte [rbx + 3]
        MB      0x04, 0x81
        T       "b-r64-neg", movsx rax, byte [rbx + 4]
        MB      0x05, 0x01
        T       "b-r64-pos", movsx r10, byte [rbx + 5]
        MW      0x06, 0x8000
        T       "w-r32-neg", movsx eax, word [rbx + 6]
        MW      0x08, 0xFFFF
        T       "w-r64-neg", movsx rcx, word [rbx + 8]
        MW      0x0A, 0x7FFF
        T       "w-r64-pos", movsx r12, word [rbx + 0x0A]
        MW      0x0C, 0x9234
        T       "w-r16", db 0x66, 0x0F, 0xBF, 0x53, 0x0C      ; movsx dx, word [rbx+0x0C]
        MB      0x45, 0xC0
        T       "b-r9d", movsx r9d, byte [rbx + 0x45]
        ENDGROUP
        ret

g_movsxd:
        GROUP   "movsxd"
        MD      0x04, 0x80000000
        T       "neg", movsxd rax, dword [rbx + 4]
        MD      0x08, 0x7FFFFFFF
        T       "pos", movsxd rdx, dword [rbx + 8]
        MD      0x0C, 0xFFFFFFFE
        T       "r11", movsxd r11, dword [rbx + 0x0C]
        MD      0x41, 0xC0000001
        T       "misaligned", movsxd rcx, dword [rbx + 0x41]
        MD      0x10, 0x80000001
        T       "no-rexw", db 0x63, 0x43, 0x10                  ; movsxd eax, [rbx+0x10]
        ENDGROUP
        ret

; ALU op, every form, value pairs giving zero, sign, carry/borrow, overflow:
;   P1 equal values; P2 disjoint bits; P3 0x80.. and 1; P4 0x7F.. and 0xFF..; P5 0 and 0
%macro ALU_CASES 1
        MB      0x01, 0x0F
        R       rcx, 0xF0
        T       "m8-r8", %1 [rbx + 1], cl
        MB      0x02, 0x80
        R       rdx, 0x0100
        T       "r8-m8-dh", %1 dh, [rbx + 2]
        MB      0x03, 0x0F
        R       rsi, 0x0F
        FL      0
        T       "m8-sil", %1 [rbx + 3], sil
        MB      0x44, 0x7F
        R       r10, 0xFF
        T       "r8-m8-r10b", %1 r10b, [rbx + 0x44]
        MW      0x04, 0x7FFF
        R       rax, 0xFFFF
        T       "m16-r16", %1 [rbx + 4], ax
        MW      0x06, 0x1234
        R       r10, 0x1234
        FL      F_SET
        T       "r16-m16", %1 r10w, [rbx + 6]
        MD      0x08, 0x80000000
        R       rcx, 1
        T       "m32-r32", %1 [rbx + 8], ecx
        MD      0x0C, 0x0F0F0F0F
        R       rax, 0xFFFFFFFFF0F0F0F0
        T       "r32-m32", %1 eax, [rbx + 0x0C]
        MD      0x48, 0x89ABCDEF
        R       rdx, 0x1111111189ABCDEF
        T       "r32-m32-eq", %1 edx, [rbx + 0x48]
        MQ      0x10, 0x7FFFFFFFFFFFFFFF
        R       rdx, -1
        T       "m64-r64", %1 [rbx + 0x10], rdx
        MQ      0x18, 0x8000000000000000
        R       r9, 1
        T       "r64-m64", %1 r9, [rbx + 0x18]
        MQ      0x50, 0
        R       r15, 0
        FL      F_SET
        T       "m64-r64-zero", %1 [rbx + 0x50], r15
        MQ      0x58, 0x0000000100000000
        R       rax, 0x00000000FFFFFFFF
        T       "r64-m64-carry32", %1 rax, [rbx + 0x58]
        MB      0x20, 0x42
        T       "m8-imm8", %1 byte [rbx + 0x20], 0x42
        MW      0x22, 0x00FF
        T       "m16-imm16", %1 word [rbx + 0x22], 0xFF00
        MW      0x24, 0x8000
        T       "m16-imm8sx", %1 word [rbx + 0x24], 1
        MD      0x28, 0x7FFFFFFF
        T       "m32-imm32", %1 dword [rbx + 0x28], strict dword 0x80000000
        MD      0x2C, 0x00000005
        T       "m32-imm8sx", %1 dword [rbx + 0x2C], -2
        MQ      0x30, 0x0000000080000000
        T       "m64-imm32sx", %1 qword [rbx + 0x30], -0x80000000
        MQ      0x38, -1
        T       "m64-imm8sx", %1 qword [rbx + 0x38], -1
        MD      0x3E, 0x00018000
        R       rcx, 0x00008001
        T       "m32-straddle", %1 [rbx + 0x3E], ecx
%endmacro

g_and:
        GROUP   "and"
        GFM     F_LOGIC
        ALU_CASES and
        ENDGROUP
        ret

g_or:
        GROUP   "or"
        GFM     F_LOGIC
        ALU_CASES or
        ENDGROUP
        ret

g_xor:
        GROUP   "xor"
        GFM     F_LOGIC
        ALU_CASES xor
        ENDGROUP
        ret

g_sub:
        GROUP   "sub"
        ALU_CASES sub
        ENDGROUP
        ret

; flags only, memory unchanged (the window compare)
g_cmp:
        GROUP   "cmp"
        ALU_CASES cmp
        ENDGROUP
        ret

g_test:
        GROUP   "test"
        GFM     F_LOGIC
        MB      0x01, 0x0F
        R       rcx, 0xF0
        T       "m8-r8", test [rbx + 1], cl
        MB      0x02, 0x80
        R       rax, 0x8000
        T       "m8-ah", test [rbx + 2], ah
        MB      0x03, 0x81
        R       rdi, 0x81
        T       "m8-dil", test [rbx + 3], dil
        MW      0x04, 0x8001
        R       r10, 0x8000
        T       "m16-r16", test [rbx + 4], r10w
        MD      0x08, 0x00000003
        R       rdx, 0x00000001
        FL      F_SET
        T       "m32-r32", test [rbx + 8], edx
        MQ      0x10, 0x8000000000000000
        R       rcx, 0x8000000000000001
        T       "m64-r64", test [rbx + 0x10], rcx
        MQ      0x48, 0x00000000FFFFFFFF
        R       rcx, 0xFFFFFFFF00000000
        T       "m64-r64-zero", test [rbx + 0x48], rcx
        MB      0x20, 0x55
        T       "m8-imm8", test byte [rbx + 0x20], 0xAA
        MW      0x22, 0x8421
        T       "m16-imm16", test word [rbx + 0x22], 0x8001
        MD      0x24, 0x12345678
        T       "m32-imm32", test dword [rbx + 0x24], 0x10000000
        MQ      0x28, 0x8000000000000000
        T       "m64-imm32sx", test qword [rbx + 0x28], -0x80000000
        MD      0x3E, 0x80000000
        T       "m32-straddle", test dword [rbx + 0x3E], 0x80000000
        ENDGROUP
        ret

g_lock:
        GROUP   "lock"
        FM      F_LOGIC
        MD      0x08, 0xF0F0F0F0
        R       rax, 0xFF00FF00
        T       "and-m32-r32", lock and [rbx + 8], eax
        FM      F_LOGIC
        MQ      0x10, 0x0102030405060708
        R       rcx, 0x8000000000000000
        T       "or-m64-r64", lock or [rbx + 0x10], rcx
        FM      F_LOGIC
        MB      0x18, 0x55
        R       rdx, 0x5500
        T       "xor-m8-dh", lock xor [rbx + 0x18], dh
        MW      0x1A, 0x0000
        R       r8, 1
        T       "sub-m16-r8w", lock sub [rbx + 0x1A], r8w
        FM      F_LOGIC
        MD      0x20, 0x12345678
        T       "and-m32-imm8", lock and dword [rbx + 0x20], 0
        FM      F_LOGIC
        MQ      0x28, 0x1234
        T       "or-m64-imm32", lock or qword [rbx + 0x28], -0x10000
        FM      F_LOGIC
        MB      0x44, 0x80
        T       "xor-m8-imm8", lock xor byte [rbx + 0x44], 0x80
        MQ      0x48, 0x8000000000000000
        T       "sub-m64-imm8", lock sub qword [rbx + 0x48], 1
        ENDGROUP
        ret

; BT: register offsets outside the operand address other units (inside the window)
g_bt:
        GROUP   "bt"
        GFM     F_BT
        MW      0x10, 0x0020
        R       rax, 5
        T       "m16-r-in", bt word [rbx + 0x10], ax
        MW      0x12, 0x0020
        R       rax, 21
        FL      F_SET
        T       "m16-r-next", bt word [rbx + 0x10], ax
        MW      0x0E, 0x2000
        R       rax, -3
        T       "m16-r-neg", bt word [rbx + 0x10], ax
        MD      0x20, 0x00000080
        R       rcx, 7
        T       "m32-r-in", bt dword [rbx + 0x20], ecx
        MD      0x24, 0x00000008
        R       rcx, 35
        T       "m32-r-next", bt dword [rbx + 0x20], ecx
        MD      0x1C, 0x80000000
        R       rcx, -1
        FL      ZF
        T       "m32-r-neg", bt dword [rbx + 0x20], ecx
        MD      0x38, 0x00000100
        R       rcx, 200
        T       "m32-r-far", bt dword [rbx + 0x20], ecx
        MQ      0x20, 0x8000000000000000
        R       rdx, 63
        T       "m64-r-in", bt qword [rbx + 0x20], rdx
        MQ      0x28, 0x20
        R       rdx, 64 + 5
        T       "m64-r-next", bt qword [rbx + 0x20], rdx
        MQ      0x18, 1
        R       rdx, -64
        T       "m64-r-neg", bt qword [rbx + 0x20], rdx
        MD      0x44, 0x00010000
        R       r10, 16 + 32
        T       "m32-r10d-next-page", bt dword [rbx + 0x40], r10d
        MW      0x02, 0x8000
        T       "m16-imm", bt word [rbx + 2], 15
        MW      0x00, 0x0002
        FL      F_SET
        T       "m16-imm-mod", bt word [rbx], 17
        MD      0x04, 0x80000000
        T       "m32-imm", bt dword [rbx + 4], 31
        MD      0x04, 0x00000008
        T       "m32-imm-mod", bt dword [rbx + 4], 35
        MQ      0x08, 0x8000000000000000
        T       "m64-imm", bt qword [rbx + 8], 63
        MQ      0x08, 0x100
        T       "m64-imm-mod", bt qword [rbx + 8], 200
        T       "m32-imm-bit0", bt dword [rbx + 0x30], 0
        ENDGROUP
        ret

g_stos:
        GROUP   "stos"
        P       rdi, 0x10
        T       "b", stosb
        P       rdi, 0x21
        FL      DF
        T       "w-df", stosw
        P       rdi, 0x32
        T       "d", stosd
        P       rdi, 0x48
        T       "q", stosq
        P       rdi, 0x50
        FL      DF | F_SET
        T       "q-df", stosq
        P       rdi, 0x3E
        T       "d-straddle", stosd
        P       rdi, 0xFFFF000000000000 + 0x18
        T       "a32-d", a32 stosd
        P       rdi, 0x26
        T       "fs-ignored", fs stosb                  ; the destination is always ES
        ENDGROUP
        ret

g_rep_stos:
        GROUP   "rep-stos"
        P       rdi, 0x10
        R       rcx, 0
        T       "b-rcx0", rep stosb
        P       rdi, 0x10
        R       rcx, 1
        T       "b-rcx1", rep stosb
        P       rdi, 0x05
        R       rcx, 0x23
        T       "b-many", rep stosb
        P       rdi, 0x7E
        R       rcx, 5
        FL      DF
        T       "w-df", rep stosw
        P       rdi, 0x22
        R       rcx, 7
        T       "d-many", rep stosd
        P       rdi, 0x70
        R       rcx, 6
        FL      DF
        T       "q-df", rep stosq
        P       rdi, 0x28
        R       rcx, 4
        T       "q-page", rep stosq
        P       rdi, 0x33
        R       rcx, 5
        T       "d-misaligned-page", rep stosd
        P       rdi, 0xABCD000000000000 + 0x30
        R       rcx, 0xFFFFFFFF00000003
        T       "a32-b", a32 rep stosb
        P       rdi, 0x44
        R       rcx, 3
        T       "repne-d", repne stosd                  ; F2 repeats like F3
        ENDGROUP
        ret

; single MOVS: RAM (aux) to device and device to RAM
g_movs:
        GROUP   "movs"
        R       rsi, AUX + 5
        P       rdi, 0x11
        T       "b-to-dev", movsb
        P       rsi, 0x22
        R       rdi, AUX + 0x3F
        T       "w-from-dev-aux-straddle", movsw
        R       rsi, AUX + 0x44
        P       rdi, 0x30
        FL      DF
        T       "d-to-dev-df", movsd
        P       rsi, 0x48
        R       rdi, AUX + 0x08
        FL      DF
        T       "q-from-dev-df", movsq
        R       rsi, AUX + 0x3C
        P       rdi, 0x18
        T       "q-to-dev-aux-straddle", movsq
        R       rsi, AUX + 0x20
        P       rdi, 0x3C
        T       "q-to-dev-straddle", movsq
        R       rsi, AUX + 0x08 - FSB
        P       rdi, 0x40
        T       "fs-d-to-dev", fs movsd
        P       rsi, 0x08 - FSB
        R       rdi, AUX + 0x50
        T       "fs-d-from-dev", fs movsd
        R       rsi, AUX + 3 - GSB
        P       rdi, 0x09
        T       "gs-b-to-dev", gs movsb
        R       rsi, 0x9999000000000000 + AUX + 1
        P       rdi, 0x5555000000000000 + 0x0D
        T       "a32-b-to-dev", a32 movsb
        P       rsi, 0x1111000000000000 + 0x24
        R       rdi, 0x2222000000000000 + AUX + 0x61
        T       "a32-w-from-dev", a32 movsw
        ENDGROUP
        ret

g_rep_movs:
        GROUP   "rep-movs"
        R       rsi, AUX + 0x10
        P       rdi, 0x10
        R       rcx, 0
        T       "b-rcx0", rep movsb
        R       rsi, AUX + 0x10
        P       rdi, 0x10
        R       rcx, 1
        T       "b-rcx1-to-dev", rep movsb
        P       rsi, 0x10
        R       rdi, AUX + 0x10
        R       rcx, 1
        T       "b-rcx1-from-dev", rep movsb
        R       rsi, AUX + 0x10
        P       rdi, 0x08
        R       rcx, 0x50
        T       "b-many-to-dev", rep movsb
        P       rsi, 0x08
        R       rdi, AUX + 0x10
        R       rcx, 0x50
        T       "b-many-from-dev", rep movsb
        P       rsi, 0x7E
        R       rdi, AUX + 0x6E
        R       rcx, 0x18
        FL      DF
        T       "w-from-dev-df", rep movsw
        R       rsi, AUX + 0x06
        P       rdi, 0x02
        R       rcx, 0x14
        T       "d-to-dev", rep movsd
        P       rsi, 0x24
        R       rdi, AUX + 0x2C
        R       rcx, 6
        T       "q-from-dev", rep movsq
        R       rsi, AUX + 0x60
        P       rdi, 0x70
        R       rcx, 5
        FL      DF
        T       "q-to-dev-df", rep movsq
        P       rsi, 0x7C
        R       rdi, AUX + 0x7C
        R       rcx, 0x10
        FL      DF
        T       "d-from-dev-df", rep movsd
        R       rsi, AUX + 0x30 - FSB
        P       rdi, 0x28
        R       rcx, 3
        T       "fs-q-to-dev", fs rep movsq
        R       rsi, 0x7777000000000000 + AUX + 0x35
        P       rdi, 0x3333000000000000 + 0x31
        R       rcx, 0xFFFFFFFF00000004
        T       "a32-d-to-dev", a32 rep movsd
        R       rsi, AUX + 0x3A
        P       rdi, 0x19
        R       rcx, 9
        T       "repne-b-to-dev", repne movsb           ; F2 repeats like F3
        P       rsi, 0x3A
        R       rdi, AUX + 0x19
        R       rcx, 9
        T       "repne-b-from-dev", repne movsb
        ENDGROUP
        ret

; accesses across the device's page boundary (0x3FE01000 = window + 0x40)
g_straddle:
        GROUP   "straddle"
        T       "load-d", mov eax, [rbx + 0x3E]
        T       "store-d", mov [rbx + 0x3E], ecx
        T       "load-q", mov rax, [rbx + 0x3C]
        T       "store-q", mov [rbx + 0x39], rdx
        T       "store-imm16", mov word [rbx + 0x3F], 0x1234
        T       "movzx-w", movzx eax, word [rbx + 0x3F]
        T       "movsx-w", movsx rax, word [rbx + 0x3F]
        FM      F_LOGIC
        T       "and-d", and [rbx + 0x3E], ecx
        T       "cmp-q", cmp [rbx + 0x3D], rdx
        FM      F_BT
        T       "bt-d", bt dword [rbx + 0x3E], 17
        ENDGROUP
        ret

; instructions whose bytes straddle non-adjacent physical code pages
g_fetch_straddle:
        GROUP   "fetch-straddle"
        T       "rex-opcode", call [rel fx1_ptr]
        T       "disp", call [rel fx2_ptr]
        FM      F_LOGIC
        T       "imm", call [rel fx3_ptr]
        ENDGROUP
        ret

; unmapped MMIO: reads are all ones at every size, writes dropped
g_unmapped:
        GROUP   "unmapped"
        mov     rbx, UNMAPPED
        mov     rax, 0x1122334455667788
        mov     al, [rbx]
        EXPECT  "read8", rax, 0x11223344556677FF
        mov     rax, 0x1122334455667788
        mov     ax, [rbx + 2]
        EXPECT  "read16", rax, 0x112233445566FFFF
        mov     rax, 0x1122334455667788
        mov     eax, [rbx + 4]
        EXPECT  "read32", rax, 0xFFFFFFFF
        mov     rax, [rbx + 8]
        EXPECT  "read64", rax, -1
        mov     rax, [rbx + 0xFF9]
        EXPECT  "read64-misaligned", rax, -1
        movzx   eax, byte [rbx + 0x10]
        EXPECT  "movzx", rax, 0xFF
        movsx   rax, word [rbx + 0x12]
        EXPECT  "movsx", rax, -1
        mov     qword [rbx + 0x18], 0
        mov     rax, [rbx + 0x18]
        EXPECT  "write-dropped", rax, -1
        mov     byte [rbx + 0xFFF], 0
        mov     al, [rbx + 0xFFF]
        movzx   eax, al
        EXPECT  "write-dropped-b", rax, 0xFF
        and     dword [rbx + 0x20], 0
        mov     eax, [rbx + 0x20]
        EXPECT  "and-dropped", rax, 0xFFFFFFFF
        xor     eax, eax
        cmp     dword [rbx + 0x30], -1
        sete    al
        EXPECT  "cmp", rax, 1
        lea     rdi, [rbx + 0x100]
        mov     ecx, 3
        xor     eax, eax
        rep stosq
        lea     rax, [rbx + 0x118]
        EXPECT  "rep-stos-rdi", rdi, rax
        mov     rax, [rbx + 0x108]
        EXPECT  "rep-stos-dropped", rax, -1
        lea     rsi, [rbx + 0x200]
        mov     rdi, AUX
        mov     qword [rdi], 0
        mov     ecx, 4
        rep movsb
        mov     rax, AUX
        mov     rax, [rax]
        EXPECT  "rep-movs-to-ram", rax, 0x00000000FFFFFFFF
        mov     rax, [rbx + 0xFF8]
        EXPECT  "page-end", rax, -1
        mov     rdx, 0x400000
        mov     rax, [rdx]
        EXPECT  "ram-end", rax, -1
        mov     rdx, 0x3FF00000
        mov     eax, [rdx]
        EXPECT  "other-gpa", rax, 0xFFFFFFFF
        ENDGROUP
        ret

; ---------------------------------------------------------------------------
; Harness
; ---------------------------------------------------------------------------

; rax = code for the RAM run, rdx = code for the device run, rsi = case name
run_pair:
        mov     [rel cur_name], rsi
        mov     [rel code_dev], rdx
        mov     rbx, rax
        lea     rdi, [rel ram_win]
        call    run_one
        lea     rsi, [rel out_blk]
        lea     rdi, [rel ref_blk]
        mov     ecx, OUTSZ / 8
        rep movsq
        mov     rbx, [rel code_dev]
        mov     rdi, MWIN
        call    run_one
        call    compare
        call    case_reset
        ret

; rdi = window base, rbx = code. Loads window, aux, registers and RFLAGS,
; calls the code, saves registers, RFLAGS, window and aux into out_blk.
run_one:
        mov     [rel cur_base], rdi
        mov     [rel cur_code], rbx
        lea     rsi, [rel init_img]
        xor     ecx, ecx
.win:   mov     rax, [rsi + rcx]
        mov     [rdi + rcx], rax
        add     ecx, 8
        cmp     ecx, WIN
        jb      .win
        lea     rsi, [rel aux_img]
        mov     rdi, AUX
        xor     ecx, ecx
.aux:   mov     rax, [rsi + rcx]
        mov     [rdi + rcx], rax
        add     ecx, 8
        cmp     ecx, AUXN
        jb      .aux
        lea     rsi, [rel init_regs]
        lea     rdi, [rel run_regs]
        xor     ecx, ecx
.reg:   mov     rax, [rsi + rcx * 8]
        bt      dword [rel ptr_mask], ecx
        jnc     .np
        add     rax, [rel cur_base]
.np:    mov     [rdi + rcx * 8], rax
        inc     ecx
        cmp     ecx, 16
        jb      .reg
        push    qword [rel init_flags]
        mov     rax, [rel run_regs + 0 * 8]
        mov     rcx, [rel run_regs + 1 * 8]
        mov     rdx, [rel run_regs + 2 * 8]
        mov     rbx, [rel run_regs + 3 * 8]
        mov     rbp, [rel run_regs + 5 * 8]
        mov     rsi, [rel run_regs + 6 * 8]
        mov     rdi, [rel run_regs + 7 * 8]
        mov     r8, [rel run_regs + 8 * 8]
        mov     r9, [rel run_regs + 9 * 8]
        mov     r10, [rel run_regs + 10 * 8]
        mov     r11, [rel run_regs + 11 * 8]
        mov     r12, [rel run_regs + 12 * 8]
        mov     r13, [rel run_regs + 13 * 8]
        mov     r14, [rel run_regs + 14 * 8]
        mov     r15, [rel run_regs + 15 * 8]
        popfq
        call    [rel cur_code]
        pushfq
        mov     [rel out_regs + 0 * 8], rax
        mov     [rel out_regs + 1 * 8], rcx
        mov     [rel out_regs + 2 * 8], rdx
        mov     [rel out_regs + 3 * 8], rbx
        mov     [rel out_regs + 5 * 8], rbp
        mov     [rel out_regs + 6 * 8], rsi
        mov     [rel out_regs + 7 * 8], rdi
        mov     [rel out_regs + 8 * 8], r8
        mov     [rel out_regs + 9 * 8], r9
        mov     [rel out_regs + 10 * 8], r10
        mov     [rel out_regs + 11 * 8], r11
        mov     [rel out_regs + 12 * 8], r12
        mov     [rel out_regs + 13 * 8], r13
        mov     [rel out_regs + 14 * 8], r14
        mov     [rel out_regs + 15 * 8], r15
        pop     qword [rel out_flags]
        cld
        lea     rdi, [rel out_regs]
        xor     ecx, ecx
.norm:  bt      dword [rel norm_mask], ecx
        jnc     .nn
        mov     rax, [rel cur_base]
        sub     [rdi + rcx * 8], rax
.nn:    inc     ecx
        cmp     ecx, 16
        jb      .norm
        mov     rsi, [rel cur_base]
        lea     rdi, [rel out_mem]
        xor     ecx, ecx
.rwin:  mov     rax, [rsi + rcx]
        mov     [rdi + rcx], rax
        add     ecx, 8
        cmp     ecx, WIN
        jb      .rwin
        mov     rsi, AUX
        lea     rdi, [rel out_aux]
        xor     ecx, ecx
.raux:  mov     rax, [rsi + rcx]
        mov     [rdi + rcx], rax
        add     ecx, 8
        cmp     ecx, AUXN
        jb      .raux
        ret

; out_blk (device run) against ref_blk (RAM run); reports the first difference
compare:
        lea     r8, [rel out_blk]
        lea     r9, [rel ref_blk]
        xor     ecx, ecx
.reg:   cmp     ecx, 4                  ; RSP
        je      .rn
        mov     rax, [r8 + rcx * 8]
        cmp     rax, [r9 + rcx * 8]
        jne     .freg
.rn:    inc     ecx
        cmp     ecx, 16
        jb      .reg
        mov     rax, [r8 + OFF_FLAGS]
        mov     rdx, [r9 + OFF_FLAGS]
        mov     rbx, rax
        xor     rbx, rdx
        and     rbx, [rel flag_mask]
        jnz     .fflags
        mov     ecx, OFF_MEM
.mem:   mov     rax, [r8 + rcx]
        cmp     rax, [r9 + rcx]
        jne     .fmem
        add     ecx, 8
        cmp     ecx, OUTSZ
        jb      .mem
        ret
.freg:  mov     rdx, [r9 + rcx * 8]
        lea     rsi, [rel reg_names]
        lea     rsi, [rsi + rcx * 4]
        mov     r10, -1
        jmp     case_fail
.fflags:
        lea     rsi, [rel s_rflags]
        mov     r10, -1
        jmp     case_fail
.fmem:  mov     rdx, [r9 + rcx]
        cmp     ecx, OFF_AUX
        jae     .faux
        lea     rsi, [rel s_win]
        lea     r10, [rcx - OFF_MEM]
        jmp     case_fail
.faux:  lea     rsi, [rel s_aux]
        lea     r10, [rcx - OFF_AUX]
        jmp     case_fail

; "FAIL <group> <case> <what>[<r10 hex>]=<rax> ram=<rdx>"; r10 = -1: no offset
case_fail:
        push    rsi
        push    rax
        lea     rsi, [rel s_fail]
        call    puts
        mov     rsi, [rel cur_group]
        call    puts
        call    space
        mov     rsi, [rel cur_name]
        call    puts
        call    space
        pop     rax
        pop     rsi
        call    puts
        cmp     r10, -1
        je      .v
        push    rax
        mov     rax, r10
        call    put_hex
        pop     rax
.v:     push    rax
        mov     al, '='
        out     DEBUG_PORT, al
        pop     rax
        call    put_hex
        lea     rsi, [rel s_ram]
        call    puts
        mov     rax, rdx
        call    put_hex
        call    newline
        mov     byte [rel group_fail], 1
        ret

; rsi = check name, rax = got, rcx = want: "FAIL <group> <name> got=<hex> want=<hex>"
direct_fail:
        push    rsi
        lea     rsi, [rel s_fail]
        call    puts
        mov     rsi, [rel cur_group]
        call    puts
        call    space
        pop     rsi
        call    puts
        lea     rsi, [rel s_got]
        call    puts
        call    put_hex
        lea     rsi, [rel s_want]
        call    puts
        mov     rax, rcx
        call    put_hex
        call    newline
        mov     byte [rel group_fail], 1
        ret

; default tables before every case
case_reset:
        lea     rsi, [rel def_regs]
        lea     rdi, [rel init_regs]
        mov     ecx, 16
        rep movsq
        lea     rsi, [rel def_img]
        lea     rdi, [rel init_img]
        mov     ecx, WIN / 8
        rep movsq
        lea     rsi, [rel def_aux]
        lea     rdi, [rel aux_img]
        mov     ecx, AUXN / 8
        rep movsq
        mov     qword [rel init_regs + R_rbx * 8], 0
        mov     dword [rel ptr_mask], 1 << R_rbx
        mov     dword [rel norm_mask], 1 << R_rbx
        mov     qword [rel init_flags], F_INIT
        mov     rax, [rel group_mask]
        mov     [rel flag_mask], rax
        ret

group_begin:
        mov     [rel cur_group], rsi
        mov     byte [rel group_fail], 0
        mov     qword [rel group_mask], F_ALL
        mov     qword [rel flag_mask], F_ALL
        ret

group_end:
        inc     dword [rel n_total]
        cmp     byte [rel group_fail], 0
        jne     .r
        inc     dword [rel n_ok]
        lea     rsi, [rel s_ok]
        call    puts
        mov     rsi, [rel cur_group]
        call    puts
        call    newline
.r:     ret

; Map REMAP_VA's first five 4 KiB pages to scattered physical pages (a page
; table replacing the 2 MiB entry of the identity map; SDM Vol 3A 4.5), and
; place the fetch-straddle instructions across their boundaries.
remap_init:
        mov     rdi, PT_PA
        xor     eax, eax
        mov     ecx, 512
        rep stosq
        mov     rdi, PT_PA
        mov     dword [rdi + 0 * 8], PAGE0_PA | 3
        mov     dword [rdi + 1 * 8], PAGE1_PA | 3
        mov     dword [rdi + 2 * 8], PAGE2_PA | 3
        mov     dword [rdi + 3 * 8], PAGE3_PA | 3
        mov     dword [rdi + 4 * 8], PAGE4_PA | 3
        mov     rax, cr3
        and     rax, ~0xFFF
        mov     rdx, 0x000FFFFFFFFFF000
        mov     rax, [rax]              ; PML4[0]
        and     rax, rdx
        mov     rax, [rax]              ; PDPT[0]: [0, 1 GiB)
        and     rax, rdx
        mov     qword [rax + (REMAP_VA >> 21) * 8], PT_PA | 3
        mov     rax, REMAP_VA
        invlpg  [rax]
        invlpg  [rax + 0x1000]
        invlpg  [rax + 0x2000]
        invlpg  [rax + 0x3000]
        invlpg  [rax + 0x4000]
        lea     rsi, [rel fx1]
        mov     rdi, [rel fx1_ptr]
        mov     ecx, fx1_len
        rep movsb
        lea     rsi, [rel fx2]
        mov     rdi, [rel fx2_ptr]
        mov     ecx, fx2_len
        rep movsb
        lea     rsi, [rel fx3]
        mov     rdi, [rel fx3_ptr]
        mov     ecx, fx3_len
        rep movsb
        ret

; the fetch-straddle snippets (copied by remap_init; ModRM 83 = [rbx + disp32])
fx1:    db      0x48, 0x8B, 0x83, 0x10, 0, 0, 0         ; mov rax, [rbx+0x10]: REX | rest
        db      0xC3
fx1_len equ $ - fx1
fx2:    db      0xC7, 0x83, 0x14, 0, 0, 0, 0x78, 0x56, 0x34, 0x12   ; mov dword [rbx+0x14], 0x12345678
        db      0xC3
fx2_len equ $ - fx2
fx3:    db      0x48, 0x81, 0xB3, 0x38, 0, 0, 0, 0x01, 0x80, 0x00, 0x80 ; xor qword [rbx+0x38], -0x7fff7fff
        db      0xC3
fx3_len equ $ - fx3

align 8
fx1_ptr: dq     REMAP_VA + 0x2000 - 1           ; REX in page 1, opcode.. in page 2
fx2_ptr: dq     REMAP_VA + 0x3000 - 3           ; disp32 split between pages 2 and 3
fx3_ptr: dq     REMAP_VA + 0x4000 - 9           ; imm32 split between pages 3 and 4

; ---------------------------------------------------------------------------
; Console
; ---------------------------------------------------------------------------

; puts: rsi = NUL-terminated string. Preserves all registers.
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

space:
        push    rax
        mov     al, ' '
        out     DEBUG_PORT, al
        pop     rax
        ret

; put_hex: rax as "0x" and at least one hex digit. Preserves all registers.
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

; put_dec: rax unsigned decimal. Preserves all registers.
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
; Exceptions: 64-bit interrupt gates for the 32 exception vectors
; ---------------------------------------------------------------------------
idt_init:
        lea     rdi, [rel idt]
        lea     rax, [rel stubs]
        xor     ecx, ecx
.l:     mov     [rdi], ax
        mov     word [rdi + 2], KERNEL_CS
        mov     word [rdi + 4], 0x8E00
        mov     rdx, rax
        shr     rdx, 16
        mov     [rdi + 6], dx
        shr     rdx, 16
        mov     [rdi + 8], edx
        mov     dword [rdi + 12], 0
        add     rax, STUB_SIZE
        add     rdi, 16
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

; [rsp] = vector, then the error code for 8, 10-14, 17, 21, 29, 30, then RIP
catch_all:
        cld
        mov     rbx, [rsp]
        mov     r12, [rsp + 8]
        mov     edx, 0x60227D00
        bt      edx, ebx
        jnc     .p
        mov     r12, [rsp + 16]
.p:     lea     rsi, [rel s_unexpected]
        call    puts
        mov     eax, ebx
        call    put_dec
        lea     rsi, [rel s_rip]
        call    puts
        mov     rax, r12
        call    put_hex
        call    newline
        jmp     halt

; ---------------------------------------------------------------------------
; Data
; ---------------------------------------------------------------------------
s_ok:           db "ok ", 0
s_fail:         db "FAIL ", 0
s_done:         db "DONE mmio ", 0
s_unsup:        db "unsupported-add now", 10, 0
s_still:        db "FAIL still running", 10, 0
s_unexpected:   db "FAIL unexpected vector ", 0
s_rip:          db " rip=", 0
s_rflags:       db "rflags", 0
s_win:          db "win+", 0
s_aux:          db "aux+", 0
s_ram:          db " ram=", 0
s_got:          db " got=", 0
s_want:         db " want=", 0
reg_names:      db "rax", 0, "rcx", 0, "rdx", 0, "rbx", 0, "rsp", 0, "rbp", 0, "rsi", 0, "rdi", 0
                db "r8", 0, 0, "r9", 0, 0, "r10", 0, "r11", 0, "r12", 0, "r13", 0, "r14", 0, "r15", 0

align 8
arg:            dq 0
n_ok:           dd 0
n_total:        dd 0
cur_group:      dq 0
cur_name:       dq 0
cur_base:       dq 0
cur_code:       dq 0
code_dev:       dq 0
init_flags:     dq 0
flag_mask:      dq 0
group_mask:     dq F_ALL
ptr_mask:       dd 0                    ; registers loaded as window + value
norm_mask:      dd 0                    ; registers compared as value - window
group_fail:     db 0

align 8
def_regs:       dq 0x8877665544332211   ; rax
                dq 0x0123456789ABCDEF   ; rcx
                dq 0xFEDCBA9876543210   ; rdx
                dq 0x1111111111111111   ; rbx (window pointer by default)
                dq 0                    ; rsp (not loaded)
                dq 0x5555AAAA5555AAAA   ; rbp
                dq 0x0F0F0F0F0F0F0F0F   ; rsi
                dq 0x7060504030201080   ; rdi
                dq 0xA5A5A5A5A5A5A5A5   ; r8
                dq 0x13579BDF02468ACE   ; r9
                dq 0xFFFFFFFF00000000   ; r10
                dq 0x00000000FFFFFFFF   ; r11
                dq 0xDEADBEEFCAFEBABE   ; r12
                dq 0x0000000080000000   ; r13
                dq 0x7FFFFFFFFFFFFFFF   ; r14
                dq 0xC3D2E1F00F1E2D3C   ; r15
def_img:
%assign i 0
%rep WIN
                db (i * 0x3B + 0x85) & 0xFF
%assign i i + 1
%endrep
def_aux:
%assign i 0
%rep AUXN
                db (i * 0x57 + 0x1D) & 0xFF
%assign i i + 1
%endrep

init_regs:      times 16 dq 0
run_regs:       times 16 dq 0
init_img:       times WIN db 0
aux_img:        times AUXN db 0

; results: the device run (out_blk) and the RAM run (ref_blk), same layout
OFF_FLAGS       equ 16 * 8
OFF_MEM         equ OFF_FLAGS + 8
OFF_AUX         equ OFF_MEM + WIN
OUTSZ           equ OFF_AUX + AUXN
out_blk:
out_regs:       times 16 dq 0
out_flags:      dq 0
out_mem:        times WIN db 0
out_aux:        times AUXN db 0
ref_blk:        times OUTSZ db 0

align 8
gdt:    dq 0
        dq 0x00AF9A000000FFFF   ; 0x08: 64-bit code
        dq 0x00CF92000000FFFF   ; 0x10: data
gdt_end:
        dw 0, 0, 0
gdt_desc:
        dw gdt_end - gdt - 1
        dq gdt
        dw 0, 0, 0
idt_desc:
        dw 32 * 16 - 1
        dq idt

align 16
idt:    times 32 * 16 db 0

; the RAM window (same page offset as the device window)
align 4096
        times 0x1000 - 0x40 db 0
ram_win: times WIN db 0
