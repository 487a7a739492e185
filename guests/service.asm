; service.asm - a stand-in Service VM kernel for tests and `make run`: a
; minimal image in Linux's bzImage format (boot protocol 2.15,
; Documentation/arch/x86/boot.rst), so that the scenario's Service VM
; (kernel type bzImage, module tag `Linux_bzImage`) goes through the real
; Linux boot path of the software loader: setup header, relocatable
; placement, zero page with the e820 table and command line, 64-bit entry at
; load + 0x200 with RSI = the zero page.
;
; It greets on its console (vuart 0) with where it was loaded, how many e820
; entries and how much RAM its zero page gives it, and its command line;
; then it serves the one-letter power commands of scenario-guest.inc.
;
; Build: nasm -f bin -i guests/ -o service.bin service.asm

default rel                         ; every memory operand RIP-relative: position independent
SETUP_SECTS     equ 1               ; the protected-mode code starts at (1 + 1) * 512
ZP_E820_ENTRIES equ 0x1E8           ; struct boot_params
ZP_CMD_LINE_PTR equ 0x228
ZP_E820_TABLE   equ 0x2D0
E820_RAM        equ 1

bits 16
org 0
; ---- the real-mode part: only the setup header matters (at 0x1F1) ----
        times 0x1F1 - ($ - $$) db 0
setup_sects     db SETUP_SECTS      ; 0x1F1
root_flags      dw 0                ; 0x1F2
syssize         dd (pm_end - pm_start + 15) / 16 ; 0x1F4: protected-mode size in 16-byte units
ram_size        dw 0                ; 0x1F8
vid_mode        dw 0                ; 0x1FA
root_dev        dw 0                ; 0x1FC
boot_flag       dw 0xAA55           ; 0x1FE
jump            db 0xEB, header_end - 0x202 ; 0x200: the jump's offset ends the header
header          db "HdrS"           ; 0x202
version         dw 0x020F           ; 0x206
realmode_swtch  dd 0                ; 0x208
start_sys_seg   dw 0                ; 0x20C
kernel_version  dw 0                ; 0x20E
type_of_loader  db 0                ; 0x210
loadflags       db 0x01             ; 0x211: LOADED_HIGH
setup_move_size dw 0                ; 0x212
code32_start    dd 0x100000         ; 0x214
ramdisk_image   dd 0                ; 0x218
ramdisk_size    dd 0                ; 0x21C
bootsect_kludge dd 0                ; 0x220
heap_end_ptr    dw 0                ; 0x224
ext_loader_ver  db 0                ; 0x226
ext_loader_type db 0                ; 0x227
cmd_line_ptr    dd 0                ; 0x228
initrd_addr_max dd 0x7FFFFFFF       ; 0x22C
kernel_align    dd 0x200000         ; 0x230
relocatable     db 1                ; 0x234
min_alignment   db 21               ; 0x235
xloadflags      dw 0x0001           ; 0x236: XLF_KERNEL_64
cmdline_size    dd 2047             ; 0x238
hw_subarch      dd 0                ; 0x23C
hw_subarch_data dq 0                ; 0x240
payload_offset  dd 0                ; 0x248
payload_length  dd 0                ; 0x24C
setup_data      dq 0                ; 0x250
pref_address    dq 0x1000000        ; 0x258
init_size       dd 0x200000         ; 0x260
handover_offset dd 0                ; 0x264
kernel_info_off dd 0                ; 0x268
header_end:
        times (SETUP_SECTS + 1) * 512 - ($ - $$) db 0

; ---- the protected-mode part, loaded at a 2 MiB-aligned address ----
pm_start:
bits 32
entry32:                            ; the 32-bit entry is not this guest's: stop
        cli
        hlt
        jmp     entry32
        times 0x200 - ($ - pm_start) db 0
bits 64
entry64:                            ; load + 0x200, RSI = the zero page
        mov     rbx, rsi
        lea     rsi, [msg_hello]
        call    com_puts
        lea     rax, [pm_start]
        call    com_hex
        lea     rsi, [msg_zp]
        call    com_puts
        mov     rax, rbx
        call    com_hex
        lea     rsi, [msg_e820]
        call    com_puts
        movzx   eax, byte [rbx + ZP_E820_ENTRIES]
        call    com_dec
        ; RAM the e820 table gives (MiB)
        movzx   ecx, byte [rbx + ZP_E820_ENTRIES]
        lea     rdi, [rbx + ZP_E820_TABLE]
        xor     edx, edx
.ram:   test    ecx, ecx
        jz      .ramdone
        cmp     dword [rdi + 16], E820_RAM
        jne     .next
        add     rdx, [rdi + 8]
.next:  add     rdi, 20
        dec     ecx
        jmp     .ram
.ramdone:
        lea     rsi, [msg_ram]
        call    com_puts
        mov     rax, rdx
        shr     rax, 20
        call    com_dec
        lea     rsi, [msg_mib]
        call    com_puts
        call    com_newline
        lea     rsi, [msg_cmdline]
        call    com_puts
        mov     esi, [rbx + ZP_CMD_LINE_PTR]
        call    com_puts
        call    com_newline
        jmp     command_loop

%include "scenario-guest.inc"

msg_hello       db "service guest: bzImage at ", 0
msg_zp          db ", zero page ", 0
msg_e820        db ", e820 entries ", 0
msg_ram         db ", RAM ", 0
msg_mib         db " MiB", 0
msg_cmdline     db "command line: ", 0
align 16
pm_end:
