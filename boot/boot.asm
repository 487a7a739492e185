; boot.asm - Multiboot2 entry: 32-bit protected mode -> 64-bit long mode.
;
; GRUB enters _start in 32-bit protected mode with paging off, interrupts off,
; EAX = 0x36d76289 and EBX = physical address of the boot information (MBI)
; (Multiboot2 specification 3.3 "I386 machine state").  This file:
;
;   1. checks the magic, CPUID and long-mode support, and finds the top of
;      memory in the MBI memory map, printing a FATAL line on COM1 and halting
;      if anything is missing;
;   2. builds identity page tables over [0, max(4 GiB, top of memory)) rounded
;      up to 1 GiB, where top of memory is the highest end of any memory-map
;      entry that is not "reserved"; capped at 64 GiB with 2 MiB pages or
;      512 GiB with 1 GiB pages.  4 KiB pages cover the 2 MiB regions holding
;      the kernel image (so guard pages can be unmapped), 2 MiB pages the rest
;      below 4 GiB, and 1 GiB pages (if the CPU has them, else 2 MiB pages)
;      the rest above;
;   3. enters long mode, loads the GDT (code/data + one 64-bit TSS per CPU),
;      the IDT (vectors 0-255 -> exception_panic) and CPU 0's TSS;
;   4. enables x87/SSE (and XSAVE with XCR0 = x87|SSE when present);
;   5. calls kmain(magic, mbi_phys) on CPU 0's stack; halts if it returns.
;
; It also provides setjmp/longjmp for wasm2c's exception unwinding.
;
; Calls (C):
;   void kmain(uint32_t magic, uint64_t mbi_phys);      on CPU 0's stack
;   void exception_panic(uint64_t vector, uint64_t error_code, uint64_t rip,
;                        uint64_t cr2, uint64_t rsp);   arch/x86/native/exceptions.c
;
; Exports (C declarations):
;   extern uint64_t boot_pml4[512];     the live PML4; its address is CR3
;   extern uint64_t boot_mem_top;       top of memory from the memory map
;   extern uint64_t boot_mapped_top;    end of the identity map
;   extern const uint32_t boot_max_cpus;            MAX_CPUS (8)
;   extern uint64_t percpu_stack_top[];             [boot_max_cpus]
;   extern uint8_t percpu_stacks[];     per-CPU stacks and guards (layout below)
;   extern uint8_t boot_gdt[], boot_idt[], boot_tss[];
;   extern const uint8_t boot_gdtr[10], boot_idtr[10];  LGDT/LIDT operands
;   void boot_load_cpu_tables(uint32_t cpu);   LGDT, LIDT, segments, LTR
;   int setjmp(jmp_buf env); void longjmp(jmp_buf env, int val);
; and from linker.ld: __image_start, __image_end, __image_pt_start,
; __image_pt_end.
;
; References: "SDM" is the Intel 64 and IA-32 Architectures Software
; Developer's Manual, Vol. 3A unless stated (chapter 4 "Paging", 6 "Interrupt
; and Exception Handling", 7 "Task Management", 9 "Processor Management and
; Initialization", 13 "System Programming for Instruction Set Extensions and
; Processor Extended States").  Section numbers shift between editions, so
; each comes with its title.  "MB2" is the Multiboot2 specification 2.0.

; ============================================================================
; Constants
; ============================================================================

; ---- Multiboot2 (MB2 3.1 "OS image format", 3.6 "Boot information format")
%define MB2_HEADER_MAGIC        0xE85250D6  ; MB2 3.1.1 "magic"
%define MB2_ARCH_I386           0           ; MB2 3.1.1 "architecture": i386 PM
%define MB2_BOOTLOADER_MAGIC    0x36D76289  ; MB2 3.3: EAX at entry
%define MB2_HTAG_END            0           ; header tag list terminator
%define MB2_HTAG_END_SIZE       8
%define MB2_MBI_TOTAL_SIZE      0           ; MBI +0: u32 total_size
%define MB2_MBI_HEADER_SIZE     8           ; total_size + reserved
%define MB2_TAG_TYPE            0           ; tag +0: u32 type
%define MB2_TAG_SIZE            4           ; tag +4: u32 size (no padding)
%define MB2_TAG_HEADER_SIZE     8
%define MB2_TAG_ALIGN           8           ; tags start 8-byte aligned
%define MB2_TAG_END             0
%define MB2_TAG_MMAP            6           ; MB2 3.6.8 "Memory map"
%define MB2_MMAP_ENTRY_SIZE     8           ; mmap tag +8: u32 entry_size
%define MB2_MMAP_ENTRIES        16          ; first entry after entry_version
%define MB2_MMAP_BASE           0           ; entry +0: u64 base_addr
%define MB2_MMAP_LENGTH         8           ; entry +8: u64 length
%define MB2_MMAP_TYPE           16          ; entry +16: u32 type
%define MB2_MMAP_RESERVED       2           ; type: reserved (not RAM)
%define MB2_MMAP_MIN_ENTRY      24          ; base + length + type + reserved
%define MB2_MMAP_ENTRY_ALIGN    8

; ---- COM1, a 16550 UART (registers as offsets from the base port)
%define COM1_BASE               0x3F8
%define UART_THR                0           ; transmit holding (DLAB = 0)
%define UART_DLL                0           ; divisor latch low (DLAB = 1)
%define UART_IER                1           ; interrupt enable (DLAB = 0)
%define UART_DLM                1           ; divisor latch high (DLAB = 1)
%define UART_FCR                2           ; FIFO control
%define UART_LCR                3           ; line control
%define UART_MCR                4           ; modem control
%define UART_LSR                5           ; line status
%define UART_LCR_DLAB           0x80        ; divisor latch access
%define UART_LCR_8N1            0x03        ; 8 data bits, no parity, 1 stop
%define UART_DIVISOR_115200     1           ; 1.8432 MHz / 16 / 115200
%define UART_FCR_ENABLE_CLEAR   0x07        ; FIFO on, clear RX and TX FIFOs
%define UART_MCR_DTR_RTS        0x03
%define UART_LSR_THRE           0x20        ; transmit holding register empty
%define UART_LSR_TEMT           0x40        ; transmitter fully empty
%define UART_SPIN_LIMIT         100000      ; LSR polls before giving up

; ---- CPUID (SDM Vol. 2A, CPUID)
%define EFLAGS_ID               (1 << 21)   ; writable iff CPUID exists
%define CPUID_FEATURES          0x00000001
%define CPUID_1_ECX_XSAVE       (1 << 26)
%define CPUID_EXT_MAX           0x80000000  ; EAX = highest extended leaf
%define CPUID_EXT_FEATURES      0x80000001
%define CPUID_EXT_EDX_PAGE1GB   (1 << 26)   ; 1 GiB pages
%define CPUID_EXT_EDX_LM        (1 << 29)   ; Intel 64 / long mode

; ---- Control registers, EFER, XCR0, MXCSR (SDM 2.5 "Control Registers",
;      2.2.1 "Extended Feature Enable Register", 2.6 "Extended Control
;      Registers (Including XCR0)", Vol. 1 10.2.3 "MXCSR Control and Status
;      Register")
%define CR0_PE                  (1 << 0)    ; protected mode
%define CR0_MP                  (1 << 1)    ; monitor coprocessor
%define CR0_EM                  (1 << 2)    ; x87 emulation (must be 0 for SSE)
%define CR0_TS                  (1 << 3)    ; task switched (lazy FPU)
%define CR0_NE                  (1 << 5)    ; native x87 error reporting (#MF)
%define CR0_WP                  (1 << 16)   ; write protect applies to ring 0
%define CR0_NW                  (1 << 29)   ; not write-through
%define CR0_CD                  (1 << 30)   ; cache disable
%define CR0_PG                  (1 << 31)   ; paging
%define CR4_PAE                 (1 << 5)
%define CR4_OSFXSR              (1 << 9)    ; FXSAVE/FXRSTOR + SSE enabled
%define CR4_OSXMMEXCPT          (1 << 10)   ; unmasked SIMD FP -> #XM
%define CR4_OSXSAVE             (1 << 18)   ; XSAVE/XSETBV enabled
%define MSR_IA32_EFER           0xC0000080
%define EFER_LME                (1 << 8)    ; IA-32e mode enable
%define XCR0_X87                (1 << 0)
%define XCR0_SSE                (1 << 1)
%define MXCSR_DEFAULT           0x1F80      ; all exceptions masked, RN

; ---- Paging (SDM 4.5 "4-Level Paging and 5-Level Paging")
;
;   PML4E / PDPTE / PDE pointing to a table, and a 4 KiB PTE:
;     63 62:52  51:M M-1:12                 11:9 8 7  6 5 4   3   2   1  0
;    +--+-----+----+-------------------------+---+-+--+-+-+---+---+---+--+-+
;    |XD| ign | 0  | address of table / page |ign|G|PS|D|A|PCD|PWT|U/S|RW|P|
;    +--+-----+----+-------------------------+---+-+--+-+-+---+---+---+--+-+
;   PS (bit 7) = 1 in a PDPTE maps a 1 GiB page, in a PDE a 2 MiB page; the
;   address field then holds bits 51:30 or 51:21 (bit 12 is PAT, kept 0).
;   Everything is P|RW, supervisor, WB via PAT entry 0 (PWT = PCD = PAT = 0).
%define PAGE_SIZE               0x1000
%define PAGE_SHIFT              12
%define LARGE_PAGE_SIZE         0x200000            ; 2 MiB
%define LARGE_PAGE_SHIFT        21
%define HUGE_PAGE_SHIFT         30                  ; 1 GiB
%define HUGE_PAGE_MASK          0x3FFFFFFF
%define PT_ENTRIES              512
%define PTE_SIZE                8
%define PTE_SHIFT               3
%define PT_ENTRIES_SHIFT        9
%define PTE_P                   (1 << 0)
%define PTE_RW                  (1 << 1)
%define PTE_PS                  (1 << 7)
%define PTE_TABLE               (PTE_P | PTE_RW)            ; -> next level
%define PTE_PAGE_4K             (PTE_P | PTE_RW)
%define PTE_PAGE_LARGE          (PTE_P | PTE_RW | PTE_PS)   ; 2 MiB or 1 GiB

; Identity map size, in GiB.  The low 4 GiB always use PDs (2 MiB pages), so
; a large page never spans the legacy/MMIO ranges that MTRRs type differently
; below 4 GiB (SDM 11.11.9 "Large Page Size Considerations").  Above 4 GiB:
; 1 GiB pages (one PDPT, 512 GiB) or 2 MiB pages (one PD per GiB in .bss).
%define MAP_MIN_GIB             4
%define MAP_LOW_PDS             4                   ; PDs for [0, 4 GiB)
%define MAP_MAX_GIB_2M          64                  ; 64 PDs = 256 KiB of .bss
%define MAP_MAX_GIB_1G          512                 ; one full PDPT
%define MEM_TOP_GIB_SATURATE    0x100               ; top >= 2^40: saturate

; ---- Descriptors (SDM 3.4.5 "Segment Descriptors", 5.2.1 "Code-Segment
;      Descriptor in 64-bit Mode")
;
;   Code/data segment descriptor (8 bytes):
;    63     56 55 54  53 52  51   48 47 46 45 44 43  40 39      16 15      0
;   +---------+--+---+--+---+-------+--+-----+--+------+----------+---------+
;   |base31:24|G |D/B|L |AVL|lim19:16|P | DPL |S | type | base23:0 |lim15:0  |
;   +---------+--+---+--+---+-------+--+-----+--+------+----------+---------+
;   Bits 47:40 are the "access byte" (P DPL S type), bits 55:52 the "flags".
%define DESC_ACC_A              0x01        ; accessed (preset: no CPU write)
%define DESC_ACC_RW             0x02        ; readable code / writable data
%define DESC_ACC_CODE           0x08        ; executable
%define DESC_ACC_S              0x10        ; code or data (not system)
%define DESC_ACC_P              0x80        ; present
%define DESC_FLAG_L             0x2         ; 64-bit code
%define DESC_FLAG_DB            0x4         ; 32-bit default operand size
%define DESC_FLAG_G             0x8         ; limit in 4 KiB units
%define ACC_CODE (DESC_ACC_P | DESC_ACC_S | DESC_ACC_CODE | DESC_ACC_RW | DESC_ACC_A)
%define ACC_DATA (DESC_ACC_P | DESC_ACC_S | DESC_ACC_RW | DESC_ACC_A)
; Flat descriptor: base 0, limit 0xFFFFF (4 GiB with G = 1).
%define FLAT_DESC(acc, flags) (0x000F00000000FFFF | ((acc) << 40) | ((flags) << 52))

;   64-bit TSS descriptor (16 bytes; SDM 7.2.3 "TSS Descriptor in 64-bit mode"):
;    127          96 95                                                   64
;   +--------------+------------------------------------------------------+
;   |   reserved   |                     base 63:32                       |
;   +--------------+------------------------------------------------------+
;    63     56 55 54 53 52 51    48 47 46 45 44 43  40 39      16 15      0
;   +---------+--+--+--+---+-------+--+-----+--+------+----------+---------+
;   |base31:24|G |0 |0 |AVL|lim19:16|P | DPL |0 | 1001 | base23:0 |lim15:0  |
;   +---------+--+--+--+---+-------+--+-----+--+------+----------+---------+
%define TSS_DESC_ACC            0x89        ; P, DPL 0, type 9 = available TSS
%define TSS_DESC_ACC_SHIFT      40
%define DESC_BASE_LOW_MASK      0xFFFFFF    ; base 23:0 -> bits 39:16
%define DESC_BASE_LOW_SHIFT     16
%define DESC_BASE_HIGH_SHIFT    24          ; base 31:24 -> bits 63:56
%define DESC_BASE_HIGH_MASK     0xFF
%define DESC_BASE_HIGH_POS      56
%define TSS_DESC_SIZE           16
%define TSS_DESC_SHIFT          4

; GDT layout.  Selectors are byte offsets (TI = 0, RPL = 0).
%define GDT_CODE64              0x08
%define GDT_DATA64              0x10
%define GDT_CODE32              0x18        ; used between _start and long mode
%define GDT_DATA32              0x20
%define GDT_TSS0                0x28        ; CPU n: GDT_TSS0 + n * 16
%define GDT_SIZE                (GDT_TSS0 + MAX_CPUS * TSS_DESC_SIZE)

;   64-bit TSS (SDM 7.7 "Task Management in 64-bit Mode", figure "64-Bit TSS
;   Format"); 104 bytes, only the stack pointers matter in 64-bit mode:
;     +0x00 reserved   +0x04 RSP0   +0x0C RSP1   +0x14 RSP2   +0x1C reserved
;     +0x24 IST1 ... +0x54 IST7     +0x5C reserved
;     +0x64 reserved (u16)          +0x66 I/O map base (u16)
%define TSS_RSP0                0x04
%define TSS_IST1                0x24
%define TSS_IST2                0x2C
%define TSS_IOMAP_BASE          0x66
%define TSS_SIZE                0x68        ; limit = TSS_SIZE - 1
%define TSS_STRIDE              128         ; keeps each TSS in one cache line pair
; IST (SDM 6.14.5 "Interrupt Stack Table"): a gate with a non-zero IST
; index always switches to that stack, so #DF still has a good stack after
; a kernel stack overflow, and an NMI one after any fault.
%define IST_DOUBLE_FAULT        1           ; #DF runs on IST1
%define IST_NMI                 2           ; NMI runs on IST2

;   64-bit IDT gate (16 bytes; SDM 6.14.1 "64-Bit Mode IDT"):
;    127          96 95                                                   64
;   +--------------+------------------------------------------------------+
;   |   reserved   |                    offset 63:32                      |
;   +--------------+------------------------------------------------------+
;    63          48 47 46 45 44 43  40 39  35 34 32 31        16 15        0
;   +--------------+--+-----+--+------+------+-----+------------+----------+
;   | offset 31:16 |P | DPL |0 | type | 0    | IST |  selector  |offset15:0|
;   +--------------+--+-----+--+------+------+-----+------------+----------+
%define IDT_VECTORS             256
%define IDT_GATE_SIZE           16
%define IDT_GATE_INTR           0x8E        ; P, DPL 0, type 0xE = interrupt gate
%define IDT_GATE_ATTR_SHIFT     40
%define IDT_GATE_IST_SHIFT      32
%define IDT_GATE_SEL_SHIFT      16
%define IDT_GATE_OFF_LOW_MASK   0xFFFF      ; offset 15:0 -> bits 15:0
%define IDT_GATE_OFF_MID_SHIFT  16          ; offset 31:16 ...
%define IDT_GATE_OFF_MID_POS    48          ; ... -> bits 63:48
%define ISR_STUB_SIZE           16          ; every stub padded to this size
%define EXC_VECTOR_DF           8
%define EXC_VECTOR_NMI          2

; ---- Per-CPU stacks.  Each stack sits directly above an unmapped guard
;      page, so an overflow faults instead of corrupting its neighbour:
;
;   percpu_stacks + n * PERCPU_STRIDE:
;     +0x00000  guard page
;     +0x01000  IST1 stack (16 KiB, #DF)         top = +0x05000
;     +0x05000  guard page
;     +0x06000  IST2 stack (16 KiB, NMI)         top = +0x0A000
;     +0x0A000  guard page
;     +0x0B000  hypervisor stack (64 KiB)        top = +0x1B000
;   percpu_stacks + MAX_CPUS * PERCPU_STRIDE: one more guard page, so the
;   last CPU's stack is bounded above too.
%define MAX_CPUS                8
%define GUARD_SIZE              PAGE_SIZE
%define STACK_SIZE              0x10000
%define IST_STACK_SIZE          0x4000
%define PERCPU_IST1_GUARD       0
%define PERCPU_IST1_TOP         (PERCPU_IST1_GUARD + GUARD_SIZE + IST_STACK_SIZE)
%define PERCPU_IST2_GUARD       PERCPU_IST1_TOP
%define PERCPU_IST2_TOP         (PERCPU_IST2_GUARD + GUARD_SIZE + IST_STACK_SIZE)
%define PERCPU_STACK_GUARD      PERCPU_IST2_TOP
%define PERCPU_STACK_TOP        (PERCPU_STACK_GUARD + GUARD_SIZE + STACK_SIZE)
%define PERCPU_STRIDE           PERCPU_STACK_TOP
%define PERCPU_AREA_SIZE        (MAX_CPUS * PERCPU_STRIDE + GUARD_SIZE)

; Interrupted-context frame built by the exception stubs (SDM 6.14.2 "64-Bit
; Mode Stack Frame"): 15 saved GPRs (r15 at +0 ... rax at +0x70), then the
; vector, the error code (real or dummy), and the CPU's RIP CS RFLAGS RSP SS.
%define FRAME_GPRS              15
%define FRAME_VECTOR            (FRAME_GPRS * 8)
%define FRAME_ERROR_CODE        (FRAME_VECTOR + 8)
%define FRAME_RIP               (FRAME_VECTOR + 16)
%define FRAME_RSP               (FRAME_VECTOR + 40)
%define STACK_ALIGN             16          ; SysV: RSP % 16 == 0 at a call

; jmp_buf layout for setjmp/longjmp (SysV callee-saved state).
%define JB_RBX                  0
%define JB_RBP                  8
%define JB_R12                  16
%define JB_R13                  24
%define JB_R14                  32
%define JB_R15                  40
%define JB_RSP                  48
%define JB_RIP                  56

; Exported symbols (types and sizes help debuggers and nm).
global _start
global boot_pml4:data, boot_mapped_top:data, boot_mem_top:data
global boot_max_cpus:data, percpu_stack_top:data, percpu_stacks:data
global boot_gdt:data, boot_gdtr:data, boot_idt:data, boot_idtr:data, boot_tss:data
global boot_load_cpu_tables:function
global setjmp:function (setjmp.end - setjmp)
global longjmp:function (longjmp.end - longjmp)
extern kmain                        ; void kmain(uint32_t magic, uint64_t mbi_phys)
extern exception_panic              ; exceptions.c
extern __image_start, __image_pt_start, __image_pt_end     ; linker.ld

; ============================================================================
; Multiboot2 header (MB2 3.1.1 "The layout of Multiboot2 header"): must lie
; 8-byte aligned in the first 32 KiB of the file; linker.ld places it first.
; No request tags: GRUB always supplies the memory map.
; ============================================================================
section .multiboot2 progbits alloc noexec nowrite align=8
mb2_header:
    dd MB2_HEADER_MAGIC
    dd MB2_ARCH_I386
    dd mb2_header_end - mb2_header
    dd -(MB2_HEADER_MAGIC + MB2_ARCH_I386 + (mb2_header_end - mb2_header))
    align 8
    dw MB2_HTAG_END, 0                  ; type, flags
    dd MB2_HTAG_END_SIZE
mb2_header_end:

; ============================================================================
; Read-only data
; ============================================================================
section .rodata
align 4
boot_max_cpus:      dd MAX_CPUS         ; const uint32_t boot_max_cpus
mxcsr_default:      dd MXCSR_DEFAULT
msg_not_mb2:        db "FATAL: not booted by a multiboot2 loader", 10, 0
msg_no_long_mode:   db "FATAL: CPU has no long mode", 10, 0
msg_no_mmap:        db "FATAL: no multiboot2 memory map", 10, 0
msg_bad_mmap:       db "FATAL: malformed multiboot2 memory map", 10, 0

; ============================================================================
; Writable data
; ============================================================================
section .data
align 16
; GDT (SDM 3.5.1 "Segment Descriptor Tables").  Writable: the TSS descriptors
; are filled in at boot and LTR sets their busy bit.
boot_gdt:
    dq 0                                            ; 0x00 null
    dq FLAT_DESC(ACC_CODE, DESC_FLAG_G | DESC_FLAG_L)   ; 0x08 64-bit code
    dq FLAT_DESC(ACC_DATA, DESC_FLAG_G | DESC_FLAG_DB)  ; 0x10 data
    dq FLAT_DESC(ACC_CODE, DESC_FLAG_G | DESC_FLAG_DB)  ; 0x18 32-bit code
    dq FLAT_DESC(ACC_DATA, DESC_FLAG_G | DESC_FLAG_DB)  ; 0x20 32-bit data
    times MAX_CPUS * TSS_DESC_SIZE db 0             ; 0x28 TSS descriptors
boot_gdt_end:
%if boot_gdt_end - boot_gdt != GDT_SIZE
%error "GDT layout does not match GDT_SIZE"
%endif

; Pseudo-descriptors for LGDT/LIDT (SDM 3.5.1 "Segment Descriptor Tables"):
; u16 limit, u64 base, the limit placed at an address = 6 mod 8 so that the
; base is 8-byte aligned.  In 32-bit mode LGDT reads only the low 32 bits of
; the base, which is all there is below 4 GiB.
align 8
    dw 0, 0, 0
boot_gdtr:
    dw GDT_SIZE - 1
    dq boot_gdt
    dw 0, 0, 0
boot_idtr:
    dw IDT_VECTORS * IDT_GATE_SIZE - 1
    dq boot_idt

align 8
; uint64_t percpu_stack_top[MAX_CPUS]: each CPU's hypervisor stack top.
percpu_stack_top:
%assign cpu 0
%rep MAX_CPUS
    dq percpu_stacks + cpu * PERCPU_STRIDE + PERCPU_STACK_TOP
%assign cpu cpu + 1
%endrep

; uint64_t boot_mem_top: highest end address of any non-empty, non-reserved
; memory-map entry (unclamped).  uint64_t boot_mapped_top: end of the identity map; RAM at or
; above it is not mapped when boot_mem_top > boot_mapped_top.
boot_mem_top:       dq 0
boot_mapped_top:    dq 0

boot_magic:         dd 0                ; EAX at entry
boot_mbi:           dd 0                ; EBX at entry
map_gib:            dd 0                ; identity map size in GiB
use_1g_pages:       dd 0                ; CPUID Page1GB

; ============================================================================
; Zero-initialised data: page tables, IDT, TSSes, stacks
; ============================================================================
section .bss
alignb PAGE_SIZE
boot_pml4:      resb PAGE_SIZE                      ; uint64_t boot_pml4[512]
boot_pdpt:      resb PAGE_SIZE                      ; PML4[0]: [0, 512 GiB)
boot_pds:       resb PAGE_SIZE * MAP_MAX_GIB_2M     ; PD g maps GiB g
boot_tables_end:
boot_idt:       resb IDT_VECTORS * IDT_GATE_SIZE    ; exactly one page
alignb TSS_STRIDE
boot_tss:       resb MAX_CPUS * TSS_STRIDE          ; CPU n at + n * 128
alignb PAGE_SIZE
percpu_stacks:  resb PERCPU_AREA_SIZE

; ============================================================================
; 32-bit entry
; ============================================================================
section .text
bits 32

_start:
    cli
    cld
    mov [boot_magic], eax
    mov [boot_mbi], ebx

    ; MB2 3.3: GDTR may be invalid, so load our GDT before touching any
    ; segment register, then reload CS with a far jump.
    lgdt [boot_gdtr]
    jmp GDT_CODE32:.flat
.flat:
    mov ax, GDT_DATA32
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    mov ss, ax
    mov esp, percpu_stacks + PERCPU_STACK_TOP   ; CPU 0's stack

    mov esi, msg_not_mb2
    cmp dword [boot_magic], MB2_BOOTLOADER_MAGIC
    jne fatal32

    call check_cpu32
    call find_mem_top32
    call compute_map_size32
    call build_page_tables32

    ; SDM 9.8.5 "Initializing IA-32e Mode": PAE on, CR3 = PML4, EFER.LME on,
    ; then CR0.PG on (this code is identity mapped), then a far jump into a
    ; 64-bit code segment.
    mov eax, cr4
    or eax, CR4_PAE
    mov cr4, eax
    mov eax, boot_pml4
    mov cr3, eax
    mov ecx, MSR_IA32_EFER
    rdmsr
    or eax, EFER_LME
    wrmsr
    ; SDM 13.1 "Initialization of the SSE Extensions" needs EM = 0, MP = 1;
    ; NE = 1 reports x87 errors as #MF.  Caches on (CD = NW = 0), TS clear.
    mov eax, cr0
    and eax, ~(CR0_EM | CR0_TS | CR0_CD | CR0_NW)
    or eax, CR0_PG | CR0_WP | CR0_NE | CR0_MP | CR0_PE
    mov cr0, eax
    jmp GDT_CODE64:long_mode_entry

; check_cpu32: CPUID must exist and report long mode; records Page1GB.
; Halts with "FATAL: CPU has no long mode" otherwise.
check_cpu32:
    ; CPUID exists iff EFLAGS.ID can be toggled (SDM 2.3 "System Flags and
    ; Fields in the EFLAGS Register").
    pushfd
    pop eax
    mov ecx, eax
    xor eax, EFLAGS_ID
    push eax
    popfd
    pushfd
    pop eax
    push ecx
    popfd
    mov esi, msg_no_long_mode
    xor eax, ecx
    test eax, EFLAGS_ID
    jz fatal32

    mov eax, CPUID_EXT_MAX
    cpuid
    cmp eax, CPUID_EXT_FEATURES
    jb fatal32
    mov eax, CPUID_EXT_FEATURES
    cpuid
    test edx, CPUID_EXT_EDX_LM
    jz fatal32
    and edx, CPUID_EXT_EDX_PAGE1GB
    mov [use_1g_pages], edx
    ret

; find_mem_top32: walk the MBI tags (MB2 3.6 "Boot information format") to
; the memory map (MB2 3.6.8) and store in boot_mem_top the highest
; base + length of any non-empty entry that is not "reserved".  Every read is
; bounded by the MBI's total_size and the tag's size.
;
; Reserved entries are left out because firmware reports address-space holes
; that hold no RAM far above it: QEMU, for one, reports AMD's HyperTransport
; hole [1012 GiB, 1 TiB) even with 512 MiB of RAM.  Counting it would map
; 64 or 512 GiB on every such machine and flag RAM above the cap that does
; not exist.  Reserved ranges below the top (MMIO below 4 GiB, firmware
; areas) are mapped anyway.
find_mem_top32:
    mov esi, [boot_mbi]
    test esi, esi
    jz .no_mmap
    test esi, MB2_TAG_ALIGN - 1
    jnz .no_mmap
    mov edi, [esi + MB2_MBI_TOTAL_SIZE]
    add edi, esi                        ; edi = end of the MBI
    jc .no_mmap
    add esi, MB2_MBI_HEADER_SIZE
.next_tag:
    lea eax, [esi + MB2_TAG_HEADER_SIZE]
    cmp eax, edi
    ja .no_mmap
    mov eax, [esi + MB2_TAG_TYPE]
    mov ecx, [esi + MB2_TAG_SIZE]
    cmp eax, MB2_TAG_END
    je .no_mmap
    cmp ecx, MB2_TAG_HEADER_SIZE
    jb .no_mmap
    cmp eax, MB2_TAG_MMAP
    je .found
    add ecx, MB2_TAG_ALIGN - 1
    and ecx, ~(MB2_TAG_ALIGN - 1)
    add esi, ecx
    jc .no_mmap
    jmp .next_tag

.found:
    lea eax, [esi + ecx]
    cmp eax, edi
    ja .bad_mmap
    mov edi, eax                        ; edi = end of the entries
    mov ebp, [esi + MB2_MMAP_ENTRY_SIZE]
    cmp ebp, MB2_MMAP_MIN_ENTRY
    jb .bad_mmap
    test ebp, MB2_MMAP_ENTRY_ALIGN - 1  ; MB2 3.6.8: a multiple of 8
    jnz .bad_mmap
    add esi, MB2_MMAP_ENTRIES
.entry:
    lea eax, [esi + MB2_MMAP_MIN_ENTRY]
    cmp eax, edi
    ja .done
    mov eax, [esi + MB2_MMAP_LENGTH]
    or eax, [esi + MB2_MMAP_LENGTH + 4]
    jz .skip                            ; empty entry
    cmp dword [esi + MB2_MMAP_TYPE], MB2_MMAP_RESERVED
    je .skip
    mov eax, [esi + MB2_MMAP_BASE]
    mov edx, [esi + MB2_MMAP_BASE + 4]
    add eax, [esi + MB2_MMAP_LENGTH]
    adc edx, [esi + MB2_MMAP_LENGTH + 4]
    jnc .no_carry
    mov eax, -1                         ; wrapped past 2^64: saturate
    mov edx, -1
.no_carry:
    cmp edx, [boot_mem_top + 4]         ; 64-bit unsigned compare
    jb .skip
    ja .update
    cmp eax, [boot_mem_top]
    jbe .skip
.update:
    mov [boot_mem_top], eax
    mov [boot_mem_top + 4], edx
.skip:
    add esi, ebp
    jnc .entry
.done:
    ret
.no_mmap:
    mov esi, msg_no_mmap
    jmp fatal32
.bad_mmap:
    mov esi, msg_bad_mmap
    jmp fatal32

; compute_map_size32: map_gib = clamp(ceil(boot_mem_top / 1 GiB),
; MAP_MIN_GIB, cap), cap = MAP_MAX_GIB_1G or MAP_MAX_GIB_2M; boot_mapped_top
; = map_gib GiB.
compute_map_size32:
    mov eax, [boot_mem_top]
    mov edx, [boot_mem_top + 4]
    mov ecx, -1
    cmp edx, MEM_TOP_GIB_SATURATE
    jae .clamp                          ; >= 1 TiB: above every cap
    mov ecx, edx
    shl ecx, 32 - HUGE_PAGE_SHIFT       ; GiB from the high dword
    mov ebx, eax
    shr ebx, HUGE_PAGE_SHIFT            ; GiB from the low dword
    or ecx, ebx
    test eax, HUGE_PAGE_MASK            ; round up to a whole GiB
    jz .clamp
    inc ecx
.clamp:
    cmp ecx, MAP_MIN_GIB
    jae .not_small
    mov ecx, MAP_MIN_GIB
.not_small:
    mov ebx, MAP_MAX_GIB_2M
    cmp dword [use_1g_pages], 0
    je .have_cap
    mov ebx, MAP_MAX_GIB_1G
.have_cap:
    cmp ecx, ebx
    jbe .fits
    mov ecx, ebx
.fits:
    mov [map_gib], ecx
    mov eax, ecx
    shl eax, HUGE_PAGE_SHIFT
    mov [boot_mapped_top], eax
    shr ecx, 32 - HUGE_PAGE_SHIFT
    mov [boot_mapped_top + 4], ecx
    ret

; build_page_tables32: fill boot_pml4/boot_pdpt/boot_pds and the image PTs
; (linker.ld reserves them between __image_pt_start and __image_pt_end).
; 32-bit code writes each 64-bit entry as two dwords.
build_page_tables32:
    ; The loader zeroes .bss, but do not depend on it for paging structures.
    mov edi, boot_pml4
    mov ecx, (boot_tables_end - boot_pml4) / 4
    xor eax, eax
    rep stosd

    mov dword [boot_pml4], boot_pdpt + PTE_TABLE

    ; PDs, as one flat array of 2 MiB PDEs: entry k maps k * 2 MiB.  They cover
    ; all of the map without 1 GiB pages, else the low 4 GiB.
    mov ecx, [map_gib]
    cmp dword [use_1g_pages], 0
    je .have_pd_count
    mov ecx, MAP_LOW_PDS
.have_pd_count:
    xor ebx, ebx                        ; ebx = GiB index
.pdpte_loop:
    mov eax, ebx
    shl eax, PAGE_SHIFT
    add eax, boot_pds + PTE_TABLE
    mov [boot_pdpt + ebx * PTE_SIZE], eax
    inc ebx
    cmp ebx, ecx
    jb .pdpte_loop

    shl ecx, PT_ENTRIES_SHIFT           ; PDEs = GiB * 512
    xor ebx, ebx                        ; ebx = PDE index k
.pde_loop:
    mov eax, ebx
    shl eax, LARGE_PAGE_SHIFT
    or eax, PTE_PAGE_LARGE
    mov edx, ebx
    shr edx, 32 - LARGE_PAGE_SHIFT
    mov [boot_pds + ebx * PTE_SIZE], eax
    mov [boot_pds + ebx * PTE_SIZE + 4], edx
    inc ebx
    cmp ebx, ecx
    jb .pde_loop

    ; 1 GiB pages from 4 GiB up to map_gib (SDM 4.5, "PDPTE that maps a
    ; 1-GByte page").
    cmp dword [use_1g_pages], 0
    je .image
    mov ebx, MAP_LOW_PDS
.huge_loop:
    cmp ebx, [map_gib]
    jae .image
    mov eax, ebx
    shl eax, HUGE_PAGE_SHIFT
    or eax, PTE_PAGE_LARGE
    mov edx, ebx
    shr edx, 32 - HUGE_PAGE_SHIFT
    mov [boot_pdpt + ebx * PTE_SIZE], eax
    mov [boot_pdpt + ebx * PTE_SIZE + 4], edx
    inc ebx
    jmp .huge_loop

.image:
    ; The 2 MiB regions from the one holding __image_start onwards get a PT
    ; each, in order; PD 0's entries for them point to those PTs.  linker.ld
    ; sizes the PT area to cover the whole image and asserts it lies below
    ; 1 GiB (inside PD 0).
    mov ecx, __image_pt_end
    sub ecx, __image_pt_start
    shr ecx, PAGE_SHIFT                 ; ecx = number of PTs
    mov ebx, __image_start
    shr ebx, LARGE_PAGE_SHIFT           ; ebx = PDE index of the first region
    mov eax, __image_pt_start + PTE_TABLE
.image_pde_loop:
    mov [boot_pds + ebx * PTE_SIZE], eax
    mov dword [boot_pds + ebx * PTE_SIZE + 4], 0
    add eax, PAGE_SIZE
    inc ebx
    loop .image_pde_loop

    mov ecx, __image_pt_end
    sub ecx, __image_pt_start
    shr ecx, PTE_SHIFT                  ; ecx = number of PTEs
    mov edi, __image_pt_start
    mov eax, __image_start
    and eax, ~(LARGE_PAGE_SIZE - 1)
    or eax, PTE_PAGE_4K
.pte_loop:
    mov [edi], eax
    mov dword [edi + 4], 0
    add eax, PAGE_SIZE
    add edi, PTE_SIZE
    loop .pte_loop

    ; Unmap the guard pages: three per CPU plus one at the end of the area.
    mov ebx, percpu_stacks
    mov ecx, MAX_CPUS
.guard_loop:
    mov eax, ebx
    call unmap_image_page32
    lea eax, [ebx + PERCPU_IST2_GUARD]
    call unmap_image_page32
    lea eax, [ebx + PERCPU_STACK_GUARD]
    call unmap_image_page32
    add ebx, PERCPU_STRIDE
    loop .guard_loop
    mov eax, ebx                        ; the trailing guard page
    call unmap_image_page32
    ret

; unmap_image_page32: EAX = address of a page inside the kernel image; clear
; its PTE in the image PTs.  Clobbers EAX, EDX.
unmap_image_page32:
    mov edx, __image_start
    and edx, ~(LARGE_PAGE_SIZE - 1)
    sub eax, edx
    shr eax, PAGE_SHIFT
    mov dword [__image_pt_start + eax * PTE_SIZE], 0
    mov dword [__image_pt_start + eax * PTE_SIZE + 4], 0
    ret

; fatal32: print the NUL-terminated string at ESI on COM1, wait until it has
; left the UART, and halt with interrupts off.  Never returns.
fatal32:
    call serial32_init
.next:
    lodsb
    test al, al
    jz .drained
    call serial32_putc
    jmp .next
.drained:
    mov ecx, UART_SPIN_LIMIT
    mov dx, COM1_BASE + UART_LSR
.wait_temt:
    in al, dx
    test al, UART_LSR_TEMT
    jnz .halt
    pause
    loop .wait_temt
.halt:
    cli
    hlt
    jmp .halt

; serial32_init: COM1 at 115200 8N1, FIFOs on, interrupts off (same setting
; as early_console_init in arch/x86/native/early_console.c).
serial32_init:
    mov dx, COM1_BASE + UART_IER
    xor al, al
    out dx, al
    mov dx, COM1_BASE + UART_LCR
    mov al, UART_LCR_DLAB
    out dx, al
    mov dx, COM1_BASE + UART_DLL
    mov al, UART_DIVISOR_115200 & 0xFF
    out dx, al
    mov dx, COM1_BASE + UART_DLM
    mov al, UART_DIVISOR_115200 >> 8
    out dx, al
    mov dx, COM1_BASE + UART_LCR
    mov al, UART_LCR_8N1
    out dx, al
    mov dx, COM1_BASE + UART_FCR
    mov al, UART_FCR_ENABLE_CLEAR
    out dx, al
    mov dx, COM1_BASE + UART_MCR
    mov al, UART_MCR_DTR_RTS
    out dx, al
    ret

; serial32_putc: send AL on COM1 once the transmit holding register is empty
; (bounded wait).  Clobbers EAX, ECX, EDX.
serial32_putc:
    mov ah, al
    mov ecx, UART_SPIN_LIMIT
    mov dx, COM1_BASE + UART_LSR
.wait:
    in al, dx
    test al, UART_LSR_THRE
    jnz .ready
    pause
    loop .wait
.ready:
    mov al, ah
    mov dx, COM1_BASE + UART_THR
    out dx, al
    ret

; ============================================================================
; 64-bit entry
; ============================================================================
bits 64
default rel

long_mode_entry:
    mov ax, GDT_DATA64
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov fs, ax
    mov gs, ax
    mov rsp, [percpu_stack_top]         ; CPU 0

    call init_tss_descriptors
    call init_idt
    xor edi, edi
    call boot_load_cpu_tables           ; CPU 0

    ; x87 + SSE (SDM 13.1 "Initialization of the SSE Extensions"): CR0 was
    ; set on the way in; OSFXSR and OSXMMEXCPT here.  With XSAVE, enable
    ; XSETBV and set XCR0 = x87 | SSE (SDM chapter 13, "Enabling the XSAVE
    ; Feature Set and XSAVE-Enabled Features").  Done after the IDT is
    ; loaded, so a fault here panics instead of triple faulting.
    mov rax, cr4
    or eax, CR4_OSFXSR | CR4_OSXMMEXCPT
    mov cr4, rax
    mov eax, CPUID_FEATURES
    cpuid
    test ecx, CPUID_1_ECX_XSAVE
    jz .no_xsave
    mov rax, cr4
    or eax, CR4_OSXSAVE
    mov cr4, rax
    xor ecx, ecx                        ; XCR0
    xor edx, edx
    mov eax, XCR0_X87 | XCR0_SSE
    xsetbv
.no_xsave:
    fninit
    ldmxcsr [mxcsr_default]

    xor ebp, ebp                        ; terminates frame-pointer walks
    mov edi, [boot_magic]               ; zero-extends into RDI
    mov esi, [boot_mbi]                 ; zero-extends into RSI
    call kmain
.halt:
    cli
    hlt
    jmp .halt

; init_tss_descriptors: fill every CPU's TSS (RSP0 = its hypervisor stack,
; IST1 / IST2 = its #DF / NMI stacks, no I/O bitmap) and its GDT descriptor.
init_tss_descriptors:
    lea rdi, [boot_tss]
    mov ecx, MAX_CPUS * TSS_STRIDE / 8
    xor eax, eax
    rep stosq

    xor ecx, ecx                        ; ecx = CPU
.loop:
    imul eax, ecx, PERCPU_STRIDE
    lea rsi, [percpu_stacks]
    add rsi, rax                        ; rsi = this CPU's stack block
    imul eax, ecx, TSS_STRIDE
    lea rdi, [boot_tss]
    add rdi, rax                        ; rdi = this CPU's TSS
    lea rax, [rsi + PERCPU_STACK_TOP]
    mov [rdi + TSS_RSP0], rax
    lea rax, [rsi + PERCPU_IST1_TOP]
    mov [rdi + TSS_IST1], rax
    lea rax, [rsi + PERCPU_IST2_TOP]
    mov [rdi + TSS_IST2], rax
    mov word [rdi + TSS_IOMAP_BASE], TSS_SIZE  ; beyond the limit: no bitmap

    ; Descriptor low qword: limit 15:0, base 23:0, access, base 31:24.
    mov rax, rdi
    and eax, DESC_BASE_LOW_MASK
    shl rax, DESC_BASE_LOW_SHIFT
    or rax, TSS_SIZE - 1
    mov rdx, rdi
    shr rdx, DESC_BASE_HIGH_SHIFT
    and edx, DESC_BASE_HIGH_MASK
    shl rdx, DESC_BASE_HIGH_POS
    or rax, rdx
    mov rdx, TSS_DESC_ACC << TSS_DESC_ACC_SHIFT
    or rax, rdx
    mov edx, ecx
    shl edx, TSS_DESC_SHIFT
    lea r8, [boot_gdt + GDT_TSS0]
    mov [r8 + rdx], rax
    mov rax, rdi                        ; high qword: base 63:32, reserved 0
    shr rax, 32
    mov [r8 + rdx + 8], rax

    inc ecx
    cmp ecx, MAX_CPUS
    jb .loop
    ret

; init_idt: gate v -> isr_stubs + v * ISR_STUB_SIZE, interrupt gate (IF
; cleared on entry), kernel CS, IST1 for #DF and IST2 for NMI.
init_idt:
    lea rsi, [isr_stubs]
    lea rdi, [boot_idt]
    xor ecx, ecx                        ; ecx = vector
.loop:
    mov rax, rsi
    and eax, IDT_GATE_OFF_LOW_MASK      ; offset 15:0
    or eax, GDT_CODE64 << IDT_GATE_SEL_SHIFT
    mov rdx, rsi
    shr rdx, IDT_GATE_OFF_MID_SHIFT
    and edx, IDT_GATE_OFF_LOW_MASK
    shl rdx, IDT_GATE_OFF_MID_POS       ; offset 31:16
    or rax, rdx
    mov rdx, IDT_GATE_INTR << IDT_GATE_ATTR_SHIFT
    or rax, rdx
    xor edx, edx
    cmp ecx, EXC_VECTOR_DF
    jne .not_df
    mov edx, IST_DOUBLE_FAULT
.not_df:
    cmp ecx, EXC_VECTOR_NMI
    jne .not_nmi
    mov edx, IST_NMI
.not_nmi:
    shl rdx, IDT_GATE_IST_SHIFT
    or rax, rdx
    mov [rdi], rax
    mov rax, rsi
    shr rax, 32                         ; offset 63:32, reserved 0
    mov [rdi + 8], rax
    add rsi, ISR_STUB_SIZE
    add rdi, IDT_GATE_SIZE
    inc ecx
    cmp ecx, IDT_VECTORS
    jb .loop
    ret

; void boot_load_cpu_tables(uint32_t cpu)
; Load the shared GDT and IDT, reload the segment registers (FS and GS get
; base 0) and load CPU `cpu`'s TSS into TR.  Call once per CPU, on that CPU:
; LTR marks the descriptor busy, and a second LTR of it raises #GP.
; cpu >= MAX_CPUS raises #UD (after the IDT is loaded, so it panics cleanly).
boot_load_cpu_tables:
    lgdt [boot_gdtr]
    lidt [boot_idtr]
    ; Reload CS: a 64-bit far return pops RIP, then CS.
    lea rax, [.reloaded]
    push GDT_CODE64
    push rax
    retfq
.reloaded:
    mov ax, GDT_DATA64
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov fs, ax
    mov gs, ax
    cmp edi, MAX_CPUS
    jae .bad_cpu
    mov eax, edi
    shl eax, TSS_DESC_SHIFT
    add eax, GDT_TSS0
    ltr ax
    ret
.bad_cpu:
    ud2

; ============================================================================
; Exception and interrupt stubs
; ============================================================================
; One 16-byte stub per vector.  Where the CPU pushes no error code, the stub
; pushes a dummy 0 so every frame has the same layout (SDM 6.13 "Error Code";
; vectors with an error code per SDM 6.15 "Exception and Interrupt
; Reference": #DF 8, #TS 10, #NP 11, #SS 12, #GP 13, #PF 14, #AC 17, #CP 21,
; and AMD's #VC 29 and #SX 30).  External interrupts (32-255) never push one.

%macro ISR_STUB 1
%%start:
%if (%1 == 8) || ((%1 >= 10) && (%1 <= 14)) || (%1 == 17) || (%1 == 21) || (%1 == 29) || (%1 == 30)
    ; the CPU pushed the error code
%else
    push 0
%endif
    push strict dword %1
    jmp near isr_common
    times ISR_STUB_SIZE - ($ - %%start) int3    ; fails to assemble if too long
%endmacro

align ISR_STUB_SIZE
isr_stubs:
%assign vec 0
%rep IDT_VECTORS
    ISR_STUB vec
%assign vec vec + 1
%endrep

; Common path: save the GPRs (a complete frame for a debugger), then
; exception_panic(vector, error_code, rip, cr2, rsp), which never returns.
isr_common:
    push rax
    push rbx
    push rcx
    push rdx
    push rsi
    push rdi
    push rbp
    push r8
    push r9
    push r10
    push r11
    push r12
    push r13
    push r14
    push r15
    cld                                 ; SysV: DF = 0 at a call
    mov rdi, [rsp + FRAME_VECTOR]
    mov rsi, [rsp + FRAME_ERROR_CODE]
    mov rdx, [rsp + FRAME_RIP]
    mov rcx, cr2
    mov r8, [rsp + FRAME_RSP]
    mov rbx, rsp                        ; frame pointer, callee-saved
    and rsp, -STACK_ALIGN
    call exception_panic
.halt:
    cli
    hlt
    jmp .halt

; ============================================================================
; setjmp / longjmp (SysV x86-64) for wasm2c's exception unwinding.
; jmp_buf = 8 x u64: rbx rbp r12 r13 r14 r15 rsp rip.  As in C, only the
; callee-saved GPRs are kept; MXCSR and the x87 control word are not.
; ============================================================================

; int setjmp(jmp_buf env): returns 0 now, and `val` (never 0) via longjmp.
setjmp:
    mov [rdi + JB_RBX], rbx
    mov [rdi + JB_RBP], rbp
    mov [rdi + JB_R12], r12
    mov [rdi + JB_R13], r13
    mov [rdi + JB_R14], r14
    mov [rdi + JB_R15], r15
    lea rdx, [rsp + 8]                  ; caller's RSP after our return
    mov [rdi + JB_RSP], rdx
    mov rdx, [rsp]                      ; return address
    mov [rdi + JB_RIP], rdx
    xor eax, eax
    ret
.end:

; void longjmp(jmp_buf env, int val): resume at env's setjmp, returning val
; (1 if val == 0).
longjmp:
    mov eax, esi
    test eax, eax
    jnz .nonzero
    inc eax
.nonzero:
    mov rbx, [rdi + JB_RBX]
    mov rbp, [rdi + JB_RBP]
    mov r12, [rdi + JB_R12]
    mov r13, [rdi + JB_R13]
    mov r14, [rdi + JB_R14]
    mov r15, [rdi + JB_R15]
    mov rsp, [rdi + JB_RSP]
    jmp [rdi + JB_RIP]
.end:

; No executable stack (keeps ld from warning about a missing note).
section .note.GNU-stack noalloc noexec nowrite progbits
