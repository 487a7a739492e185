; eptfault.asm - long64 guest that executes from a GPA with no EPT mapping.
;
; Prints "ept-violation now", then jumps to GPA 0x80000000: outside the VM's
; 4 MiB of RAM, so the EPT walk finds no mapping and the instruction fetch
; causes an EPT violation VM exit (exit reason 48; SDM Vol 3C "EPT-Induced
; VM Exits"; qualification bit 2 = instruction fetch, bits 7/8 = linear
; address valid and access to the final translation). A data read there
; would not do: unclaimed guest-physical addresses are "unmapped MMIO"
; (reads return all ones, writes are dropped, the VM goes on; see
; mmio.asm), but there is nothing to fetch, so the hypervisor must stop
; this VM with a report ("instruction fetch from unmapped guest-physical
; memory"). If execution ever continues, the guest prints
; "FAIL still running" and halts.
;
; The hypervisor's identity map covers only [0, 1 GiB) (2 MiB pages, PML4 at
; CR3), so the guest first maps [2 GiB, 2 GiB + 2 MiB) itself: PDPT entry 2
; -> a page directory in this image whose entry 0 is a 2 MiB page at
; 0x80000000 (SDM Vol 3A "4-Level Paging and 5-Level Paging"). Without that
; the fetch would be a guest #PF, not an EPT violation. Exceptions print
; "FAIL unexpected vector <n> rip=<hex>" (GDT/IDT loaded for that).
;
; Build: nasm -f bin -o eptfault.bin eptfault.asm

bits 64
org 0x100000

DEBUG_PORT      equ 0xE9
TARGET_GPA      equ 0x80000000
KERNEL_CS       equ 0x08
KERNEL_DS       equ 0x10

start:
        cli
        cld
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
        call    idt_init
        lidt    [rel idt_desc]

        ; map TARGET_GPA: PML4[0] -> PDPT; PDPT[2] -> pd_high; pd_high[0] = 2 MiB page
        mov     rax, cr3
        and     rax, ~0xFFF
        mov     rax, [rax]              ; PML4[0]
        mov     rbx, 0x000FFFFFFFFFF000
        and     rax, rbx                ; PDPT
        lea     rcx, [rel pd_high]
        or      rcx, 0x3                ; P | RW
        mov     [rax + 2 * 8], rcx
        mov     ecx, TARGET_GPA | 0x83  ; P | RW | PS (zero-extended)
        mov     [rel pd_high], rcx
        mov     rax, cr3                ; flush the TLB
        mov     cr3, rax

        lea     rsi, [rel s_now]
        call    puts
        mov     rbx, TARGET_GPA         ; (an imm32 of 0x80000000 would sign-extend)
        call    rbx                     ; -> EPT violation (instruction fetch)
        lea     rsi, [rel s_still]
        call    puts
halt:   cli
        hlt
        jmp     halt

puts:
        push    rax
.l:     lodsb
        test    al, al
        jz      .e
        out     DEBUG_PORT, al
        jmp     .l
.e:     pop     rax
        ret

; rax = value, as "0x" + hex digits; clobbers rax, rcx, rdx
put_hex:
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
        ret

; 64-bit interrupt gates for the 32 exception vectors (SDM Vol 3A 6.14.1)
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
        cmp     ebx, 10                 ; vectors < 32: at most two digits
        jb      .one
        mov     eax, ebx
        xor     edx, edx
        mov     ecx, 10
        div     ecx
        add     al, '0'
        out     DEBUG_PORT, al
        mov     ebx, edx
.one:   mov     eax, ebx
        add     al, '0'
        out     DEBUG_PORT, al
        lea     rsi, [rel s_rip]
        call    puts
        mov     rax, r12
        call    put_hex
        mov     al, 10
        out     DEBUG_PORT, al
        jmp     halt

s_now:          db "ept-violation now", 10, 0
s_still:        db "FAIL still running", 10, 0
s_unexpected:   db "FAIL unexpected vector ", 0
s_rip:          db " rip=", 0

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

align 4096
pd_high: times 512 dq 0
