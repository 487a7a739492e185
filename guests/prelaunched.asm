; prelaunched.asm - the scenario's pre-launched test VM (module tag
; `prelaunched` in the default scenario): a raw 64-bit image the software
; loader puts at GPA 0x100000 and enters in 64-bit mode on its identity page
; tables, RDI = the vm id (hv/vm/sw-loader.ts). It greets on its console
; (vuart 0) with its id and load address, then serves the one-letter power
; commands of scenario-guest.inc typed through `vm_console`.
;
; Build: nasm -f bin -i guests/ -o prelaunched.bin prelaunched.asm

default rel                         ; every memory operand RIP-relative: position independent
bits 64
org 0x100000

start:
        mov     rbx, rdi
        lea     rsi, [msg_hello]
        call    com_puts
        mov     rax, rbx
        call    com_dec
        lea     rsi, [msg_at]
        call    com_puts
        lea     rax, [start]
        call    com_hex
        call    com_newline
        jmp     command_loop

%include "scenario-guest.inc"

msg_hello       db "prelaunched guest: hello from vm", 0
msg_at          db " at ", 0
