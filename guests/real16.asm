; real16.asm - real-mode guest started from the reset vector (kind "real16").
;
; A 64 KiB "BIOS ROM": loaded at GPA 0xF0000 and aliased at 0xFFFF0000. The
; vCPU starts in the architectural reset state (SDM Vol 3A, "First
; Instruction Executed"): CS selector 0xF000 with base 0xFFFF0000, IP 0xFFF0,
; so the first instruction is at image offset 0xFFF0 (GPA 0xFFFFFFF0). That
; far jump reloads CS (base 0xF0000) and continues in the low copy. Real mode
; runs in VMX non-root operation only with "unrestricted guest" (SDM Vol 3C,
; "Checks on Guest Control Registers...": CR0.PE may be 0 only then).
; EDX holds the processor signature at reset (SDM Vol 3A, table "IA-32 and
; Intel 64 Processor States Following Power-up, Reset, or INIT").
; Variables live in low RAM (0000:0600), not in the image, which a real
; board would have in ROM.
;
; Prints "real16 up", one "ok <name>" / "FAIL <name> <detail>" per check,
; then "DONE real16 <ok>/<total>", and halts.
;
; Build: nasm -f bin -o real16.bin real16.asm   (exactly 65536 bytes)

bits 16
org 0

DEBUG_PORT      equ 0xE9
TEST_PORT       equ 0xEA
STACK_TOP       equ 0x7000          ; 0000:7000, in the VM's low RAM
N_OK            equ 0x600           ; 0000:0600 byte: checks passed
N_TOTAL         equ 0x601           ; 0000:0601 byte: checks run

%macro CHECK 1
        jmp     %%go
.name:  db      %1, 0
%%go:
%endmacro

%macro PASS 0
        mov     si, .name
        jmp     report_ok
%endmacro

%macro FAIL 2
        mov     eax, %2
        mov     si, .name
        mov     dx, %%d
        jmp     report_fail
%%d:    db      %1, 0
%endmacro

start:
        cli
        cld
        mov     ebp, edx                ; reset EDX: processor signature
        mov     ax, cs                  ; 0xF000
        mov     ds, ax
        xor     ax, ax
        mov     es, ax
        mov     ss, ax
        mov     sp, STACK_TOP
        mov     word [es:N_OK], 0       ; N_OK and N_TOTAL
        call    ivt_init

        mov     si, s_up
        call    puts

        call    t_reset_edx
        call    t_cpuid_sig
        call    t_io_in

        mov     si, s_done
        call    puts
        movzx   eax, byte [es:N_OK]
        call    put_dec
        mov     al, '/'
        out     DEBUG_PORT, al
        movzx   eax, byte [es:N_TOTAL]
        call    put_dec
        call    newline
halt:   cli
        hlt
        jmp     halt

; EDX at reset = processor signature (family/model/stepping), the value
; CPUID.01H:EAX returns (SDM Vol 3A reset-state table: "EDX 000n06xxH").
t_reset_edx:
        CHECK   "reset-edx"
        mov     eax, 1
        xor     ecx, ecx
        cpuid
        cmp     eax, ebp
        jne     .f
        test    ebp, ebp
        jz      .f
        PASS
.f:     FAIL    "edx", ebp

; CPUID works in real mode; leaf 0x40000000 = max leaf 0x40000010 and
; "ACRNACRNACRN" (ACRN-ABI.md "Guest-visible identity").
t_cpuid_sig:
        CHECK   "cpuid-sig"
        mov     eax, 0x40000000
        xor     ecx, ecx
        cpuid
        cmp     eax, 0x40000010
        jne     .fa
        cmp     ebx, 0x4E524341         ; "ACRN"
        jne     .fb
        cmp     ecx, 0x4E524341
        jne     .fc
        cmp     edx, 0x4E524341
        jne     .fd
        PASS
.fa:    FAIL    "eax", eax
.fb:    FAIL    "ebx", ebx
.fc:    FAIL    "ecx", ecx
.fd:    FAIL    "edx", edx

; Port 0xEA counter from real mode: first read 0, then a word read gives 1
; with EAX[31:16] unchanged.
t_io_in:
        CHECK   "io-in"
        mov     dx, TEST_PORT
        in      eax, dx
        test    eax, eax
        jnz     .f1
        mov     eax, 0x55660000
        in      ax, dx
        cmp     eax, 0x55660001
        jne     .f2
        PASS
.f1:    FAIL    "first", eax
.f2:    FAIL    "second", eax

; ---------------------------------------------------------------------------
report_ok:                              ; si = name
        push    si
        mov     si, s_ok
        call    puts
        pop     si
        call    puts
        call    newline
        inc     byte [es:N_OK]
        inc     byte [es:N_TOTAL]
        ret

report_fail:                            ; si = name, dx = detail, eax = value
        push    si
        mov     si, s_fail
        call    puts
        pop     si
        call    puts
        push    ax
        mov     al, ' '
        out     DEBUG_PORT, al
        mov     si, dx
        call    puts
        mov     al, '='
        out     DEBUG_PORT, al
        pop     ax
        call    put_hex32
        call    newline
        inc     byte [es:N_TOTAL]
        ret

puts:                                   ; ds:si = NUL-terminated string
        push    ax
        push    si
.l:     lodsb
        test    al, al
        jz      .e
        out     DEBUG_PORT, al
        jmp     .l
.e:     pop     si
        pop     ax
        ret

newline:
        push    ax
        mov     al, 10
        out     DEBUG_PORT, al
        pop     ax
        ret

put_hex32:                              ; eax as 8 hex digits
        push    eax
        push    cx
        push    edx
        mov     edx, eax
        mov     cx, 8
.l:     rol     edx, 4
        mov     al, dl
        and     al, 0x0F
        cmp     al, 10
        jb      .n
        add     al, 'a' - '0' - 10
.n:     add     al, '0'
        out     DEBUG_PORT, al
        dec     cx
        jnz     .l
        pop     edx
        pop     cx
        pop     eax
        ret

put_dec:                                ; eax unsigned decimal
        push    eax
        push    ebx
        push    cx
        push    edx
        mov     ebx, 10
        xor     cx, cx
.div:   xor     edx, edx
        div     ebx
        push    dx
        inc     cx
        test    eax, eax
        jnz     .div
.out:   pop     ax
        add     al, '0'
        out     DEBUG_PORT, al
        dec     cx
        jnz     .out
        pop     edx
        pop     cx
        pop     ebx
        pop     eax
        ret

; ---------------------------------------------------------------------------
; IVT at 0000:0000 (SDM Vol 3A, real-address mode "Interrupt and Exception
; Handling"): vectors 0-31 point at stubs that
; report "FAIL unexpected vector <n>" and halt.
; ---------------------------------------------------------------------------
ivt_init:
        xor     di, di                  ; es = 0
        mov     ax, stubs
        xor     cx, cx
.l:     mov     [es:di], ax             ; offset
        mov     word [es:di + 2], 0xF000 ; segment
        add     ax, STUB_SIZE
        add     di, 4
        inc     cx
        cmp     cx, 32
        jb      .l
        ret

STUB_SIZE equ 6
stubs:
%assign v 0
%rep 32
        push    strict word v
        jmp     strict near catch_all
%assign v v + 1
%endrep
        times (($ - stubs) - 32 * STUB_SIZE) db 0
        times ((32 * STUB_SIZE) - ($ - stubs)) db 0

; [sp] = vector, [sp+2] = IP, [sp+4] = CS (real mode pushes no error codes).
catch_all:
        cld
        mov     ax, 0xF000
        mov     ds, ax
        mov     bp, sp
        mov     si, s_unexpected
        call    puts
        movzx   eax, word [bp]
        call    put_dec
        mov     si, s_ip
        call    puts
        movzx   eax, word [bp + 4]
        shl     eax, 16
        mov     ax, [bp + 2]
        call    put_hex32
        call    newline
        jmp     halt

; ---------------------------------------------------------------------------
s_up:           db "real16 up", 10, 0
s_ok:           db "ok ", 0
s_fail:         db "FAIL ", 0
s_done:         db "DONE real16 ", 0
s_unexpected:   db "FAIL unexpected vector ", 0
s_ip:           db " cs:ip=", 0

; Reset vector: image offset 0xFFF0 = GPA 0xFFFFFFF0 (via the alias) and
; 0xFFFF0 (low copy).
        times 0xFFF0 - ($ - $$) db 0
reset_vector:
        jmp     0xF000:start
        times 0x10000 - ($ - $$) db 0
