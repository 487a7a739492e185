; user.asm - the post-launched User VM that the test Service VM
; (guests/service.asm, command `l`) creates through hypercalls: a 64 KiB
; real-mode image that the Service VM maps at guest-physical 0xF0000 and at
; the reset alias 0xFFFF0000, as a device model maps a BIOS. It uses only
; hypervisor-emulated devices: its console is vuart 0 (COM1).
;
;   reset vector (F000:FFF0)  -> start:  "user VM: hello, run <n>", flag 0x600D
;   F000:0100 (the registers the Service VM sets with HC_SET_VCPU_REGS)
;                             -> resume: "user VM: resumed, run <n>", flag 0x600E
;   F000:0300 (likewise)      -> probe: copies the dword at guest-physical
;                                0x9000 to 0x510 forever, printing "user VM:
;                                sees <hex>" whenever it changes (the Service
;                                VM remaps that page while the VM runs)
;   F000:0200 (likewise)      -> fuzz: 20,000 VMCALLs with seeded random
;                                GPRs; a User VM may not make hypercalls, so
;                                each must come back as #UD, which the IVT
;                                handler counts and skips: "user VM: fuzz
;                                <n> vmcalls, <m> #UD", flag 0x600F
;   F000:1000 (likewise)      -> devices: drives the Service VM's device
;                                model through I/O requests: PCI bus 0 by
;                                CF8/CFC ("user VM: pci 00:3.0 id ace08086"),
;                                its config register 0x40, 64 ordered writes
;                                and 64 sequence reads on port 0x5A0, the
;                                echo port 0x5A4 at 1, 2 and 4 bytes, MMIO
;                                at guest-physical 0x100000 (FFFF:0010);
;                                "user VM: device model devices ok" (flag
;                                0x6010) or "... FAIL at step <n>" (0x6011)
;   F000:1200                 -> burst: writes 0, 1, 2, ... to port 0x5A0
;                                for ever (the counter at 0x520 only moves
;                                once a write has completed)
;   F000:1300 / F000:1400     -> resets itself through 0xCF9 / powers itself
;                                off through PM1a_CNT (S5): both the DM's
;   F000:1500                 -> bench: TSC per DM-served IN from 0x5A4 over
;                                1,000 reads, to 0x528 (flag 0x6012)
; <n> is the byte the Service VM left at guest-physical 0x500; the flag goes to
; the word at 0x504, which the Service VM polls in its own memory. Then the
; vCPU halts with interrupts off (it stays halted until the Service VM
; pauses it).
;
; Build: nasm -f bin -o user.bin user.asm

bits 16
org 0

COM1            equ 0x3F8
RUN_NUMBER      equ 0x500
DONE_FLAG       equ 0x504
UD_COUNT        equ 0x508
SEED            equ 0x50C
MIRROR          equ 0x510
PROBED          equ 0x9000
FUZZ_CALLS      equ 20000

start:
        cli
        xor     ax, ax
        mov     ds, ax
        mov     ss, ax
        mov     sp, 0x7000
        mov     si, msg_hello
        call    puts
        call    put_run
        mov     word [DONE_FLAG], 0x600D
        jmp     halt

        times 0x100 - ($ - $$) db 0
resume:                                 ; F000:0100
        cli
        xor     ax, ax
        mov     ds, ax
        mov     ss, ax
        mov     sp, 0x7000
        mov     si, msg_resumed
        call    puts
        call    put_run
        mov     word [DONE_FLAG], 0x600E
halt:   hlt
        jmp     halt

        times 0x200 - ($ - $$) db 0
fuzz:                                   ; F000:0200
        cli
        xor     ax, ax
        mov     ds, ax
        mov     ss, ax
        mov     sp, 0x7000
        mov     word [6 * 4], ud_handler        ; IVT: #UD -> F000:ud_handler
        mov     word [6 * 4 + 2], 0xF000
        mov     word [UD_COUNT], 0
        mov     dword [SEED], 0x2F6B4E1D
        xor     cx, cx                          ; VMCALLs made
.call:  push    cx
        call    rand32
        mov     ebx, eax
        call    rand32
        mov     ecx, eax
        call    rand32
        mov     edx, eax
        call    rand32
        mov     esi, eax
        call    rand32
        mov     edi, eax
        call    rand32
        mov     ebp, eax
        call    rand32
        vmcall                                  ; 3 bytes: the #UD handler skips them
        xor     ax, ax                          ; the registers are random: reset DS and SS
        mov     ds, ax
        mov     ss, ax
        mov     sp, 0x7000 - 2                  ; where the pushed cx is
        pop     cx
        inc     cx
        cmp     cx, FUZZ_CALLS
        jb      .call
        mov     si, msg_fuzz
        call    puts
        mov     ax, cx
        call    put_dec16
        mov     si, msg_fuzz_ud
        call    puts
        mov     ax, [UD_COUNT]
        call    put_dec16
        mov     si, msg_fuzz_end
        call    puts
        mov     word [DONE_FLAG], 0x600F
        jmp     halt

        times 0x300 - ($ - $$) db 0
probe:                                  ; F000:0300
        cli
        xor     ax, ax
        mov     ds, ax
        mov     ss, ax
        mov     sp, 0x7000
        mov     dword [MIRROR], 0
.look:  mov     eax, [PROBED]
        cmp     eax, [MIRROR]
        je      .look
        mov     [MIRROR], eax
        mov     si, msg_sees
        call    puts
        call    put_hex32
        mov     al, 10
        call    putc
        jmp     .look

; eax as 8 hex digits
put_hex32:
        push    eax
        push    cx
        push    dx
        mov     edx, eax
        mov     cx, 8
.d:     rol     edx, 4
        mov     al, dl
        and     al, 0x0F
        add     al, '0'
        cmp     al, '9'
        jbe     .p
        add     al, 'a' - '9' - 1
.p:     call    putc
        loop    .d
        pop     dx
        pop     cx
        pop     eax
        ret

; #UD: count it and resume after the 3-byte VMCALL
ud_handler:
        push    bp
        mov     bp, sp
        add     word [bp + 2], 3
        push    ds
        push    ax
        xor     ax, ax
        mov     ds, ax
        inc     word [UD_COUNT]
        pop     ax
        pop     ds
        pop     bp
        iret

; eax = the next xorshift32 value (SEED at 0:SEED; DS = 0)
rand32:
        push    edx
        mov     eax, [SEED]
        mov     edx, eax
        shl     edx, 13
        xor     eax, edx
        mov     edx, eax
        shr     edx, 17
        xor     eax, edx
        mov     edx, eax
        shl     edx, 5
        xor     eax, edx
        mov     [SEED], eax
        pop     edx
        ret

; ax as unsigned decimal
put_dec16:
        push    ax
        push    bx
        push    cx
        push    dx
        mov     bx, 10
        xor     cx, cx
.div:   xor     dx, dx
        div     bx
        push    dx
        inc     cx
        test    ax, ax
        jnz     .div
.out:   pop     ax
        add     al, '0'
        call    putc
        loop    .out
        pop     dx
        pop     cx
        pop     bx
        pop     ax
        ret

; al -> COM1 once THRE (LSR bit 5) is set
putc:
        push    dx
        push    ax
        mov     dx, COM1 + 5
.wait:  in      al, dx
        test    al, 0x20
        jz      .wait
        pop     ax
        mov     dx, COM1
        out     dx, al
        pop     dx
        ret

; cs:si -> NUL-terminated string
puts:
        push    ax
.l:     cs lodsb
        test    al, al
        jz      .e
        call    putc
        jmp     .l
.e:     pop     ax
        ret

; the run number (one decimal digit or two), then a newline
put_run:
        push    ax
        push    bx
        xor     ax, ax
        mov     al, [RUN_NUMBER]
        mov     bl, 10
        div     bl
        test    al, al
        jz      .ones
        add     al, '0'
        call    putc
.ones:  mov     al, ah
        add     al, '0'
        call    putc
        mov     al, 10
        call    putc
        pop     bx
        pop     ax
        ret

;  ---- the device model's devices (issue: the I/O request path) ----

DM_PORT         equ 0x5A0       ; the DM's sequence port: writes are checked in order, reads follow its sequence
ECHO_PORT       equ 0x5A4       ; the DM's echo port: a read gives the last write, any size
BURST_COUNT     equ 0x520       ; the next value written to DM_PORT
FAIL_STEP       equ 0x524
BENCH_RESULT    equ 0x528       ; TSC per DM-served read
DM_MMIO_SEG     equ 0xFFFF      ; FFFF:0010 = guest-physical 0x100000, above the VM's 1 MiB of RAM
BENCH_READS     equ 1000

        times 0x1000 - ($ - $$) db 0
devices:                                ; F000:1000
        cli
        xor     ax, ax
        mov     ds, ax
        mov     ss, ax
        mov     sp, 0x7000
        mov     si, msg_devices
        call    puts
        ; 1. bus 0: function 0 of each device, through CF8/CFC (the DM answers)
        xor     ebx, ebx
.scan:  mov     eax, ebx
        shl     eax, 11
        or      eax, 0x80000000
        mov     dx, 0xCF8
        out     dx, eax
        mov     dx, 0xCFC
        in      eax, dx
        cmp     ax, 0xFFFF
        je      .absent
        mov     si, msg_pci
        call    puts
        push    ax
        mov     ax, bx
        call    put_dec16
        pop     ax
        mov     si, msg_pci_id
        call    puts
        call    put_hex32
        mov     al, 10
        call    putc
.absent:
        inc     ebx
        cmp     ebx, 32
        jb      .scan
        ; 2. 00:03.0 register 0x40 keeps what is written (a word read of its upper half)
        mov     byte [FAIL_STEP], 2
        mov     eax, 0x80001840
        mov     dx, 0xCF8
        out     dx, eax
        mov     eax, 0x13579BDF
        mov     dx, 0xCFC
        out     dx, eax
        mov     eax, 0x80001840
        mov     dx, 0xCF8
        out     dx, eax
        mov     dx, 0xCFE
        in      ax, dx
        cmp     ax, 0x1357
        jne     .fail
        ; 3. 64 writes to the sequence port, in order
        mov     byte [FAIL_STEP], 3
        mov     dword [BURST_COUNT], 0
        mov     cx, 64
.w:     mov     eax, [BURST_COUNT]
        mov     dx, DM_PORT
        out     dx, eax
        inc     dword [BURST_COUNT]
        loop    .w
        ; 4. 64 reads: the DM's sequence k * 0x9E3779B9 + 0x1234
        mov     byte [FAIL_STEP], 4
        xor     ecx, ecx
.r:     mov     dx, DM_PORT
        in      eax, dx
        imul    edi, ecx, -0x61C88647
        add     edi, 0x1234
        cmp     eax, edi
        jne     .fail
        inc     ecx
        cmp     ecx, 64
        jb      .r
        ; 5. the echo port at each size
        mov     byte [FAIL_STEP], 5
        mov     dx, ECHO_PORT
        mov     al, 0x5A
        out     dx, al
        xor     eax, eax
        in      al, dx
        cmp     al, 0x5A
        jne     .fail
        mov     ax, 0xBEEF
        out     dx, ax
        xor     eax, eax
        in      ax, dx
        cmp     ax, 0xBEEF
        jne     .fail
        mov     eax, 0xC0FFEE11
        out     dx, eax
        xor     eax, eax
        in      eax, dx
        cmp     eax, 0xC0FFEE11
        jne     .fail
        ; 6. MMIO the DM backs: a dword store, a dword load, a word load (movzx)
        mov     byte [FAIL_STEP], 6
        mov     ax, DM_MMIO_SEG
        mov     es, ax
        mov     bx, 0x10
        mov     eax, 0xCAFEBABE
        mov     [es:bx], eax
        xor     eax, eax
        mov     eax, [es:bx]
        cmp     eax, 0xCAFEBABE
        jne     .fail
        movzx   eax, word [es:bx + 2]
        cmp     eax, 0xCAFE
        jne     .fail
        mov     si, msg_devices_ok
        call    puts
        mov     word [DONE_FLAG], 0x6010
        jmp     halt
.fail:  mov     si, msg_devices_fail
        call    puts
        movzx   ax, byte [FAIL_STEP]
        call    put_dec16
        mov     al, 10
        call    putc
        mov     word [DONE_FLAG], 0x6011
        jmp     halt

        times 0x1200 - ($ - $$) db 0
burst:                                  ; F000:1200: write BURST_COUNT, count on, forever
        cli
        xor     ax, ax
        mov     ds, ax
        mov     ss, ax
        mov     sp, 0x7000
        mov     dx, DM_PORT
.next:  mov     eax, [BURST_COUNT]
        out     dx, eax
        inc     dword [BURST_COUNT]
        jmp     .next

        times 0x1300 - ($ - $$) db 0
reset_self:                             ; F000:1300: a reset through 0xCF9, which is the DM's
        cli
        xor     ax, ax
        mov     ds, ax
        mov     ss, ax
        mov     sp, 0x7000
        mov     si, msg_cf9
        call    puts
        mov     dx, 0xCF9
        mov     al, 0x06
        out     dx, al
        mov     si, msg_still
        call    puts
        jmp     halt

        times 0x1400 - ($ - $$) db 0
power_off:                              ; F000:1400: S5 through PM1a_CNT, which is the DM's
        cli
        xor     ax, ax
        mov     ds, ax
        mov     ss, ax
        mov     sp, 0x7000
        mov     si, msg_s5
        call    puts
        mov     dx, 0x404
        mov     ax, (5 << 10) | (1 << 13)
        out     dx, ax
        mov     si, msg_still
        call    puts
        jmp     halt

        times 0x1500 - ($ - $$) db 0
bench:                                  ; F000:1500: TSC per DM-served read, to BENCH_RESULT
        cli
        xor     ax, ax
        mov     ds, ax
        mov     ss, ax
        mov     sp, 0x7000
        mov     dx, ECHO_PORT
        in      eax, dx                 ; one first round trip
        rdtsc
        mov     esi, eax
        mov     edi, edx
        mov     cx, BENCH_READS
.read:  in      eax, dx
        loop    .read
        rdtsc
        sub     eax, esi
        sbb     edx, edi
        mov     ecx, BENCH_READS
        div     ecx
        mov     [BENCH_RESULT], eax
        mov     word [DONE_FLAG], 0x6012
        jmp     halt

msg_devices     db "user VM: driving the device model's devices", 10, 0
msg_pci         db "user VM: pci 00:", 0
msg_pci_id      db ".0 id ", 0
msg_devices_ok  db "user VM: device model devices ok", 10, 0
msg_devices_fail db "user VM: device model devices FAIL at step ", 0
msg_cf9         db "user VM: resetting through 0xCF9", 10, 0
msg_s5          db "user VM: powering off (S5)", 10, 0
msg_still       db "user VM: FAIL still running after the power request", 10, 0
msg_hello       db "user VM: hello, run ", 0
msg_resumed     db "user VM: resumed, run ", 0
msg_fuzz        db "user VM: fuzz ", 0
msg_sees        db "user VM: sees ", 0
msg_fuzz_ud     db " vmcalls, ", 0
msg_fuzz_end    db " #UD", 10, 0

        times 0xFFF0 - ($ - $$) db 0
reset_vector:                           ; F000:FFF0
        jmp     0xF000:start
        times 0x10000 - ($ - $$) db 0
