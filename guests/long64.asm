; long64.asm - the 64-bit exerciser guest (kind "long64").
;
; Loaded at GPA 0x100000 and entered in 64-bit mode with the hypervisor's
; identity map of [0, 1 GiB) (CR3 = 0x1000), RSP = 0x80000, IF = 0 and no
; GDT/IDT (see guests/README.md). Each check prints "ok <name>" or
; "FAIL <name> <detail>" on the debug port 0xE9; the run ends with
; "DONE long64 <ok>/<total>" and halts with interrupts off.
;
; Faults the checks provoke on purpose (#GP, #UD) are counted by the handlers,
; which skip the faulting instruction by decoding the bytes at the saved RIP.
; Every check declares how many faults it expects; report_ok turns a wrong
; count into "FAIL <name> faults gp=<n> ud=<n>". Any other exception prints
; "FAIL unexpected vector <n> rip=<hex>" and halts.
;
; Build: nasm -f bin -o long64.bin long64.asm

bits 64
org 0x100000

DEBUG_PORT      equ 0xE9            ; hypervisor debug console
TEST_PORT       equ 0xEA            ; test control port (commands / read counter)

CMD_INJECT      equ 0x0001          ; | vector << 8: external interrupt asap
CMD_NMI         equ 0x0002          ; NMI asap
CMD_TIMER       equ 0x0003          ; | ms << 8: vector 0x41 after ms

KERNEL_CS       equ 0x08
KERNEL_DS       equ 0x10

CR0_NE          equ 1 << 5
CR0_NW          equ 1 << 29
CR0_CD          equ 1 << 30
CR4_VMXE        equ 1 << 13
CR4_OSXSAVE     equ 1 << 18

MSR_APIC_BASE   equ 0x1B
MSR_MTRRCAP     equ 0xFE
MSR_PAT         equ 0x277
MSR_MTRR_DEF    equ 0x2FF
MSR_EFER        equ 0xC0000080
MSR_BOGUS       equ 0x12345678

PAT_DEFAULT     equ 0x0007040600070406  ; power-up value (SDM Vol 3A PAT)
PAT_TEST        equ 0x0107040600070406  ; PA7: UC (00) -> WC (01)
PAT_BAD         equ 0x0007040600070402  ; PA0 = 02h, a reserved type

SENTINEL        equ 0x1122334455667788

; ---------------------------------------------------------------------------
; Check scaffolding. A check is a routine called from main:
;     t_foo:  CHECK "foo"     ; names the check, snapshots the fault counters
;             ...             ; set [gp_exp]/[ud_exp] if faults are expected
;             PASS            ; tail-jumps to report_ok (verifies fault counts)
;     .f:     FAIL "what", reg ; tail-jumps to report_fail: "FAIL foo what=<hex>"
; ---------------------------------------------------------------------------
%macro CHECK 1
        jmp     %%go
.name:  db      %1, 0
%%go:   call    check_begin
%endmacro

%macro PASS 0
        lea     rsi, [rel .name]
        jmp     report_ok
%endmacro

%macro FAIL 2
        mov     rax, %2
        lea     rsi, [rel .name]
        lea     rdx, [rel %%d]
        jmp     report_fail
%%d:    db      %1, 0
%endmacro

; ---------------------------------------------------------------------------
start:
        cli
        cld
        lgdt    [rel gdt_desc]
        push    KERNEL_CS               ; reload CS from our GDT: IRETQ pops CS
        lea     rax, [rel .cs_loaded]   ; and SS, so both must name our GDT
        push    rax
        retfq
.cs_loaded:
        mov     ax, KERNEL_DS
        mov     ds, ax
        mov     es, ax
        mov     ss, ax
        xor     eax, eax
        mov     fs, ax
        mov     gs, ax
        call    idt_init
        lidt    [rel idt_desc]

        call    t_cpuid_hv
        call    t_cpuid_sig
        call    t_cpuid_priv
        call    t_cr0_shadow
        call    t_cr4_vmxe
        call    t_cr4_osxsave
        call    t_xsetbv
        call    t_msr_efer
        call    t_msr_pat
        call    t_msr_mtrr
        call    t_msr_apicbase
        call    t_msr_unknown
        call    t_io_byte
        call    t_io_word
        call    t_io_dword
        call    t_io_rep_ins
        call    t_io_rep_outs
        call    t_vmcall
        call    t_wbinvd
        call    t_int_window
        call    t_nmi_window
        call    t_hlt_wake

        lea     rsi, [rel s_done]
        call    puts
        mov     eax, [rel n_ok]
        call    put_dec
        mov     al, '/'
        out     DEBUG_PORT, al
        mov     eax, [rel n_total]
        call    put_dec
        call    newline
halt:   cli
        hlt
        jmp     halt

; ---------------------------------------------------------------------------
; CPUID
; ---------------------------------------------------------------------------

; CPUID.01H:ECX[31] is reserved for hypervisors ("hypervisor present");
; ECX[5] is VMX, which the hypervisor hides (nested VMX not offered).
t_cpuid_hv:
        CHECK   "cpuid-hv"
        mov     eax, 1
        xor     ecx, ecx
        cpuid
        mov     eax, ecx
        and     eax, (1 << 31) | (1 << 5)
        cmp     eax, 1 << 31
        jne     .f
        PASS
.f:     FAIL    "ecx", rcx

; Leaf 0x40000000: max hypervisor leaf and the "ACRNACRNACRN" vendor id.
t_cpuid_sig:
        CHECK   "cpuid-sig"
        mov     eax, 0x40000000
        xor     ecx, ecx
        cpuid
        cmp     eax, 0x40000010
        jne     .fa
        cmp     ebx, 0x4E524341         ; "ACRN"
        jne     .fb
        cmp     ecx, 0x4E524341
        jne     .fc
        cmp     edx, 0x4E524341
        jne     .fd
        PASS
.fa:    FAIL    "eax", rax
.fb:    FAIL    "ebx", rbx
.fc:    FAIL    "ecx", rcx
.fd:    FAIL    "edx", rdx

; Leaf 0x40000001 EAX[0] = privileged (Service) VM; test VMs are not.
t_cpuid_priv:
        CHECK   "cpuid-priv"
        mov     eax, 0x40000001
        xor     ecx, ecx
        cpuid
        test    eax, 1
        jnz     .f
        PASS
.f:     FAIL    "eax", rax

; ---------------------------------------------------------------------------
; Control registers
; ---------------------------------------------------------------------------

; CR0.NE is fixed to 1 in VMX operation (SDM Vol 3C A.7, IA32_VMX_CR0_FIXED0),
; so the hypervisor owns it through the CR0 guest/host mask and shows the
; guest its own value through the read shadow (SDM Vol 3C 25.6.6): MOV from
; CR0 returns the shadow for owned bits. CD/NW: CD=1,NW=1 is a legal setting
; (only NW=1 with CD=0 is #GP, SDM Vol 2 MOV to CR0); the value must read
; back as written even if the hypervisor emulates CD another way (ACRN keeps
; CD/NW out of the real CR0 and loads an all-UC guest PAT instead).
t_cr0_shadow:
        CHECK   "cr0-shadow"
        mov     rbx, cr0                ; entry value 0x80050033
        test    ebx, CR0_NE
        jz      .f0
        mov     rax, rbx
        and     rax, ~CR0_NE
        mov     cr0, rax
        mov     rcx, cr0
        mov     cr0, rbx
        cmp     rcx, rax
        jne     .f1
        mov     rax, rbx
        or      rax, CR0_CD | CR0_NW
        mov     cr0, rax
        mov     rcx, cr0
        mov     cr0, rbx
        cmp     rcx, rax
        jne     .f2
        mov     rcx, cr0
        cmp     rcx, rbx
        jne     .f3
        PASS
.f0:    FAIL    "entry-cr0", rbx
.f1:    FAIL    "ne-clear-read", rcx
.f2:    FAIL    "cd-nw-read", rcx
.f3:    FAIL    "restore-read", rcx

; CR4.VMXE: the hypervisor hides VMX, so setting it raises #GP(0), as on a
; processor without VMX (SDM Vol 2 MOV to CR4: reserved bit -> #GP(0)).
; MOV CR4, RAX = 0F 22 E0 (3 bytes), skipped by the #GP handler.
t_cr4_vmxe:
        CHECK   "cr4-vmxe"
        mov     rbx, cr4
        mov     rax, rbx
        or      rax, CR4_VMXE
        mov     dword [rel gp_exp], 1
        mov     cr4, rax                ; -> #GP(0)
        mov     rcx, cr4
        test    ecx, CR4_VMXE
        jnz     .f1
        mov     eax, [rel gp_err]
        test    eax, eax
        jnz     .f2
        PASS
.f1:    mov     cr4, rbx
        FAIL    "cr4", rcx
.f2:    FAIL    "errcode", rax

; CR4.OSXSAVE (bit 18) needs CPUID.01H:ECX.XSAVE[26]; CPUID.01H:ECX.OSXSAVE[27]
; mirrors CR4.OSXSAVE (SDM Vol 2 CPUID, feature information in ECX), so the hypervisor must
; report the guest's CR4 there, not its own.
t_cr4_osxsave:
        CHECK   "cr4-osxsave"
        mov     eax, 1
        xor     ecx, ecx
        cpuid
        bt      ecx, 26
        jnc     .f0
        bt      ecx, 27
        jc      .f1
        mov     rax, cr4
        or      rax, CR4_OSXSAVE
        mov     cr4, rax
        mov     rcx, cr4
        test    ecx, CR4_OSXSAVE
        jz      .f2
        mov     eax, 1
        xor     ecx, ecx
        cpuid
        bt      ecx, 27
        jnc     .f3
        PASS
.f0:    FAIL    "no-xsave-ecx", rcx
.f1:    FAIL    "cpuid-osxsave-before", rcx
.f2:    FAIL    "cr4", rcx
.f3:    FAIL    "cpuid-osxsave-after", rcx

; XSETBV exits unconditionally (SDM Vol 3C 26.1.2); the hypervisor must
; check the value like the processor: clearing XCR0[0] is #GP(0)
; (SDM Vol 2 XSETBV). XSETBV = 0F 01 D1, 3 bytes.
t_xsetbv:
        CHECK   "xsetbv"
        xor     ecx, ecx
        xor     edx, edx
        mov     eax, 3                  ; x87 | SSE
        xsetbv
        xor     ecx, ecx
        xgetbv
        shl     rdx, 32
        or      rax, rdx
        cmp     rax, 3
        jne     .f1
        mov     dword [rel gp_exp], 1
        xor     ecx, ecx
        xor     edx, edx
        mov     eax, 2                  ; SSE without x87: invalid
        xsetbv                          ; -> #GP(0)
        xor     ecx, ecx
        xgetbv
        shl     rdx, 32
        or      rax, rdx
        cmp     rax, 3
        jne     .f2
        mov     eax, [rel gp_err]
        test    eax, eax
        jnz     .f3
        PASS
.f1:    FAIL    "xcr0", rax
.f2:    FAIL    "xcr0-after-bad", rax
.f3:    FAIL    "errcode", rax

; ---------------------------------------------------------------------------
; MSRs
; ---------------------------------------------------------------------------

; IA32_EFER: LME (bit 8) and LMA (bit 10) in IA-32e mode (SDM Vol 3A,
; "Extended Feature Enable Register").
t_msr_efer:
        CHECK   "msr-efer"
        mov     ecx, MSR_EFER
        rdmsr
        and     eax, 0x500
        cmp     eax, 0x500
        jne     .f
        PASS
.f:     mov     ecx, MSR_EFER
        rdmsr
        FAIL    "efer", rax

; IA32_PAT round trip; a reserved type (02h) is #GP(0) (SDM Vol 3A "Page
; Attribute Table (PAT)": writing an undefined memory type causes #GP).
; The old value is restored afterwards.
t_msr_pat:
        CHECK   "msr-pat"
        mov     ecx, MSR_PAT
        rdmsr
        mov     r12d, eax
        mov     r13d, edx               ; r13:r12 = original
        mov     rax, PAT_TEST
        mov     rdx, rax
        shr     rdx, 32
        wrmsr
        rdmsr
        shl     rdx, 32
        or      rax, rdx
        mov     rbx, PAT_TEST
        cmp     rax, rbx
        jne     .f1
        mov     dword [rel gp_exp], 1
        mov     rax, PAT_BAD
        mov     rdx, rax
        shr     rdx, 32
        wrmsr                           ; -> #GP(0)
        rdmsr
        shl     rdx, 32
        or      rax, rdx
        cmp     rax, rbx
        jne     .f2
        mov     eax, r12d
        mov     edx, r13d
        wrmsr
        rdmsr
        cmp     eax, r12d
        jne     .f3
        cmp     edx, r13d
        jne     .f3
        PASS
.f1:    call    .restore
        FAIL    "read", rax
.f2:    call    .restore
        FAIL    "after-bad", rax
.f3:    shl     rdx, 32
        or      rax, rdx
        FAIL    "restore", rax
.restore:
        push    rax
        mov     ecx, MSR_PAT
        mov     eax, r12d
        mov     edx, r13d
        wrmsr
        pop     rax
        ret

; IA32_MTRRCAP / IA32_MTRR_DEF_TYPE (SDM Vol 3A "IA32_MTRR_DEF_TYPE MSR"):
; readable, and
; DEF_TYPE takes E=1 with default type UC (0x800) and WB (0x806); the old
; value is restored afterwards.
t_msr_mtrr:
        CHECK   "msr-mtrr"
        mov     ecx, MSR_MTRRCAP
        rdmsr
        mov     ecx, MSR_MTRR_DEF
        rdmsr
        mov     r12d, eax
        mov     r13d, edx
        mov     eax, 0x800
        xor     edx, edx
        wrmsr
        rdmsr
        cmp     eax, 0x800
        jne     .f1
        mov     eax, 0x806
        xor     edx, edx
        wrmsr
        rdmsr
        cmp     eax, 0x806
        jne     .f2
        mov     eax, r12d
        mov     edx, r13d
        wrmsr
        rdmsr
        cmp     eax, r12d
        jne     .f3
        PASS
.f1:    call    .restore
        FAIL    "read-800", rax
.f2:    call    .restore
        FAIL    "read-806", rax
.f3:    FAIL    "restore", rax
.restore:
        push    rax
        mov     ecx, MSR_MTRR_DEF
        mov     eax, r12d
        mov     edx, r13d
        wrmsr
        pop     rax
        ret

; IA32_APIC_BASE (SDM Vol 3A "Local APIC Status and Location"): base
; 0xFEE00000, EN (bit 11), and
; BSP (bit 8) on the VM's first vCPU.
t_msr_apicbase:
        CHECK   "msr-apicbase"
        mov     ecx, MSR_APIC_BASE
        rdmsr
        shl     rdx, 32
        or      rax, rdx
        mov     rbx, rax
        and     rbx, ~0xFFF
        mov     rcx, 0xFEE00000
        cmp     rbx, rcx
        jne     .f
        bt      eax, 11
        jnc     .f
        bt      eax, 8
        jnc     .f
        PASS
.f:     FAIL    "apicbase", rax

; An MSR the hypervisor does not know: #GP(0) for RDMSR and WRMSR
; (SDM Vol 2 RDMSR/WRMSR: reserved or unimplemented MSR -> #GP(0)).
t_msr_unknown:
        CHECK   "msr-unknown"
        mov     dword [rel gp_exp], 2
        mov     ecx, MSR_BOGUS
        rdmsr                           ; -> #GP(0)
        mov     eax, [rel gp_err]
        test    eax, eax
        jnz     .f
        mov     dword [rel gp_err], -1
        mov     ecx, MSR_BOGUS
        xor     eax, eax
        xor     edx, edx
        wrmsr                           ; -> #GP(0)
        mov     eax, [rel gp_err]
        test    eax, eax
        jnz     .f
        PASS
.f:     FAIL    "errcode", rax

; ---------------------------------------------------------------------------
; Port I/O (port 0xEA: each read returns a counter, then increments it)
; ---------------------------------------------------------------------------

; IN AL/AX only write the low 8/16 bits of RAX; IN EAX is a 32-bit
; destination and clears RAX[63:32] (SDM Vol 1 3.4.1.1). io-byte uses the
; immediate-port encoding (E4 ib), the others the DX form (ED, 66 ED): the
; I/O exit qualification's operand-encoding bit (6) differs.
; Mind for the emulation: ACRN merges an IN EAX result into the low 32 bits
; and keeps RAX[63:32]; the processor zero-extends, and this check follows
; the processor.
t_io_byte:
        CHECK   "io-byte"
        mov     rax, SENTINEL
        in      al, TEST_PORT           ; counter 0 (immediate-port form)
        mov     rbx, SENTINEL & ~0xFF
        cmp     rax, rbx
        jne     .f
        PASS
.f:     FAIL    "rax", rax

t_io_word:
        CHECK   "io-word"
        mov     rax, SENTINEL
        mov     dx, TEST_PORT
        in      ax, dx                  ; counter 1
        mov     rbx, (SENTINEL & ~0xFFFF) | 1
        cmp     rax, rbx
        jne     .f
        PASS
.f:     FAIL    "rax", rax

t_io_dword:
        CHECK   "io-dword"
        mov     rax, SENTINEL
        mov     dx, TEST_PORT
        in      eax, dx                 ; counter 2, RAX[63:32] cleared
        cmp     rax, 2
        jne     .f
        PASS
.f:     FAIL    "rax", rax

; REP INSD: 4 dwords upward; REP INSB with DF=1: 4 bytes downward
; (SDM Vol 2 INS: RDI moves by the operand size, down when DF=1).
; The counter values must be consecutive, and the guard bytes around each
; buffer untouched.
t_io_rep_ins:
        CHECK   "io-rep-ins"
        lea     rdi, [rel ins_guard0]
        mov     al, 0xAA
        mov     ecx, ins_end - ins_guard0
        rep     stosb
        lea     rdi, [rel ins_d]
        mov     ecx, 4
        mov     dx, TEST_PORT
        rep     insd
        test    rcx, rcx
        jnz     .frcx
        lea     rbx, [rel ins_d + 16]
        cmp     rdi, rbx
        jne     .frdi
        mov     ebx, [rel ins_d]        ; first value; the rest follow it
        mov     eax, [rel ins_d + 4]
        sub     eax, ebx
        cmp     eax, 1
        jne     .fdw
        mov     eax, [rel ins_d + 8]
        sub     eax, ebx
        cmp     eax, 2
        jne     .fdw
        mov     eax, [rel ins_d + 12]
        sub     eax, ebx
        cmp     eax, 3
        jne     .fdw
        ; downward: the next 4 counter values (first+4..first+7) land at
        ; ins_b+3, +2, +1, +0
        lea     rdi, [rel ins_b + 3]
        mov     ecx, 4
        std
        rep     insb
        cld
        test    rcx, rcx
        jnz     .frcx
        lea     rax, [rel ins_b - 1]
        cmp     rdi, rax
        jne     .frdi
        lea     eax, [rbx + 4]
        cmp     [rel ins_b + 3], al
        jne     .fb
        inc     eax
        cmp     [rel ins_b + 2], al
        jne     .fb
        inc     eax
        cmp     [rel ins_b + 1], al
        jne     .fb
        inc     eax
        cmp     [rel ins_b + 0], al
        jne     .fb
        cmp     dword [rel ins_guard0], 0xAAAAAAAA
        jne     .fg
        cmp     dword [rel ins_guard1], 0xAAAAAAAA
        jne     .fg
        cmp     dword [rel ins_guard2], 0xAAAAAAAA
        jne     .fg
        PASS
.frcx:  cld
        FAIL    "rcx", rcx
.frdi:  FAIL    "rdi", rdi
.fdw:   mov     rax, [rel ins_d]
        FAIL    "dwords0-1", rax
.fb:    mov     eax, [rel ins_b]
        FAIL    "bytes", rax
.fg:    FAIL    "guard", rax

; REP OUTSB to the console: the string is itself the check's output line,
; so nothing else is printed when it passes.
t_io_rep_outs:
        CHECK   "io-rep-outs"
        lea     rsi, [rel s_rep_outs]
        mov     ecx, s_rep_outs_len
        mov     dx, DEBUG_PORT
        rep     outsb
        test    rcx, rcx
        jnz     .frcx
        lea     rax, [rel s_rep_outs + s_rep_outs_len]
        cmp     rsi, rax
        jne     .frsi
        mov     eax, [rel gp_count]     ; report_ok's fault check, silently
        cmp     eax, [rel gp_snap]
        jne     .ff
        mov     eax, [rel ud_count]
        cmp     eax, [rel ud_snap]
        jne     .ff
        inc     dword [rel n_ok]
        inc     dword [rel n_total]
        ret
.frcx:  FAIL    "rcx", rcx
.frsi:  FAIL    "rsi", rsi
.ff:    lea     rsi, [rel .name]
        jmp     report_ok               ; prints the fault counts

; ---------------------------------------------------------------------------
; Instructions that exit
; ---------------------------------------------------------------------------

; VMCALL from a VM that is not the Service VM: ACRN injects #UD and writes
; no result (ACRN-ABI.md). VMCALL = 0F 01 C1, 3 bytes. R8 = GET_API_VERSION.
t_vmcall:
        CHECK   "vmcall"
        mov     dword [rel ud_exp], 1
        mov     rax, SENTINEL
        mov     r8d, 0x80000000         ; HC_GET_API_VERSION
        lea     rdi, [rel scratch]
        xor     esi, esi
        vmcall                          ; -> #UD
        mov     rbx, SENTINEL
        cmp     rax, rbx
        jne     .f
        PASS
.f:     FAIL    "rax", rax

; INVD exits unconditionally (SDM Vol 3C 26.1.2); WBINVD exits with
; "WBINVD exiting" (26.1.3). Both must resume without a fault. WBINVD first,
; so nothing dirty is lost if INVD ever reached the hardware.
t_wbinvd:
        CHECK   "wbinvd"
        wbinvd
        invd
        PASS

; ---------------------------------------------------------------------------
; Event injection
; ---------------------------------------------------------------------------

; With IF=0 the external interrupt stays pending. STI blocks interrupts for
; one more instruction (SDM Vol 2 STI; Vol 3A 6.8.3), so vector 0x40 is
; delivered after the first NOP: its saved RIP is the second NOP.
t_int_window:
        CHECK   "int-window"
        cli
        mov     dword [rel cnt40], 0
        mov     qword [rel rip40], 0
        mov     eax, CMD_INJECT | (0x40 << 8)
        mov     dx, TEST_PORT
        out     dx, eax
        nop
        nop
        nop
        mov     eax, [rel cnt40]
        test    eax, eax
        jnz     .fearly
        sti
        nop
.window:
        nop
        cli
        mov     eax, [rel cnt40]
        cmp     eax, 1
        jne     .fcount
        lea     rbx, [rel .window]
        mov     rax, [rel rip40]
        cmp     rax, rbx
        jne     .frip
        PASS
.fearly: FAIL   "early-count", rax
.fcount: FAIL   "count", rax
.frip:   FAIL   "rip", rax

; NMI blocking (SDM Vol 3A 6.7.1): from NMI delivery until the next IRET,
; further NMIs are held. The first NMI handler asks for a second NMI, spins,
; and checks it has not arrived; the second must arrive right after IRETQ,
; i.e. both NMIs interrupt main at the same RIP (.after).
t_nmi_window:
        CHECK   "nmi-window"
        mov     dword [rel nmi_cnt], 0
        mov     dword [rel nmi_nested], 0
        mov     qword [rel nmi_rip1], 0
        mov     qword [rel nmi_rip2], 0
        mov     eax, CMD_NMI
        mov     dx, TEST_PORT
        out     dx, eax
.after:
        nop
        nop
        mov     eax, [rel nmi_cnt]
        cmp     eax, 2
        jne     .fcount
        mov     eax, [rel nmi_nested]
        test    eax, eax
        jnz     .fnested
        lea     rbx, [rel .after]
        mov     rax, [rel nmi_rip1]
        cmp     rax, rbx
        jne     .frip1
        mov     rax, [rel nmi_rip2]
        cmp     rax, rbx
        jne     .frip2
        PASS
.fcount:  FAIL  "count", rax
.fnested: mov   rax, [rel nmi_rip2]
          FAIL  "nested-rip", rax
.frip1:   FAIL  "rip1", rax
.frip2:   FAIL  "rip2", rax

; HLT woken by an interrupt: the saved RIP is the instruction after HLT
; (SDM Vol 2 HLT). STI's one-instruction shadow keeps the interrupt from
; arriving between STI and HLT.
t_hlt_wake:
        CHECK   "hlt-wake"
        mov     dword [rel cnt41], 0
        mov     qword [rel rip41], 0
        mov     eax, CMD_TIMER | (20 << 8)
        mov     dx, TEST_PORT
        out     dx, eax
        mov     eax, [rel cnt41]
        test    eax, eax
        jnz     .fearly
        sti
        hlt
.after:
        cli
        mov     eax, [rel cnt41]
        cmp     eax, 1
        jne     .fcount
        lea     rbx, [rel .after]
        mov     rax, [rel rip41]
        cmp     rax, rbx
        jne     .frip
        PASS
.fearly: FAIL   "early-count", rax
.fcount: FAIL   "count", rax
.frip:   FAIL   "rip", rax

; ---------------------------------------------------------------------------
; Reporting
; ---------------------------------------------------------------------------

check_begin:
        push    rax
        mov     eax, [rel gp_count]
        mov     [rel gp_snap], eax
        mov     eax, [rel ud_count]
        mov     [rel ud_snap], eax
        mov     dword [rel gp_exp], 0
        mov     dword [rel ud_exp], 0
        mov     dword [rel gp_err], -1
        pop     rax
        ret

; rsi = check name. Prints "ok <name>" if the faults seen since CHECK match
; gp_exp/ud_exp, else "FAIL <name> faults gp=<n> ud=<n>".
report_ok:
        cld
        mov     eax, [rel gp_count]
        sub     eax, [rel gp_snap]
        cmp     eax, [rel gp_exp]
        jne     .bad
        mov     eax, [rel ud_count]
        sub     eax, [rel ud_snap]
        cmp     eax, [rel ud_exp]
        jne     .bad
        push    rsi
        lea     rsi, [rel s_ok]
        call    puts
        pop     rsi
        call    puts
        call    newline
        inc     dword [rel n_ok]
        inc     dword [rel n_total]
        ret
.bad:   push    rsi
        lea     rsi, [rel s_fail]
        call    puts
        pop     rsi
        call    puts
        lea     rsi, [rel s_faults_gp]
        call    puts
        mov     eax, [rel gp_count]
        sub     eax, [rel gp_snap]
        call    put_dec
        lea     rsi, [rel s_ud]
        call    puts
        mov     eax, [rel ud_count]
        sub     eax, [rel ud_snap]
        call    put_dec
        call    newline
        inc     dword [rel n_total]
        ret

; rsi = check name, rdx = detail, rax = value: "FAIL <name> <detail>=<hex>"
report_fail:
        cld
        push    rsi
        lea     rsi, [rel s_fail]
        call    puts
        pop     rsi
        call    puts
        push    rax
        mov     al, ' '
        out     DEBUG_PORT, al
        mov     rsi, rdx
        call    puts
        mov     al, '='
        out     DEBUG_PORT, al
        pop     rax
        call    put_hex
        call    newline
        inc     dword [rel n_total]
        ret

%include "print64.inc"          ; puts, newline, put_hex, put_dec

; ---------------------------------------------------------------------------
; IDT and handlers. 64-bit interrupt gates (SDM Vol 3A 6.14.1): every vector
; first points at a catch-all stub, then the handled vectors are overridden.
; ---------------------------------------------------------------------------

idt_init:
        xor     ecx, ecx
        lea     rax, [rel stubs]
.l:     call    set_gate
        add     rax, STUB_SIZE
        inc     ecx
        cmp     ecx, 256
        jb      .l
        mov     ecx, 2
        lea     rax, [rel isr_nmi]
        call    set_gate
        mov     ecx, 6
        lea     rax, [rel isr_ud]
        call    set_gate
        mov     ecx, 13
        lea     rax, [rel isr_gp]
        call    set_gate
        mov     ecx, 0x40
        lea     rax, [rel isr_40]
        call    set_gate
        mov     ecx, 0x41
        lea     rax, [rel isr_41]
        call    set_gate
        ret

; ecx = vector, rax = handler. Preserves all registers.
set_gate:
        push    rax
        push    rdx
        mov     edx, ecx
        shl     rdx, 4
        add     rdx, idt
        mov     [rdx], ax                       ; offset 15:0
        mov     word [rdx + 2], KERNEL_CS       ; selector
        mov     word [rdx + 4], 0x8E00          ; P=1 DPL=0 type=0xE, IST=0
        shr     rax, 16
        mov     [rdx + 6], ax                   ; offset 31:16
        shr     rax, 16
        mov     [rdx + 8], eax                  ; offset 63:32
        mov     dword [rdx + 12], 0
        pop     rdx
        pop     rax
        ret

; #GP (vector 13, error code pushed). Skips the instructions the checks
; fault on on purpose: RDMSR 0F 32, WRMSR 0F 30 (2 bytes); XSETBV 0F 01 D1,
; MOV CRn,reg 0F 22 /r with mod=11 (3 bytes, no prefixes used here).
isr_gp:
        push    rax
        push    rbx
        mov     rax, [rsp + 16]         ; error code
        mov     [rel gp_err], eax
        mov     rbx, [rsp + 24]         ; RIP of the faulting instruction
        cmp     byte [rbx], 0x0F
        jne     .unknown
        mov     al, [rbx + 1]
        cmp     al, 0x30
        je      .len2
        cmp     al, 0x32
        je      .len2
        cmp     al, 0x01
        je      .grp7
        cmp     al, 0x22
        jne     .unknown
        cmp     byte [rbx + 2], 0xC0
        jb      .unknown
        jmp     .len3
.grp7:  cmp     byte [rbx + 2], 0xD1
        jne     .unknown
.len3:  add     qword [rsp + 24], 3
        jmp     .done
.len2:  add     qword [rsp + 24], 2
.done:  inc     dword [rel gp_count]
        pop     rbx
        pop     rax
        add     rsp, 8                  ; drop the error code
        iretq
.unknown:
        mov     eax, 13
        mov     rcx, rbx
        jmp     fatal

; #UD (vector 6, no error code). Skips VMCALL 0F 01 C1, and XSETBV/XGETBV
; 0F 01 D1/D0 (which #UD if CR4.OSXSAVE did not stick), 3 bytes each.
isr_ud:
        push    rax
        push    rbx
        mov     rbx, [rsp + 16]
        cmp     byte [rbx], 0x0F
        jne     .unknown
        cmp     byte [rbx + 1], 0x01
        jne     .unknown
        mov     al, [rbx + 2]
        cmp     al, 0xC1
        je      .skip
        cmp     al, 0xD1
        je      .skip
        cmp     al, 0xD0
        jne     .unknown
.skip:  add     qword [rsp + 16], 3
        inc     dword [rel ud_count]
        pop     rbx
        pop     rax
        iretq
.unknown:
        mov     eax, 6
        mov     rcx, rbx
        jmp     fatal

; NMI (vector 2). First entry: ask for a second NMI, spin, and record
; whether it got in before our IRETQ (it must not).
isr_nmi:
        push    rax
        push    rcx
        push    rdx
        inc     dword [rel nmi_cnt]
        mov     rcx, [rsp + 24]         ; interrupted RIP
        cmp     dword [rel nmi_cnt], 1
        jne     .second
        mov     [rel nmi_rip1], rcx
        mov     eax, CMD_NMI
        mov     dx, TEST_PORT
        out     dx, eax
        mov     ecx, 10000
.spin:  dec     ecx
        jnz     .spin
        cmp     dword [rel nmi_cnt], 1
        je      .out
        mov     dword [rel nmi_nested], 1
        jmp     .out
.second:
        mov     [rel nmi_rip2], rcx
.out:   pop     rdx
        pop     rcx
        pop     rax
        iretq

isr_40:
        push    rax
        inc     dword [rel cnt40]
        mov     rax, [rsp + 8]
        mov     [rel rip40], rax
        pop     rax
        iretq

isr_41:
        push    rax
        inc     dword [rel cnt41]
        mov     rax, [rsp + 8]
        mov     [rel rip41], rax
        pop     rax
        iretq

; Catch-all stubs: 10 bytes each, "push vector; jmp catch_all".
STUB_SIZE equ 10
stubs:
%assign v 0
%rep 256
        push    strict dword v
        jmp     strict near catch_all
%assign v v + 1
%endrep
        times (($ - stubs) - 256 * STUB_SIZE) db 0     ; assert: not longer
        times ((256 * STUB_SIZE) - ($ - stubs)) db 0   ; assert: not shorter

; [rsp] = vector, then the error code for vectors 8, 10-14, 17, 21, 29, 30
; (SDM Vol 3A 6.15 / Table 6-1), then RIP.
catch_all:
        mov     rax, [rsp]
        mov     rcx, [rsp + 8]
        cmp     rax, 31
        ja      fatal
        mov     edx, 0x60227D00         ; vectors that push an error code
        bt      edx, eax
        jnc     fatal
        mov     rcx, [rsp + 16]
; eax = vector, rcx = RIP: "FAIL unexpected vector <n> rip=<hex>", halt.
fatal:
        cld
        lea     rsi, [rel s_unexpected]
        call    puts
        call    put_dec
        lea     rsi, [rel s_rip]
        call    puts
        mov     rax, rcx
        call    put_hex
        call    newline
        jmp     halt

; ---------------------------------------------------------------------------
; Data
; ---------------------------------------------------------------------------
s_ok:           db "ok ", 0
s_fail:         db "FAIL ", 0
s_faults_gp:    db " faults gp=", 0
s_ud:           db " ud=", 0
s_done:         db "DONE long64 ", 0
s_unexpected:   db "FAIL unexpected vector ", 0
s_rip:          db " rip=", 0
s_rep_outs:     db "rep-outs ok", 10
s_rep_outs_len  equ $ - s_rep_outs

align 8
gdt:    dq 0
        dq 0x00AF9A000000FFFF   ; 0x08: 64-bit code, DPL 0 (L=1, D=0)
        dq 0x00CF92000000FFFF   ; 0x10: data, flat
gdt_end:

align 8
        dw 0, 0, 0
gdt_desc:
        dw gdt_end - gdt - 1
        dq gdt
        dw 0, 0, 0
idt_desc:
        dw 256 * 16 - 1
        dq idt

align 8
n_ok:       dd 0
n_total:    dd 0
gp_count:   dd 0
gp_snap:    dd 0
gp_exp:     dd 0
gp_err:     dd 0
ud_count:   dd 0
ud_snap:    dd 0
ud_exp:     dd 0
cnt40:      dd 0
cnt41:      dd 0
nmi_cnt:    dd 0
nmi_nested: dd 0
            dd 0
rip40:      dq 0
rip41:      dq 0
nmi_rip1:   dq 0
nmi_rip2:   dq 0
scratch:    times 64 db 0

ins_guard0: dd 0
ins_d:      times 4 dd 0
ins_guard1: dd 0
ins_b:      times 4 db 0
ins_guard2: dd 0
ins_end:

align 16
idt:        times 256 * 16 db 0
