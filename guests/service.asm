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
; then it serves the one-letter power commands of scenario-guest.inc, and `l`:
; as a device model would, it runs the full lifecycle of a post-launched User
; VM twice through ACRN's hypercalls (VMCALL, R8 = id, RDI/RSI = params, RAX =
; result). The User VM image (guests/user.asm) is its ramdisk (zero page
; ramdisk_image/ramdisk_size). Per run:
;   CREATE_VM "post1", SET_IOREQ_BUFFER, VM_SET_MEMORY_REGIONS (1 MiB of its
;   own RAM at user GPA 0, the image's 64 KiB also at 0xFFFF0000), START_VM;
;   pause; resume (pause, RESET_VM, SET_VCPU_REGS to F000:0100, START_VM);
;   reset (pause, RESET_VM, START_VM: the reset vector again); stop (pause,
;   DESTROY_VM).
; Each hypercall prints "dm: <name> = <rax>"; after each start it waits for
; the User VM's flag in the shared memory ("dm: user VM ran ..."), or prints
; "dm: FAIL ..." on a timeout. The last line is "dm: lifecycle done".
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
        mov     [zero_page], rsi
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

; ---- the device model's side of a User VM's lifecycle (command `l`) ----

HC_CREATE_VM            equ 0x80000010
HC_DESTROY_VM           equ 0x80000011
HC_START_VM             equ 0x80000012
HC_PAUSE_VM             equ 0x80000013
HC_RESET_VM             equ 0x80000015
HC_SET_VCPU_REGS        equ 0x80000016
HC_SET_IOREQ_BUFFER     equ 0x80000030
HC_VM_SET_MEMORY_REGIONS equ 0x80000042
ZP_RAMDISK_IMAGE        equ 0x218
ZP_RAMDISK_SIZE         equ 0x21C
SCRATCH_OFF             equ 0x100000    ; structures, inside the kernel's init_size footprint
UVM_OFF                 equ 0x400000    ; the User VM's memory, 1 MiB of the Service VM's RAM
UVM_SIZE                equ 0x100000
UVM_RUN                 equ 0x500       ; in the User VM: the run number (byte) ...
UVM_FLAG                equ 0x504       ; ... and the flag it sets (word)
; offsets in the scratch area
S_CREATION              equ 0x000       ; struct acrn_vm_creation (48 bytes)
S_IOREQ                 equ 0x100       ; struct acrn_ioreq_buffer
S_SET_REGIONS           equ 0x200       ; struct set_regions (24 bytes)
S_REGIONS               equ 0x300       ; 2 x struct vm_memory_region (32 bytes)
S_VCPU_REGS             equ 0x400       ; struct acrn_vcpu_regs (296 bytes)
S_IOREQ_PAGE            equ 0x1000      ; the I/O request buffer (4 KiB)
MR_ADD                  equ 0
PROT_RWX_WB             equ 0x7 | 0x40
WAIT_PAUSES             equ 40000000

; hypercall: r8 = id, rdi, rsi = parameters -> rax; prints "dm: <name> = <rax>" (rdx = name)
hcall:
        vmcall
        push    rsi
        lea     rsi, [msg_dm]
        call    com_puts
        mov     rsi, rdx
        call    com_puts
        lea     rsi, [msg_eq]
        call    com_puts
        call    com_hex
        call    com_newline
        pop     rsi
        ret

; wait until the User VM's flag (word at r13 + UVM_FLAG) is ax; print rsi or a failure
wait_flag:
        mov     ecx, WAIT_PAUSES
.poll:  cmp     [r13 + UVM_FLAG], ax
        je      .seen
        pause
        dec     ecx
        jnz     .poll
        lea     rsi, [msg_timeout]
.seen:  push    rsi
        lea     rsi, [msg_dm]
        call    com_puts
        pop     rsi
        call    com_puts
        call    com_newline
        ret

; zero rcx bytes at rdi
zero:   push    rdi
        push    rcx
        push    rax
        xor     eax, eax
        rep     stosb
        pop     rax
        pop     rcx
        pop     rdi
        ret

lifecycle:
        push    rbx
        push    r12
        push    r13
        push    r14
        push    r15
        lea     r12, [pm_start + SCRATCH_OFF]
        lea     r13, [pm_start + UVM_OFF]
        mov     r15, [zero_page]
        mov     byte [run], 1
.run:   lea     rsi, [msg_run]
        call    com_puts
        movzx   eax, byte [run]
        call    com_dec
        call    com_newline
        ; the User VM's memory: zeroed, the image at 0xF0000, the run number
        mov     rdi, r13
        mov     ecx, UVM_SIZE
        call    zero
        mov     esi, [r15 + ZP_RAMDISK_IMAGE]
        mov     ecx, [r15 + ZP_RAMDISK_SIZE]
        cmp     ecx, 0x10000
        jbe     .sized
        mov     ecx, 0x10000
.sized: lea     rdi, [r13 + 0xF0000]
        rep     movsb
        mov     al, [run]
        mov     [r13 + UVM_RUN], al
        ; CREATE_VM
        lea     rdi, [r12 + S_CREATION]
        mov     ecx, 48
        call    zero
        mov     dword [rdi + 8], 'post'
        mov     byte [rdi + 12], '1'
        mov     r8d, HC_CREATE_VM
        lea     rdx, [n_create]
        call    hcall
        movzx   r14d, word [r12 + S_CREATION]      ; the vmid (relative)
        lea     rsi, [msg_vmid]
        call    com_puts
        mov     rax, r14
        call    com_dec
        call    com_newline
        ; SET_IOREQ_BUFFER
        lea     rax, [r12 + S_IOREQ_PAGE]
        mov     [r12 + S_IOREQ], rax
        mov     rdi, r14
        lea     rsi, [r12 + S_IOREQ]
        mov     r8d, HC_SET_IOREQ_BUFFER
        lea     rdx, [n_ioreq]
        call    hcall
        ; VM_SET_MEMORY_REGIONS: [0, 1 MiB) and the reset alias
        lea     rdi, [r12 + S_SET_REGIONS]
        mov     ecx, 24 + 0x100 + 64
        call    zero
        mov     [rdi], r14w
        mov     dword [rdi + 8], 2
        lea     rax, [r12 + S_REGIONS]
        mov     [rdi + 16], rax
        lea     rsi, [r12 + S_REGIONS]
        mov     dword [rsi + 0], MR_ADD
        mov     dword [rsi + 4], PROT_RWX_WB
        mov     qword [rsi + 8], 0
        mov     [rsi + 16], r13
        mov     qword [rsi + 24], UVM_SIZE
        mov     dword [rsi + 32], MR_ADD
        mov     dword [rsi + 36], PROT_RWX_WB
        mov     eax, 0xFFFF0000
        mov     [rsi + 40], rax
        lea     rax, [r13 + 0xF0000]
        mov     [rsi + 48], rax
        mov     qword [rsi + 56], 0x10000
        mov     r8d, HC_VM_SET_MEMORY_REGIONS
        lea     rdx, [n_regions]
        call    hcall
        ; START_VM: from the reset vector
        mov     word [r13 + UVM_FLAG], 0
        call    start_vm
        mov     ax, 0x600D
        lea     rsi, [msg_ran]
        call    wait_flag
        call    pause_vm
        ; resume: pause -> reset -> set vcpu regs -> start
        call    reset_vm
        call    set_regs
        mov     word [r13 + UVM_FLAG], 0
        call    start_vm
        mov     ax, 0x600E
        lea     rsi, [msg_resumed]
        call    wait_flag
        ; reset: pause -> reset -> start
        call    pause_vm
        call    reset_vm
        mov     word [r13 + UVM_FLAG], 0
        call    start_vm
        mov     ax, 0x600D
        lea     rsi, [msg_again]
        call    wait_flag
        ; stop: pause -> destroy
        call    pause_vm
        mov     rdi, r14
        mov     r8d, HC_DESTROY_VM
        lea     rdx, [n_destroy]
        call    hcall
        inc     byte [run]
        cmp     byte [run], 2
        jbe     .run
        lea     rsi, [msg_done]
        call    com_puts
        pop     r15
        pop     r14
        pop     r13
        pop     r12
        pop     rbx
        ret

start_vm:
        mov     rdi, r14
        mov     r8d, HC_START_VM
        lea     rdx, [n_start]
        jmp     hcall
pause_vm:
        mov     rdi, r14
        mov     r8d, HC_PAUSE_VM
        lea     rdx, [n_pause]
        jmp     hcall
reset_vm:
        mov     rdi, r14
        mov     r8d, HC_RESET_VM
        lea     rdx, [n_reset]
        jmp     hcall

; SET_VCPU_REGS: vCPU 0 in real mode at F000:0100 (the User VM's resume entry)
set_regs:
        lea     rdi, [r12 + S_VCPU_REGS]
        mov     ecx, 296
        call    zero
        lea     rsi, [rdi + 8]                      ; struct acrn_regs
        mov     word [rsi + 144], 0x3FF             ; idt.limit
        mov     qword [rsi + 160], 0x100            ; rip
        mov     qword [rsi + 168], 0xF0000          ; cs_base
        mov     qword [rsi + 176], 0x30             ; cr0: ET, NE
        mov     qword [rsi + 208], 0x2              ; rflags
        mov     dword [rsi + 248], 0x9B             ; cs_ar
        mov     dword [rsi + 252], 0xFFFF           ; cs_limit
        mov     word [rsi + 268], 0xF000            ; cs_sel
        mov     rsi, rdi
        mov     rdi, r14
        mov     r8d, HC_SET_VCPU_REGS
        lea     rdx, [n_regs]
        jmp     hcall

n_create        db "create_vm", 0
n_ioreq         db "set_ioreq_buffer", 0
n_regions       db "set_memory_regions", 0
n_start         db "start_vm", 0
n_pause         db "pause_vm", 0
n_reset         db "reset_vm", 0
n_regs          db "set_vcpu_regs", 0
n_destroy       db "destroy_vm", 0
msg_dm          db "dm: ", 0
msg_eq          db " = ", 0
msg_run         db "dm: lifecycle run ", 0
msg_vmid        db "dm: vmid ", 0
msg_ran         db "user VM ran from its reset vector", 0
msg_resumed     db "user VM resumed at the registers set", 0
msg_again       db "user VM ran again after the reset", 0
msg_timeout     db "FAIL timeout waiting for the user VM", 0
msg_done        db "dm: lifecycle done", 10, 0
align 8
zero_page       dq 0
run             db 0

%define HAVE_LIFECYCLE
%include "scenario-guest.inc"

msg_hello       db "service guest: bzImage at ", 0
msg_zp          db ", zero page ", 0
msg_e820        db ", e820 entries ", 0
msg_ram         db ", RAM ", 0
msg_mib         db " MiB", 0
msg_cmdline     db "command line: ", 0
align 16
pm_end:
