; user.asm - the post-launched User VM that the test Service VM
; (guests/service.asm, command `l`) creates through hypercalls: a 64 KiB
; real-mode image that the Service VM maps at guest-physical 0xF0000 and at
; the reset alias 0xFFFF0000, as a device model maps a BIOS. It uses only
; hypervisor-emulated devices: its console is vuart 0 (COM1).
;
;   reset vector (F000:FFF0)  -> start:  "user VM: hello, run <n>", flag 0x600D
;   F000:0100 (the registers the Service VM sets with HC_SET_VCPU_REGS)
;                             -> resume: "user VM: resumed, run <n>", flag 0x600E
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

        times 0xFFF0 - ($ - $$) db 0
reset_vector:                           ; F000:FFF0
        jmp     0xF000:start
        times 0x10000 - ($ - $$) db 0
