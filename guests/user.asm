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
