; echo.asm - serial echo kernel for the emulator harness self-test.
;
; Boots from GRUB via multiboot2 into 32-bit protected mode (paging off),
; sets up COM1 (115200 8N1, polled, no interrupts), prints "ECHO READY" and
; then echoes every byte it receives. A received CR or LF ends a line:
;   "pass" -> print "ECHO PASS", signal pass to the emulator
;   "fail" -> print "ECHO FAIL", signal fail to the emulator
;   anything else -> start a new line
;
; Stopping the emulator (the same protocol the hypervisor uses):
;   1. wait for LSR.TEMT so Bochs does not lose the last bytes;
;   2. pass only: Bochs iodebug port 0x8A00, 16-bit writes 0x8A00 then 0x8AE0
;      ("return to debugger prompt"; the harness's rc file then says 'q',
;      Bochs exits 0). QEMU has nothing at that port and carries on;
;   3. QEMU isa-debug-exit (port 0xF4, dword): 0 = pass, 1 = fail;
;      QEMU exits with status (value << 1) | 1. Bochs has nothing there;
;   4. Bochs shutdown port 0x8900 <- "Shutdown": Bochs panics, exits 1.
;      Only reached on Bochs, and on pass only if step 2 did not stop it.
;
; Build: nasm -f bin -o echo.bin echo.asm

        bits 32
        org 0x100000

MB2_MAGIC       equ 0xE85250D6
MB2_ARCH_I386   equ 0
MB2_HDR_LEN     equ mb2_header_end - mb2_header

COM1            equ 0x3F8
UART_THR        equ 0                   ; transmit holding (DLAB=0)
UART_RBR        equ 0                   ; receive buffer (DLAB=0)
UART_DLL        equ 0                   ; divisor low (DLAB=1)
UART_IER        equ 1
UART_DLM        equ 1                   ; divisor high (DLAB=1)
UART_FCR        equ 2
UART_LCR        equ 3
UART_MCR        equ 4
UART_LSR        equ 5
LSR_DR          equ 0x01                ; receive data ready
LSR_THRE        equ 0x20                ; transmit holding register empty
LSR_TEMT        equ 0x40                ; transmitter completely empty

BOCHS_IODEBUG   equ 0x8A00
BOCHS_SHUTDOWN  equ 0x8900
QEMU_DEBUG_EXIT equ 0xF4

LINE_MAX        equ 16

; ---------------------------------------------------------------------------
; Multiboot2 header (must be 8-byte aligned within the first 32 KiB).
; The address tag lets GRUB load a flat binary.
        align 8
mb2_header:
        dd MB2_MAGIC
        dd MB2_ARCH_I386
        dd MB2_HDR_LEN
        dd (0x100000000 - (MB2_MAGIC + MB2_ARCH_I386 + MB2_HDR_LEN)) & 0xFFFFFFFF
        ; address tag (type 2)
        dw 2, 0
        dd 24
        dd mb2_header                   ; header_addr
        dd mb2_header                   ; load_addr
        dd load_end                     ; load_end_addr
        dd bss_end                      ; bss_end_addr
        ; entry address tag (type 3), padded to 8 bytes
        dw 3, 0
        dd 12
        dd start
        dd 0
        ; end tag
        dw 0, 0
        dd 8
mb2_header_end:

; ---------------------------------------------------------------------------
start:
        cli
        cld
        mov esp, stack_top
        call uart_init
        mov esi, s_ready
        call puts

        xor ebx, ebx                    ; ebx = length of the current line
.next:  call getc
        cmp al, 13
        je .eol
        cmp al, 10
        je .eol
        call putc                       ; echo
        cmp ebx, LINE_MAX               ; overlong lines saturate and never match
        jae .next
        mov [line + ebx], al
        inc ebx
        jmp .next

.eol:   mov esi, s_crlf
        call puts
        cmp ebx, 4
        jne .reset
        mov eax, [line]
        cmp eax, 'pass'
        je .pass
        cmp eax, 'fail'
        je .fail
.reset: xor ebx, ebx
        jmp .next

.pass:  mov esi, s_pass
        call puts
        xor ecx, ecx
        jmp stop
.fail:  mov esi, s_fail
        call puts
        mov ecx, 1
        jmp stop

; ---------------------------------------------------------------------------
; stop: ecx = 0 (pass) or nonzero (fail). Never returns.
stop:
        mov dx, COM1 + UART_LSR
.drain: in al, dx
        test al, LSR_TEMT
        jz .drain
        test ecx, ecx
        jnz .qemu
        mov dx, BOCHS_IODEBUG
        mov ax, 0x8A00
        out dx, ax
        mov ax, 0x8AE0
        out dx, ax
        nop
        nop
.qemu:  mov eax, ecx
        mov dx, QEMU_DEBUG_EXIT
        out dx, eax
        mov esi, s_shutdown
        mov dx, BOCHS_SHUTDOWN
.sd:    lodsb
        test al, al
        jz .halt
        out dx, al
        jmp .sd
.halt:  cli
        hlt
        jmp .halt

; ---------------------------------------------------------------------------
; COM1 helpers (polled). Clobber: dx (and al for getc).
uart_init:
        mov dx, COM1 + UART_IER
        xor al, al
        out dx, al                      ; no interrupts
        mov dx, COM1 + UART_LCR
        mov al, 0x80
        out dx, al                      ; DLAB = 1
        mov dx, COM1 + UART_DLL
        mov al, 1
        out dx, al                      ; divisor 1 = 115200 baud
        mov dx, COM1 + UART_DLM
        xor al, al
        out dx, al
        mov dx, COM1 + UART_LCR
        mov al, 0x03
        out dx, al                      ; 8N1, DLAB = 0
        mov dx, COM1 + UART_FCR
        mov al, 0x07
        out dx, al                      ; enable and clear both FIFOs
        mov dx, COM1 + UART_MCR
        mov al, 0x03
        out dx, al                      ; DTR, RTS
        ret

putc:                                   ; al = byte
        push eax
        mov dx, COM1 + UART_LSR
.wait:  in al, dx
        test al, LSR_THRE
        jz .wait
        pop eax
        mov dx, COM1 + UART_THR
        out dx, al
        ret

getc:                                   ; -> al = byte
        mov dx, COM1 + UART_LSR
.wait:  in al, dx
        test al, LSR_DR
        jz .wait
        mov dx, COM1 + UART_RBR
        in al, dx
        ret

puts:                                   ; esi -> NUL-terminated string
        push eax
.l:     lodsb
        test al, al
        jz .d
        call putc
        jmp .l
.d:     pop eax
        ret

s_ready:    db "ECHO READY", 13, 10, 0
s_crlf:     db 13, 10, 0
s_pass:     db "ECHO PASS", 13, 10, 0
s_fail:     db "ECHO FAIL", 13, 10, 0
s_shutdown: db "Shutdown", 0

        align 4
load_end:

        section .bss
        alignb 16
line:           resb LINE_MAX
                resb 4096
stack_top:
bss_end:
