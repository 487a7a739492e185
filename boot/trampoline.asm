; trampoline.asm - application processor start-up, and the host interrupt
; handlers the hypervisor takes while idle.
;
; 1. ap_trampoline .. ap_trampoline_end is position independent real-mode code
;    that arch/x86/native/ap_start.c copies to a page P below 1 MiB; the
;    START-UP IPI's vector is P >> 12, so each AP starts in real mode at
;    CS:IP = (P >> 4):0 (SDM Vol. 3A 8.4.4.1 "Typical BSP Initialization
;    Sequence", 9.1.4 / 8.4.4.2 "Typical AP Initialization Sequence"). It
;    loads the hypervisor's GDT, enters protected mode, turns on PAE, the
;    boot page tables and EFER.LME, then paging (long mode: SDM 9.8.5
;    "Initializing IA-32e Mode"), and jumps to ap_entry64 in the image with
;    RBX = P. The parameter block at P + 8 is filled by ap_start.c before
;    each AP's INIT-SIPI-SIPI (one AP at a time):
;
;      +0x08  u16 GDT limit, u32 GDT base (LGDT operand; base below 4 GiB)
;      +0x10  u32 offset, u16 selector: far pointer to the 32-bit code (P + pm32)
;      +0x18  u32 offset, u16 selector: far pointer to the 64-bit code (P + lm64)
;      +0x20  u32 CR3 (boot_pml4, below 4 GiB)
;      +0x24  u32 CPU index
;      +0x28  u64 stack top
;      +0x30  u64 64-bit entry (ap_entry64)
;
; 2. ap_entry64 (in the image): flat 64-bit segments, the CPU's stack, then
;    ap_main(cpu) (ap_start.c), which never returns.
;
; 3. irq_eoi_stub: interrupt gate for the host LAPIC timer (0xEF) and the
;    kick IPI (0xF0): EOI and return. irq_spurious_stub (0xFF): return
;    without EOI (SDM 10.9 "Spurious Interrupt"). irq_flush_stub (0xF1):
;    calls smp_flush_ipi() (INVEPT on request), EOI, return.

bits 16
default abs

%define GDT_CODE64      0x08
%define GDT_DATA64      0x10
%define GDT_CODE32      0x18
%define GDT_DATA32      0x20
%define P_GDTR          0x08
%define P_PM32          0x10
%define P_LM64          0x18
%define P_CR3           0x20
%define P_CPU           0x24
%define P_STACK         0x28
%define P_ENTRY         0x30
%define CR0_PE          (1 << 0)
%define CR0_MP          (1 << 1)
%define CR0_EM          (1 << 2)
%define CR0_TS          (1 << 3)
%define CR0_NE          (1 << 5)
%define CR0_WP          (1 << 16)
%define CR0_NW          (1 << 29)
%define CR0_CD          (1 << 30)
%define CR0_PG          (1 << 31)
%define CR4_PAE         (1 << 5)
%define MSR_IA32_EFER   0xC0000080
%define EFER_LME        (1 << 8)
%define LAPIC_EOI       0xFEE000B0

section .text
global ap_trampoline, ap_trampoline_end, ap_trampoline_pm32, ap_trampoline_lm64
global ap_entry64:function
global irq_eoi_stub:function, irq_spurious_stub:function, irq_flush_stub:function
extern ap_main                      ; void ap_main(uint32_t cpu), noreturn
extern smp_flush_ipi                ; void smp_flush_ipi(void)

align 4096
ap_trampoline:
    jmp short .real
    align 8, db 0
    times 0x38 - ($ - ap_trampoline) db 0     ; the parameter block (+0x08..+0x37)
.real:
    cli
    cld
    mov ax, cs
    mov ds, ax
    xor ebx, ebx
    mov bx, ax
    shl ebx, 4                          ; EBX = P (linear)
    o32 lgdt [P_GDTR]                   ; 32-bit operand: the full 32-bit base
    mov eax, cr0
    or eax, CR0_PE
    mov cr0, eax
    jmp dword far [P_PM32]              ; o32 far jump through m16:32

bits 32
ap_trampoline_pm32:
    mov ax, GDT_DATA32
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov eax, cr4
    or eax, CR4_PAE
    mov cr4, eax
    mov eax, [ebx + P_CR3]
    mov cr3, eax
    mov ecx, MSR_IA32_EFER
    rdmsr
    or eax, EFER_LME
    wrmsr
    mov eax, cr0
    and eax, ~(CR0_EM | CR0_TS | CR0_CD | CR0_NW)
    or eax, CR0_PG | CR0_WP | CR0_NE | CR0_MP | CR0_PE
    mov cr0, eax
    jmp far [ebx + P_LM64]

bits 64
ap_trampoline_lm64:
    mov rax, [rbx + P_ENTRY]
    jmp rax
ap_trampoline_end:

; RBX = P. Flat 64-bit data segments, the CPU's stack, ap_main(cpu).
ap_entry64:
    mov ax, GDT_DATA64
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov fs, ax
    mov gs, ax
    mov rsp, [rbx + P_STACK]
    mov edi, [rbx + P_CPU]
    xor ebp, ebp
    call ap_main
.halt:
    cli
    hlt
    jmp .halt

; ---- host interrupts (interrupt gates: IF is clear inside) ------------------
irq_eoi_stub:
    push rax
    mov rax, LAPIC_EOI
    mov dword [rax], 0
    pop rax
    iretq

irq_spurious_stub:
    iretq

; Caller-saved GPRs around a C call; the frame is 16-byte aligned at the call.
irq_flush_stub:
    push rax
    push rcx
    push rdx
    push rsi
    push rdi
    push r8
    push r9
    push r10
    push r11
    push rbp
    mov rbp, rsp
    and rsp, -16
    cld
    call smp_flush_ipi
    mov rsp, rbp
    mov rax, LAPIC_EOI
    mov dword [rax], 0
    pop rbp
    pop r11
    pop r10
    pop r9
    pop r8
    pop rdi
    pop rsi
    pop rdx
    pop rcx
    pop rax
    iretq

section .note.GNU-stack noalloc noexec nowrite progbits
