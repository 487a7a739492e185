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
; Its device model (dm.inc) serves the User VM's I/O requests on the upcall
; vector: `d` runs the User VM's device test, `w` lets the User VM reset and
; power itself off (the DM pauses, clears the requests, resets or destroys),
; `x` pauses, resets and destroys it in the middle of a burst of requests,
; `a` reads one acrnctl-like command line (list, start, stop, pause,
; continue, reset).
;
; `e` remaps a page under the running User VM (its probe entry, F000:0300)
; and waits until the User VM sees the new page ("dm: the running User VM
; sees the remapped page").
;
; `u` runs the User VM at its fuzz entry (F000:0200, through SET_VCPU_REGS):
; it makes 20,000 VMCALLs with random registers, each of which must come back
; to it as #UD ("dm: user VM fuzzing done" once it reports), then destroys it.
;
; `n` times 1,000 GET_API_VERSION round trips ("bench hypercall <TSC per
; call>"); `b` does that, then times 3 quiet User VM lifecycles ("bench
; lifecycle <TSC per cycle>") and a DM-served port read ("bench dm read
; <TSC>"), then "bench done": make bench's figures.
;
; `f` (20,000 calls) and `F` (100,000, for make bench) fuzz the hypercall
; interface: xorshift64 from a fixed seed picks the id (ACRN's ids, the
; 0x800000xx range, random 32- and 64-bit values) and each parameter (0,
; small VM ids, aligned and unaligned pointers into a 1 MiB scratch area it
; keeps filled with random bytes, pointers ending at or crossing the top of
; its RAM, hypervisor and MMIO addresses, random 64-bit values). Its IDT
; (install_idt) absorbs NMIs and acknowledges stray vectors. It ends
; with "fuzz: <n> hypercalls, <z> returned 0, <e> refused".
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
        call    stash_user_image
        call    dm_setup
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
        call    show_vioapic
        lea     rdi, [w_demo]                   ; `dm_demo` on the command line: the acrnctl demo
        call    cmdline_has
        jne     command_loop
        call    dm_demo
        jmp     command_loop

; "service guest: vIOAPIC at 0xfec00000: id <ID register>, version <version
; register>": the hypervisor gives the Service VM one vIOAPIC per physical
; I/O APIC, with the chip's ID and number of pins (version bits 23:16)
show_vioapic:
        push    rax
        push    rcx
        push    rsi
        lea     rsi, [msg_vioapic]
        call    com_puts
        mov     ecx, 0xFEC00000
        mov     dword [rcx], 0                  ; IOREGSEL: ID
        mov     eax, [rcx + 0x10]
        call    com_hex
        lea     rsi, [msg_vioapic_ver]
        call    com_puts
        mov     dword [rcx], 1                  ; IOREGSEL: version
        mov     eax, [rcx + 0x10]
        call    com_hex
        call    com_newline
        pop     rsi
        pop     rcx
        pop     rax
        ret

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
USER_IMAGE_OFF          equ 0x600000    ; the User VM image, copied from the ramdisk at entry
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
WAIT_PAUSES             equ 40000000    ; (x 50 for the fuzzing User VM: 2e9 fits ecx)

; Keep the User VM image (the ramdisk, at most 64 KiB) where nothing else
; writes: the fuzzer aims hypercalls at the top of RAM, where the ramdisk is.
stash_user_image:
        push    rcx
        push    rsi
        push    rdi
        mov     esi, [rbx + ZP_RAMDISK_IMAGE]
        mov     ecx, [rbx + ZP_RAMDISK_SIZE]
        cmp     ecx, 0x10000
        jbe     .sized
        mov     ecx, 0x10000
.sized: lea     rdi, [pm_start + USER_IMAGE_OFF]
        rep     movsb
        pop     rdi
        pop     rsi
        pop     rcx
        ret

; The device model's routines keep rbx and r12-r15 for their caller and use
; r12 = the scratch structures, r13 = the User VM's memory, r14 = its vmid.
%macro DM_ENTER 0
        push    rbx
        push    r12
        push    r13
        push    r14
        push    r15
        lea     r12, [pm_start + SCRATCH_OFF]
        lea     r13, [pm_start + UVM_OFF]
%endmacro
%macro DM_LEAVE 0
        pop     r15
        pop     r14
        pop     r13
        pop     r12
        pop     rbx
        ret
%endmacro

; rax = the TSC (clobbers rdx)
tsc64:
        rdtsc
        shl     rdx, 32
        or      rax, rdx
        ret

; hypercall: r8 = id, rdi, rsi = parameters -> rax; prints "dm: <name> = <rax>" (rdx = name)
hcall:
        vmcall
        cmp     byte [quiet], 0
        jne     .quiet
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
.quiet: ret

; wait until the User VM's flag (word at r13 + UVM_FLAG) is ax; print rsi or a failure
wait_flag:
        mov     ecx, WAIT_PAUSES
wait_flag_for:                                  ; ... ecx pauses
.poll:  cmp     [r13 + UVM_FLAG], ax
        je      .seen
        pause
        dec     ecx
        jnz     .poll
        lea     rsi, [msg_timeout]
.seen:  cmp     byte [quiet], 0
        je      .say
        lea     rax, [msg_timeout]
        cmp     rsi, rax
        jne     .silent
.say:   push    rsi
        lea     rsi, [msg_dm]
        call    com_puts
        pop     rsi
        call    com_puts
        call    com_newline
.silent:
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
        DM_ENTER
        mov     r15, [zero_page]
        mov     byte [run], 1
.run:   lea     rsi, [msg_run]
        call    com_puts
        movzx   eax, byte [run]
        call    com_dec
        call    com_newline
        call    uvm_create
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
        call    destroy_vm
        inc     byte [run]
        cmp     byte [run], 2
        jbe     .run
        lea     rsi, [msg_done]
        call    com_puts
        DM_LEAVE

; The User VM of run [run]: its memory (zeroed, the image at 0xF0000, the run
; number), then CREATE_VM, SET_IOREQ_BUFFER and VM_SET_MEMORY_REGIONS; r14 = its vmid
uvm_create:
        ; the User VM's memory: zeroed, the image at 0xF0000, the run number
        mov     rdi, r13
        mov     ecx, UVM_SIZE
        call    zero
        lea     rsi, [pm_start + USER_IMAGE_OFF]
        mov     ecx, 0x10000
        lea     rdi, [r13 + 0xF0000]
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
        call    dm_attach                       ; the DM serves its requests from now on
        ; VM_SET_MEMORY_REGIONS: [0, 1 MiB) and the reset alias
        mov     eax, 2
        call    set_regions_begin
        mov     qword [rsi + 8], 0
        mov     [rsi + 16], r13
        mov     qword [rsi + 24], UVM_SIZE
        mov     eax, 0xFFFF0000
        mov     [rsi + 40], rax
        lea     rax, [r13 + 0xF0000]
        mov     [rsi + 48], rax
        mov     qword [rsi + 56], 0x10000
        jmp     set_regions_call

; struct set_regions for the User VM r14 with eax regions, each MR_ADD with
; RWX and WB; rsi = the first struct vm_memory_region, whose gpa (@8),
; service_vm_gpa (@16) and size (@24) the caller fills (32 bytes apart)
set_regions_begin:
        push    rcx
        push    rdi
        push    rax
        lea     rdi, [r12 + S_SET_REGIONS]
        mov     ecx, 24 + 0x100 + 64
        call    zero
        mov     [rdi], r14w
        pop     rax
        mov     [rdi + 8], eax
        lea     rsi, [r12 + S_REGIONS]
        mov     [rdi + 16], rsi
        xor     ecx, ecx
.region:
        mov     dword [rsi + rcx + 0], MR_ADD
        mov     dword [rsi + rcx + 4], PROT_RWX_WB
        add     ecx, 32
        dec     eax
        jnz     .region
        pop     rdi
        pop     rcx
        ret

; VM_SET_MEMORY_REGIONS with the structure set_regions_begin made
set_regions_call:
        lea     rdi, [r12 + S_SET_REGIONS]
        mov     r8d, HC_VM_SET_MEMORY_REGIONS
        lea     rdx, [n_regions]
        jmp     hcall

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
destroy_vm:
        mov     byte [dm_live], 0               ; the request page is no longer this VM's
        mov     rdi, r14
        mov     r8d, HC_DESTROY_VM
        lea     rdx, [n_destroy]
        jmp     hcall

; SET_VCPU_REGS: vCPU 0 in real mode at F000:0100 (the User VM's resume entry)
set_regs:
        mov     eax, 0x100
; ... at F000:ax
set_regs_at:
        lea     rdi, [r12 + S_VCPU_REGS]
        mov     ecx, 296
        call    zero
        and     eax, 0xFFFF
        lea     rsi, [rdi + 8]                      ; struct acrn_regs
        mov     word [rsi + 144], 0x3FF             ; idt.limit
        mov     [rsi + 160], rax                    ; rip
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

; ---- make bench (commands n and b) ----

BENCH_NULL_CALLS        equ 1000
BENCH_CYCLES            equ 3
HC_GET_API_VERSION      equ 0x80000000

; n: "bench hypercall <TSC>": GET_API_VERSION round trips, TSC per call
bench_null:
        push    rbx
        push    r12
        lea     r12, [pm_start + SCRATCH_OFF]
        mov     ebx, BENCH_NULL_CALLS
        call    tsc64
        push    rax
.call:  mov     r8d, HC_GET_API_VERSION
        mov     rdi, r12
        vmcall
        dec     ebx
        jnz     .call
        call    tsc64
        pop     rdx
        sub     rax, rdx
        xor     edx, edx
        mov     ecx, BENCH_NULL_CALLS
        div     rcx
        lea     rsi, [msg_bench_null]
        call    com_puts
        call    com_dec
        call    com_newline
        pop     r12
        pop     rbx
        ret

; b: n, then "bench lifecycle <TSC>": a User VM's create, ioreq buffer, memory
; regions, start (until it runs), pause, reset, start (until it runs), pause,
; destroy, TSC per cycle, quietly; then "bench done"
bench_all:
        call    bench_null
        DM_ENTER
        mov     byte [quiet], 1
        mov     byte [run], 1
        mov     ebx, BENCH_CYCLES
        call    tsc64
        push    rax
.cycle: call    uvm_create
        mov     word [r13 + UVM_FLAG], 0
        call    start_vm
        mov     ax, 0x600D
        call    wait_flag
        call    pause_vm
        call    reset_vm
        mov     word [r13 + UVM_FLAG], 0
        call    start_vm
        mov     ax, 0x600D
        call    wait_flag
        call    pause_vm
        call    destroy_vm
        dec     ebx
        jnz     .cycle
        call    tsc64
        pop     rdx
        sub     rax, rdx
        xor     edx, edx
        mov     ecx, BENCH_CYCLES
        div     rcx
        mov     byte [quiet], 0
        lea     rsi, [msg_bench_cycle]
        call    com_puts
        call    com_dec
        call    com_newline
        call    dm_bench
        lea     rsi, [msg_bench_done]
        call    com_puts
        DM_LEAVE

; ---- an EPT change under a running User VM (command e) ----

UVM_ALT_OFF             equ 0x500000    ; the page the User VM's 0x9000 is remapped to
PROBE_GPA               equ 0x9000
PROBE_MIRROR            equ 0x510

; The User VM at its probe entry (F000:0300) copies the dword at its 0x9000 to
; 0x510. Once it has seen 0x11111111 there, VM_SET_MEMORY_REGIONS maps
; another page of this VM's (holding 0x22222222) at 0x9000 while it runs (on
; another pCPU in the 2-CPU scenario: the EPT flush must reach that pCPU);
; then wait until the User VM sees the new value. Pause, destroy.
ept_remap:
        DM_ENTER
        mov     r15, [zero_page]
        mov     byte [run], 1
        call    uvm_create
        mov     dword [r13 + PROBE_GPA], 0x11111111
        lea     rax, [pm_start + UVM_ALT_OFF]
        mov     dword [rax], 0x22222222
        mov     eax, 0x300
        call    set_regs_at
        call    start_vm
        mov     ecx, WAIT_PAUSES
.first: cmp     dword [r13 + PROBE_MIRROR], 0x11111111
        je      .remap
        pause
        dec     ecx
        jnz     .first
        lea     rsi, [msg_probe_timeout]
        call    com_puts
        jmp     .stop
.remap: mov     eax, 1
        call    set_regions_begin
        mov     qword [rsi + 8], PROBE_GPA
        lea     rax, [pm_start + UVM_ALT_OFF]
        mov     [rsi + 16], rax
        mov     qword [rsi + 24], 0x1000
        call    set_regions_call
        mov     ecx, WAIT_PAUSES
.second:
        cmp     dword [r13 + PROBE_MIRROR], 0x22222222
        je      .seen
        pause
        dec     ecx
        jnz     .second
        lea     rsi, [msg_probe_timeout]
        call    com_puts
        jmp     .stop
.seen:  lea     rsi, [msg_probe_seen]
        call    com_puts
.stop:  call    pause_vm
        call    destroy_vm
        DM_LEAVE

; ---- a fuzzing User VM (command u) ----

; The User VM of run 1 at its fuzz entry (F000:0200): 20,000 VMCALLs with
; random registers, each of which must come back to it as #UD.
user_fuzz:
        DM_ENTER
        mov     r15, [zero_page]
        mov     byte [run], 1
        call    uvm_create
        mov     eax, 0x200
        call    set_regs_at
        mov     word [r13 + UVM_FLAG], 0
        call    start_vm
        mov     ax, 0x600F
        lea     rsi, [msg_fuzzed]
        mov     ecx, WAIT_PAUSES * 50
        call    wait_flag_for
        call    pause_vm
        call    destroy_vm
        DM_LEAVE

; ---- hypercall fuzzing (commands f and F) ----

FUZZ_SCRATCH_OFF        equ 0x200000    ; 1 MiB of random bytes that pointers aim into
FUZZ_SCRATCH_SIZE       equ 0x100000
IDT_OFF                 equ 0x380000    ; 4 KiB: 256 gates, well clear of the scratch area
ZP_E820_TABLE_OFF       equ 0x2D0

fuzz_small:
        mov     ecx, 20000
        jmp     fuzz
fuzz_big:
        mov     ecx, 100000
; rcx = calls
fuzz:
        push    rbx
        push    r12
        push    r13
        push    r14
        push    r15
        mov     r14, rcx
        call    install_idt
        lea     r12, [pm_start + FUZZ_SCRATCH_OFF]
        call    ram_top
        mov     r13, rax                        ; the end of its highest RAM range
        mov     rax, 0x2545F4914F6CDD1D
        mov     [seed], rax
        mov     rdi, r12                        ; fill the scratch area
        mov     ecx, FUZZ_SCRATCH_SIZE / 8
.fill:  call    rand
        stosq
        dec     ecx
        jnz     .fill
        xor     r15d, r15d                      ; calls that returned 0
        xor     ebx, ebx                        ; calls made
.call:  call    rand                            ; the id
        mov     rdx, rax
        and     edx, 3
        shr     rax, 8
        cmp     edx, 0
        jne     .id1
        xor     edx, edx
        mov     ecx, FUZZ_IDS
        div     rcx
        lea     rax, [fuzz_ids]
        mov     r8d, [rax + rdx * 4]
        jmp     .params
.id1:   cmp     edx, 1
        jne     .id2
        movzx   r8d, al
        or      r8d, 0x80000000
        jmp     .params
.id2:   cmp     edx, 2
        jne     .id3
        mov     r8d, eax
        jmp     .params
.id3:   call    rand
        mov     r8, rax
.params:
        call    param
        mov     rdi, rax
        call    param
        mov     rsi, rax
        vmcall
        test    rax, rax
        jnz     .refused
        inc     r15
.refused:
        inc     rbx
        test    ebx, 1023                       ; now and then, new random bytes in the scratch area
        jnz     .next
        call    rand                            ; (rand clobbers rdx)
        and     eax, FUZZ_SCRATCH_SIZE - 8
        mov     rcx, rax
        call    rand
        mov     [r12 + rcx], rax
.next:  cmp     rbx, r14
        jb      .call
        lea     rsi, [msg_fuzz]
        call    com_puts
        mov     rax, rbx
        call    com_dec
        lea     rsi, [msg_fuzz_ok]
        call    com_puts
        mov     rax, r15
        call    com_dec
        lea     rsi, [msg_fuzz_err]
        call    com_puts
        mov     rax, rbx
        sub     rax, r15
        call    com_dec
        lea     rsi, [msg_fuzz_end]
        call    com_puts
        DM_LEAVE

; rax = a random parameter (r12 = scratch, r13 = top of RAM); clobbers rcx, rdx
param:
        call    rand
        mov     rdx, rax
        and     edx, 7
        shr     rax, 8
        lea     rcx, [param_kinds]
        movsxd  rdx, dword [rcx + rdx * 4]
        add     rdx, rcx
        jmp     rdx
.zero:  xor     eax, eax
        ret
.small: and     eax, 15
        ret
.aligned:                                       ; pointers aim at the first half: what the
        and     eax, FUZZ_SCRATCH_SIZE / 2 - 64         ; hypervisor writes there stays in the scratch area
        add     rax, r12
        ret
.unaligned:
        and     eax, FUZZ_SCRATCH_SIZE / 2 - 1
        add     rax, r12
        ret
.random:
        jmp     rand
.ram_end:
        and     eax, 255
        neg     rax
        add     rax, r13                        ; 1..255 bytes before the top of RAM: structures cross it
        ret
.hypervisor:
        and     eax, 0x3FFFFF8
        add     rax, 0x100000                   ; the hypervisor image, Wasm window and pool: not in its EPT
        ret
.mmio:  and     eax, 3
        lea     rcx, [mmio_addrs]
        mov     rax, [rcx + rax * 8]
        ret

; rax = the next xorshift64 value; clobbers rdx
rand:
        mov     rax, [seed]
        mov     rdx, rax
        shl     rdx, 13
        xor     rax, rdx
        mov     rdx, rax
        shr     rdx, 7
        xor     rax, rdx
        mov     rdx, rax
        shl     rdx, 17
        xor     rax, rdx
        mov     [seed], rax
        ret

; rax = the end of the highest RAM range of its e820 table (zero page)
ram_top:
        push    rcx
        push    rdx
        push    rsi
        mov     rsi, [zero_page]
        movzx   ecx, byte [rsi + ZP_E820_ENTRIES]
        lea     rsi, [rsi + ZP_E820_TABLE_OFF]
        xor     eax, eax
.e:     test    ecx, ecx
        jz      .done
        cmp     dword [rsi + 16], E820_RAM
        jne     .n
        mov     rdx, [rsi]
        add     rdx, [rsi + 8]
        cmp     rdx, rax
        jbe     .n
        mov     rax, rdx
.n:     add     rsi, 20
        dec     ecx
        jmp     .e
.done:  pop     rsi
        pop     rdx
        pop     rcx
        ret

; an IDT: the upcall vector goes to the device model (dm.inc dm_upcall), the
; other vectors 32-255 are acknowledged (EOI) and return, NMI (2) returns at
; once (an NMI a fuzzed INJECT_MSI might send), exceptions 0-31 print
; "fuzz: FAIL exception <n>" and stop
install_idt:
        push    rax
        push    rcx
        push    rdx
        push    rdi
        push    rsi
        lea     rdi, [pm_start + IDT_OFF]
        xor     ecx, ecx
.gate:  lea     rax, [absorb]
        cmp     ecx, 2
        je      .set
        lea     rax, [dm_upcall]
        cmp     ecx, UPCALL_VECTOR
        je      .set
        lea     rax, [irq_eoi]
        cmp     ecx, 32
        jae     .set
        lea     rax, [exception_stubs]
        mov     edx, ecx
        imul    edx, edx, EXC_STUB_SIZE
        add     rax, rdx
.set:   mov     [rdi], ax                       ; offset 15:0
        mov     word [rdi + 2], cs              ; the loader's 64-bit code selector
        mov     word [rdi + 4], 0x8E00          ; present, DPL 0, 64-bit interrupt gate
        mov     rsi, rax
        shr     rsi, 16
        mov     [rdi + 6], si                   ; offset 31:16
        shr     rsi, 16
        mov     [rdi + 8], esi                  ; offset 63:32
        mov     dword [rdi + 12], 0
        add     rdi, 16
        inc     ecx
        cmp     ecx, 256
        jb      .gate
        lea     rax, [pm_start + IDT_OFF]
        mov     [idtr + 2], rax
        lidt    [idtr]
        pop     rsi
        pop     rdi
        pop     rdx
        pop     rcx
        pop     rax
        ret
absorb: iretq
irq_eoi:
        push    rax
        mov     eax, LAPIC_EOI_ADDR
        mov     dword [rax], 0
        pop     rax
        iretq

EXC_STUB_SIZE   equ 16
align EXC_STUB_SIZE, db 0xCC
exception_stubs:
%assign v 0
%rep 32
        mov     eax, v                          ; 5 bytes
        jmp     near exception_report           ; 5 bytes, padded to the stride
        align   EXC_STUB_SIZE, db 0xCC
%assign v v + 1
%endrep
exception_report:                               ; eax = vector; the frame: [error code,] RIP, CS, RFLAGS
        lea     rsi, [msg_exception]
        call    com_puts
        call    com_dec
        lea     rsi, [msg_frame]
        call    com_puts
        mov     rax, [rsp]
        call    com_hex
        mov     al, ' '
        call    com_putc
        mov     rax, [rsp + 8]
        call    com_hex
        mov     al, ' '
        call    com_putc
        mov     rax, [rsp + 16]
        call    com_hex
        call    com_newline
.stop:  cli
        hlt
        jmp     .stop

align 4
param_kinds     dd param.zero - param_kinds, param.small - param_kinds, param.aligned - param_kinds
                dd param.unaligned - param_kinds, param.random - param_kinds, param.ram_end - param_kinds
                dd param.hypervisor - param_kinds, param.mmio - param_kinds
fuzz_ids        dd 0x80000000, 0x80000001, 0x80000002, 0x80000010, 0x80000011, 0x80000012, 0x80000013, 0x80000014
                dd 0x80000015, 0x80000016, 0x80000023, 0x80000024, 0x80000025, 0x80000030, 0x80000031, 0x80000041
                dd 0x80000042, 0x80000043, 0x80000053, 0x80000054, 0x80000055, 0x80000056, 0x80000057, 0x80000058
                dd 0x80000059, 0x8000005A, 0x80000063, 0x80000080
FUZZ_IDS        equ ($ - fuzz_ids) / 4
align 8
mmio_addrs      dq 0xFEE00000, 0xFEC00000, 0xFFFFFFF8, 0xE0000000
seed            dq 0
idtr            dw 256 * 16 - 1
                dq 0
msg_fuzz        db "fuzz: ", 0
msg_exception   db "fuzz: FAIL exception ", 0
msg_frame       db ", frame ", 0
msg_fuzz_ok     db " hypercalls, ", 0
msg_fuzz_err    db " returned 0, ", 0
msg_fuzz_end    db " refused", 10, 0

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
msg_fuzzed      db "user VM fuzzing done", 0
msg_probe_seen  db "dm: the running User VM sees the remapped page", 10, 0
msg_probe_timeout db "dm: FAIL timeout waiting for the User VM to see the page", 10, 0
msg_bench_null  db "bench hypercall ", 0
msg_bench_cycle db "bench lifecycle ", 0
msg_bench_done  db "bench done", 10, 0
align 8
zero_page       dq 0
run             db 0
quiet           db 0                            ; 1: hcall and wait_flag print only failures (bench)

%include "dm.inc"

%define HAVE_LIFECYCLE
%include "scenario-guest.inc"

msg_hello       db "service guest: bzImage at ", 0
msg_zp          db ", zero page ", 0
msg_e820        db ", e820 entries ", 0
msg_ram         db ", RAM ", 0
msg_mib         db " MiB", 0
msg_cmdline     db "command line: ", 0
msg_vioapic     db "service guest: vIOAPIC at 0xfec00000: id ", 0
msg_vioapic_ver db ", version ", 0
align 16
pm_end:
