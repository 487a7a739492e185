; lapic.asm - long64 guest for the virtual local APIC (SDM Vol. 3A ch. 11),
; run with two vCPUs: `guest=long64 name=lapic vcpus=2`.
;
; vCPU 0 (the BSP, APIC ID 0) enters at 0x100000 in 64-bit mode as every
; long64 guest (guests/README.md); vCPU 1 (APIC ID 1) waits for
; INIT-SIPI-SIPI. Only the BSP prints: the AP reports through memory
; (ap_* variables) and the BSP checks and prints. Each check prints
; "ok <name>" or "FAIL <name> <detail>", then "DONE lapic <ok>/<total>".
;
;   lapic-regs          ID = 0, version 0x00060010, SVR 0xFF after reset and
;                       0x1FF after the enable, TPR write/read (PPR follows)
;   ap-start            INIT, SIPI, SIPI (vector 0x08: the trampoline copied to
;                       0x8000); the AP goes real mode -> 32-bit protected mode
;                       (flat, its own GDT, no paging), records its EDX at
;                       reset (= CPUID.01H:EAX), its ID register
;                       (0x01000000), SVR 0xFF and LVT timer 0x10000 (power-up
;                       state) and SVR 0x1FF after enabling its APIC, and
;                       raises ap_up
;   ipi-ap-to-bsp       the AP sends fixed vector 0x50 to APIC ID 0: counted
;                       once by the BSP's handler (EOI)
;   ipi-bsp-to-ap       the BSP sends 0x51 to APIC ID 1 (the AP sleeps in
;                       STI; HLT with its own 32-bit IDT), then 0x52 with the
;                       shorthand "all excluding self": the AP counts one of
;                       each, the BSP none
;   timer-periodic      periodic mode, divide by 1, P = 2,000,000, vector
;                       0x40: K = 10 interrupts take K periods within one
;                       (figures in the line)
;   timer-hlt-wake      one-shot, vector 0x41, wakes STI; HLT; the saved RIP is
;                       the instruction after HLT; the current count is 0 then
;   timer-tsc-deadline  TSC-deadline mode, vector 0x42, IA32_TSC_DEADLINE =
;                       RDTSC + D: fires once, not before the deadline, and the
;                       MSR reads 0 afterwards (late=<ticks> in the line)
;   x2apic              IA32_APIC_BASE EXTD|EN (BSP bit kept), ID MSR 0x802 = 0,
;                       version MSR 0x803 = 0x00060010, LDR 0x80D = 1, SVR kept;
;                       #GP for WRMSR ID, RDMSR EOI, EOI of 1, x2APIC -> xAPIC;
;                       SELF IPI (0x83F) vector 0x53 held by TPR 0x50 (even
;                       with IF = 1), after TPR 0x40 held while IF = 0 and
;                       delivered once after STI; NOP (saved RIP = the second
;                       NOP); EOI through MSR 0x80B clears its ISR bit
;   ap-init-reset       with the AP parked (CLI; HLT), its APIC enabled, LVT
;                       timer 0x5E, TPR 0xE0 and vector 0x51 pending in its
;                       IRR, the BSP sends INIT, SIPI, SIPI through the x2APIC
;                       ICR (MSR 0x830): the AP starts again and reads SVR
;                       0xFF, LVT timer 0x10000, IRR empty, TPR 0, its ID
;                       0x01000000 and EDX = the signature (INIT resets the
;                       APIC but its ID, SDM 11.4.7.3)
;   ap-cli-hlt          the AP parked in CLI; HLT (TPR 0xE0) gets fixed vector
;                       0xF1: it stays halted (IF = 0 masks it; SDM Vol. 2A
;                       HLT) while the BSP sleeps 20 ms on the watchdog; the
;                       AP counts every return from that HLT
;
; The BSP's identity map covers [0, 1 GiB); the guest maps the APIC page
; (0xFEE00000, a 2 MiB UC page) through its own page directory in PDPT[3].
; xAPIC registers are read and written with 32-bit MOVs (A1/A3 with a 64-bit
; moffs on the BSP, absolute disp32 on the AP).
;
; Waits for the other vCPU spin (STI, PAUSE) with a TSC bound (WAIT_TICKS):
; the vCPUs share one pCPU, so the other one runs when the spinning one's
; slice ends. HLT waits for the timers are bounded by a watchdog from the
; test control port (vector 0x41 after WD_MS ms, no EOI); the 0x41 handler
; tells it from the APIC timer's 0x41 by the vector's ISR bit.
;
; The AP's exceptions and unexpected vectors are recorded (ap_fault) and it
; halts; the BSP reports them as "ap-fault=<vector << 32 | eip>". The BSP's
; own unexpected vectors print "FAIL unexpected vector <n> rip=<hex>" and
; halt. #GP on RDMSR/WRMSR is counted and skipped (report_ok turns an
; unexpected count into "FAIL <name> faults gp=<n>").
;
; Build: nasm -f bin -o lapic.bin lapic.asm

bits 64
org 0x100000

DEBUG_PORT      equ 0xE9
TEST_PORT       equ 0xEA
CMD_TIMER       equ 0x0003              ; | ms << 8: vector 0x41 after ms (test port)
WD_MS           equ 100                 ; watchdog for HLT waits
WD_NEVER        equ 0xFFFFFF            ; "disarm": re-arm 4.6 hours ahead

KERNEL_CS       equ 0x08
KERNEL_DS       equ 0x10

LAPIC           equ 0xFEE00000
APIC_ID         equ 0x020
APIC_VER        equ 0x030
APIC_TPR        equ 0x080
APIC_PPR        equ 0x0A0
APIC_EOI        equ 0x0B0
APIC_SVR        equ 0x0F0
APIC_ISR2       equ 0x120               ; ISR bits 64-95 (vectors 0x40-0x5F)
APIC_IRR2       equ 0x220               ; IRR bits 64-95
APIC_ICR_LO     equ 0x300
APIC_ICR_HI     equ 0x310
APIC_LVT_TIMER  equ 0x320
APIC_TMR_ICR    equ 0x380               ; timer initial count
APIC_TMR_CCR    equ 0x390               ; timer current count
APIC_TMR_DCR    equ 0x3E0

VERSION         equ 0x00060010
ICR_BUSY        equ 1 << 12             ; delivery status
ICR_INIT        equ 0x4500              ; INIT, assert, edge, physical
ICR_SIPI        equ 0x4600              ; start-up | vector
ICR_FIXED       equ 0x4000              ; fixed, assert, edge, physical | vector
ICR_ALL_BUT_SELF equ 3 << 18            ; destination shorthand 11b
LVT_MASK        equ 1 << 16
LVT_PERIODIC    equ 1 << 17
LVT_TSC_DL      equ 2 << 17
DCR_DIV1        equ 0xB

MSR_APIC_BASE   equ 0x1B
MSR_TSC_DL      equ 0x6E0
MSR_X2_ID       equ 0x802
MSR_X2_VER      equ 0x803
MSR_X2_TPR      equ 0x808
MSR_X2_EOI      equ 0x80B
MSR_X2_LDR      equ 0x80D
MSR_X2_SVR      equ 0x80F
MSR_X2_ISR2     equ 0x812               ; ISR bits 64-95
MSR_X2_IRR2     equ 0x822               ; IRR bits 64-95
MSR_X2_ICR      equ 0x830               ; 64 bits: destination in 63:32
MSR_X2_SELF_IPI equ 0x83F

AP_TRAMP        equ 0x8000              ; SIPI vector 0x08
AP_VECTOR       equ AP_TRAMP >> 12
AP_STACK        equ 0x70000
AP_PARK_TPR     equ 0xE0                ; the parked AP's TPR: blocks 0x51, not 0xF1

TIMER_P         equ 2000000             ; periodic: TSC ticks per period (divide by 1)
TIMER_K         equ 10                  ; periods measured
ONESHOT_COUNT   equ 1000000
DEADLINE_D      equ 2000000
WAIT_TICKS      equ 200000000           ; bound of a spin wait for the other vCPU

; ---------------------------------------------------------------------------
; Check scaffolding (as long64.asm)
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

; xAPIC register access (BSP, 64-bit): eax = APIC[reg] / APIC[reg] = value
%macro LRD 1
        mov     eax, [qword LAPIC + %1]
%endmacro
%macro LWR 2
        mov     eax, %2
        mov     [qword LAPIC + %1], eax
%endmacro

; rax = TSC (64 bits); clobbers rdx
%macro TSC 0
        rdtsc
        shl     rdx, 32
        or      rax, rdx
%endmacro

; ---------------------------------------------------------------------------
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
        xor     eax, eax
        mov     fs, ax
        mov     gs, ax
        call    idt_init
        lidt    [rel idt_desc]
        call    ap_idt_init
        call    map_apic

        call    t_regs
        call    t_ap_start
        call    t_ipi_ap_bsp
        call    t_ipi_bsp_ap
        call    t_timer_periodic
        call    t_timer_hlt
        call    t_tsc_deadline
        call    t_x2apic
        call    t_ap_init_reset
        call    t_ap_cli_hlt

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

; Map the APIC page: PDPT[3] (3-4 GiB) -> apic_pd, whose entry for
; 0xFEE00000 is a 2 MiB page, PCD|PWT (SDM Vol. 3A 4.5, 11.4.1: the APIC
; page must be strong uncacheable).
map_apic:
        mov     rax, cr3
        and     rax, ~0xFFF
        mov     rdx, 0x000FFFFFFFFFF000
        mov     rax, [rax]              ; PML4[0]
        and     rax, rdx                ; PDPT
        lea     rcx, [rel apic_pd]
        mov     dword [rcx + ((LAPIC >> 21) & 511) * 8], LAPIC | 0x9B  ; P RW PWT PCD PS
        or      rcx, 3
        mov     [rax + 3 * 8], rcx
        mov     rax, cr3
        mov     cr3, rax
        ret

; ---------------------------------------------------------------------------
; 1. Registers of the BSP's APIC
; ---------------------------------------------------------------------------
t_regs:
        CHECK   "lapic-regs"
        LRD     APIC_ID
        test    eax, eax
        jnz     .fid
        LRD     APIC_VER
        cmp     eax, VERSION
        jne     .fver
        LRD     APIC_SVR
        cmp     eax, 0xFF               ; reset value (SDM 11.4.7.1)
        jne     .fsvr0
        LWR     APIC_SVR, 0x1FF         ; APIC software enable, spurious vector 0xFF
        LRD     APIC_SVR
        cmp     eax, 0x1FF
        jne     .fsvr
        LWR     APIC_TPR, 0x20
        LRD     APIC_TPR
        cmp     eax, 0x20
        jne     .ftpr
        LRD     APIC_PPR                ; nothing in service: PPR = TPR (11.8.3.1)
        cmp     eax, 0x20
        jne     .fppr
        LWR     APIC_TPR, 0
        LRD     APIC_TPR
        test    eax, eax
        jnz     .ftpr0
        PASS
.fid:   FAIL    "id", rax
.fver:  FAIL    "version", rax
.fsvr0: FAIL    "svr-reset", rax
.fsvr:  FAIL    "svr", rax
.ftpr:  FAIL    "tpr", rax
.fppr:  FAIL    "ppr", rax
.ftpr0: FAIL    "tpr-0", rax

; ---------------------------------------------------------------------------
; 2. INIT-SIPI-SIPI (SDM Vol. 3A 9.4.4.1, delays shortened: this is virtual)
; ---------------------------------------------------------------------------
t_ap_start:
        CHECK   "ap-start"
        lea     rsi, [rel ap_tramp]
        mov     edi, AP_TRAMP
        mov     ecx, ap_tramp_len
        rep movsb
        LWR     APIC_ICR_HI, 1 << 24
        LWR     APIC_ICR_LO, ICR_INIT
        call    icr_idle
        jc      .fbusy
        mov     ecx, 100000             ; "10 ms"
        call    delay
        mov     ebx, 2                  ; two SIPIs
.sipi:  LWR     APIC_ICR_HI, 1 << 24
        LWR     APIC_ICR_LO, ICR_SIPI | AP_VECTOR
        call    icr_idle
        jc      .fbusy
        mov     ecx, 20000              ; "200 us"
        call    delay
        dec     ebx
        jnz     .sipi
        lea     rdi, [rel ap_up]
        mov     esi, 1
        call    wait_ge
        cmp     eax, 2
        je      .ffault
        test    eax, eax
        jnz     .ftime
        mov     eax, [rel ap_id]
        cmp     eax, 0x01000000
        jne     .fid
        mov     eax, [rel ap_svr0]      ; power-up state (11.4.7.1)
        cmp     eax, 0xFF
        jne     .fsvr0
        mov     eax, [rel ap_lvt0]
        cmp     eax, LVT_MASK
        jne     .flvt0
        mov     eax, [rel ap_svr]
        cmp     eax, 0x1FF
        jne     .fsvr
        mov     eax, 1
        xor     ecx, ecx
        cpuid
        mov     ebx, [rel ap_edx]       ; EDX after INIT = CPUID.01H:EAX (Table 9-1)
        cmp     eax, ebx
        jne     .fedx
        PASS
.fbusy:  FAIL   "icr-busy", rax
.ffault: call   ap_fault_value
         FAIL   "ap-fault", rax
.ftime:  FAIL   "timeout-ap_up", 0
.fid:    FAIL   "ap-id", rax
.fsvr0:  FAIL   "ap-svr-at-start", rax
.flvt0:  FAIL   "ap-lvt-timer-at-start", rax
.fsvr:   FAIL   "ap-svr", rax
.fedx:   FAIL   "ap-edx", rbx

; ---------------------------------------------------------------------------
; 3. Fixed IPI from the AP to the BSP
; ---------------------------------------------------------------------------
t_ipi_ap_bsp:
        CHECK   "ipi-ap-to-bsp"
        mov     dword [rel cnt50], 0
        mov     dword [rel ap_go50], 1  ; the AP spins on this, then sends
        lea     rdi, [rel cnt50]
        mov     esi, 1
        call    wait_ge                 ; IF = 1 while waiting
        cmp     eax, 2
        je      .ffault
        test    eax, eax
        jnz     .ftime
        lea     rdi, [rel ap_sent50]    ; the AP is done sending
        mov     esi, 1
        call    wait_ge
        test    eax, eax
        jnz     .ftime2
        mov     eax, [rel cnt50]
        cmp     eax, 1
        jne     .fcount
        LRD     APIC_ISR2               ; the handler's EOI left nothing in service
        test    eax, eax
        jnz     .fisr
        PASS
.ffault: call   ap_fault_value
         FAIL   "ap-fault", rax
.ftime:  FAIL   "timeout-count", 0
.ftime2: FAIL   "timeout-ap-sent", 0
.fcount: FAIL   "count", rax
.fisr:   FAIL   "isr", rax

; ---------------------------------------------------------------------------
; 4. Fixed IPI from the BSP to the AP, and "all excluding self"
; ---------------------------------------------------------------------------
t_ipi_bsp_ap:
        CHECK   "ipi-bsp-to-ap"
        mov     dword [rel cnt51], 0
        mov     dword [rel cnt52], 0
        LWR     APIC_ICR_HI, 1 << 24
        LWR     APIC_ICR_LO, ICR_FIXED | 0x51
        call    icr_idle
        jc      .fbusy
        lea     rdi, [rel ap_cnt51]
        mov     esi, 1
        call    wait_ge
        cmp     eax, 2
        je      .ffault
        test    eax, eax
        jnz     .ftime51
        LWR     APIC_ICR_HI, 0xFF << 24 ; ignored with a shorthand
        LWR     APIC_ICR_LO, ICR_ALL_BUT_SELF | ICR_FIXED | 0x52
        call    icr_idle
        jc      .fbusy
        lea     rdi, [rel ap_cnt52]
        mov     esi, 1
        call    wait_ge                 ; IF = 1: a copy to self would arrive here
        cmp     eax, 2
        je      .ffault
        test    eax, eax
        jnz     .ftime52
        sti
        nop
        nop
        cli
        mov     eax, [rel cnt52]
        test    eax, eax
        jnz     .fself52
        mov     eax, [rel cnt51]
        test    eax, eax
        jnz     .fself51
        mov     eax, [rel ap_cnt51]
        cmp     eax, 1
        jne     .fap51
        mov     eax, [rel ap_cnt52]
        cmp     eax, 1
        jne     .fap52
        PASS
.fbusy:   FAIL  "icr-busy", rax
.ffault:  call  ap_fault_value
          FAIL  "ap-fault", rax
.ftime51: FAIL  "timeout-ap-0x51", 0
.ftime52: FAIL  "timeout-ap-0x52", 0
.fself52: FAIL  "bsp-got-0x52", rax
.fself51: FAIL  "bsp-got-0x51", rax
.fap51:   FAIL  "ap-count-0x51", rax
.fap52:   FAIL  "ap-count-0x52", rax

; ---------------------------------------------------------------------------
; 5. Periodic timer: K interrupts take K periods (SDM 11.5.4)
; ---------------------------------------------------------------------------
t_timer_periodic:
        CHECK   "timer-periodic"
        mov     dword [rel cnt40], 0
        mov     qword [rel t40], 0
        LWR     APIC_LVT_TIMER, LVT_PERIODIC | 0x40
        LWR     APIC_TMR_DCR, DCR_DIV1
        call    wd_arm
        TSC
        mov     r12, rax                ; t0
        LWR     APIC_TMR_ICR, TIMER_P
        LRD     APIC_TMR_CCR            ; counting down from P
        mov     r14d, eax
.loop:  sti
        hlt
        cli
        cmp     byte [rel wd_fired], 0
        jne     .stop
        cmp     dword [rel cnt40], TIMER_K
        jb      .loop
.stop:  TSC
        mov     rbx, rax                ; when the wait ended
        LWR     APIC_TMR_ICR, 0         ; stop
        LWR     APIC_LVT_TIMER, LVT_MASK | 0x40
        call    wd_disarm
        mov     ecx, TIMER_P / 4        ; nothing more arrives
        call    delay_sti
        LRD     APIC_TMR_CCR
        mov     r15d, eax
        mov     r13d, [rel cnt40]
        mov     rax, [rel t40]
        test    rax, rax                ; the K-th interrupt never came: up to the end of the wait
        cmovz   rax, rbx
        sub     rax, r12
        mov     r12, rax                ; elapsed t0 -> K-th handler
        lea     rdx, [rel .s_wd]
        cmp     byte [rel wd_fired], 0
        jne     .fail
        lea     rdx, [rel .s_cnt]
        cmp     r13d, TIMER_K
        jne     .fail
        lea     rdx, [rel .s_ccr0]
        test    r14d, r14d
        jz      .fail
        cmp     r14d, TIMER_P
        ja      .fail
        lea     rdx, [rel .s_ccr1]
        test    r15d, r15d
        jnz     .fail
        lea     rdx, [rel .s_short]
        cmp     r12, (TIMER_K - 1) * TIMER_P
        jb      .fail
        lea     rdx, [rel .s_long]
        cmp     r12, (TIMER_K + 1) * TIMER_P
        ja      .fail
        lea     rsi, [rel .name]
        call    ok_begin
        jmp     .figs
.fail:  lea     rsi, [rel .name]
        call    fail_begin
.figs:  lea     rsi, [rel s_fired]
        call    puts
        mov     eax, r13d
        call    put_dec
        lea     rsi, [rel s_ticks]
        call    puts
        mov     rax, r12
        call    put_dec
        lea     rsi, [rel s_period]
        call    puts
        mov     eax, TIMER_P
        call    put_dec
        lea     rsi, [rel s_periods]    ; elapsed / P with two decimals
        call    puts
        mov     rax, r12
        mov     ecx, 100
        mul     rcx
        mov     ecx, TIMER_P
        div     rcx
        xor     edx, edx
        mov     ecx, 100
        div     rcx
        call    put_dec
        mov     al, '.'
        out     DEBUG_PORT, al
        mov     rax, rdx
        cmp     eax, 10
        jae     .two
        mov     al, '0'
        out     DEBUG_PORT, al
        mov     rax, rdx
.two:   call    put_dec
        mov     al, ' '
        out     DEBUG_PORT, al
        mov     al, 'c'
        out     DEBUG_PORT, al
        mov     al, 'c'
        out     DEBUG_PORT, al
        mov     al, 'r'
        out     DEBUG_PORT, al
        mov     al, '='
        out     DEBUG_PORT, al
        mov     eax, r14d
        call    put_dec
        call    newline
        ret
.s_wd:    db "watchdog", 0
.s_cnt:   db "count", 0
.s_ccr0:  db "ccr-after-arming", 0
.s_ccr1:  db "ccr-after-stop", 0
.s_short: db "too-short", 0
.s_long:  db "too-long", 0

; ---------------------------------------------------------------------------
; 6. One-shot timer wakes HLT (SDM Vol. 2 HLT: resumes after HLT)
; ---------------------------------------------------------------------------
t_timer_hlt:
        CHECK   "timer-hlt-wake"
        mov     dword [rel cnt41], 0
        mov     qword [rel rip41], 0
        LWR     APIC_LVT_TIMER, 0x41    ; one-shot
        LWR     APIC_TMR_DCR, DCR_DIV1
        call    wd_arm
        LWR     APIC_TMR_ICR, ONESHOT_COUNT
        sti
        hlt
.after: cli
        call    wd_disarm
        cmp     byte [rel wd_fired], 0
        jne     .fwd
        mov     eax, [rel cnt41]
        cmp     eax, 1
        jne     .fcount
        lea     rbx, [rel .after]
        mov     rax, [rel rip41]
        cmp     rax, rbx
        jne     .frip
        LRD     APIC_TMR_CCR            ; a one-shot timer stays at 0
        test    eax, eax
        jnz     .fccr
        mov     ecx, ONESHOT_COUNT      ; and does not fire again
        call    delay_sti
        mov     eax, [rel cnt41]
        cmp     eax, 1
        jne     .fagain
        LWR     APIC_LVT_TIMER, LVT_MASK | 0x41
        PASS
.fwd:    mov    eax, [rel cnt41]
         FAIL   "watchdog-count", rax
.fcount: FAIL   "count", rax
.frip:   FAIL   "rip", rax
.fccr:   FAIL   "ccr", rax
.fagain: FAIL   "count-later", rax

; ---------------------------------------------------------------------------
; 7. TSC-deadline mode (SDM 11.5.4.1)
; ---------------------------------------------------------------------------
t_tsc_deadline:
        CHECK   "timer-tsc-deadline"
        mov     dword [rel cnt42], 0
        mov     qword [rel t42], 0
        mov     eax, 1
        xor     ecx, ecx
        cpuid
        bt      ecx, 24
        jnc     .fcpuid
        LWR     APIC_LVT_TIMER, LVT_TSC_DL | 0x42
        mfence                          ; order the LVT write before WRMSR (11.5.4.1)
        call    wd_arm
        TSC
        add     rax, DEADLINE_D
        mov     r12, rax                ; deadline
        mov     rdx, rax
        shr     rdx, 32
        mov     ecx, MSR_TSC_DL
        wrmsr
        rdmsr                           ; reads the armed deadline
        shl     rdx, 32
        or      rax, rdx
        cmp     rax, r12
        jne     .fread
.loop:  sti
        hlt
        cli
        cmp     byte [rel wd_fired], 0
        jne     .fwd
        cmp     dword [rel cnt42], 0
        je      .loop
        call    wd_disarm
        mov     rax, [rel t42]
        cmp     rax, r12
        jb      .fearly
        mov     ecx, MSR_TSC_DL         ; disarmed and cleared when it fired
        rdmsr
        shl     rdx, 32
        or      rax, rdx
        jnz     .fafter
        mov     ecx, DEADLINE_D         ; no second interrupt
        call    delay_sti
        mov     eax, [rel cnt42]
        cmp     eax, 1
        jne     .fcount
        LWR     APIC_LVT_TIMER, LVT_MASK | 0x42
        call    check_faults
        jne     .ffaults
        lea     rsi, [rel .name]
        call    ok_begin
        lea     rsi, [rel s_late]
        call    puts
        mov     rax, [rel t42]
        sub     rax, r12
        call    put_dec
        call    newline
        ret
.ffaults: PASS                          ; report_ok prints the fault counts
.fcpuid: FAIL   "cpuid-ecx", rcx
.fread:  FAIL   "msr-read", rax
.fwd:    call   wd_disarm
         FAIL   "watchdog", 0
.fearly: sub    rax, r12
         neg    rax
         FAIL   "early-by", rax
.fafter: FAIL   "msr-after-fire", rax
.fcount: FAIL   "count", rax

; ---------------------------------------------------------------------------
; 8. x2APIC mode (SDM 11.12)
; ---------------------------------------------------------------------------
t_x2apic:
        CHECK   "x2apic"
        mov     eax, 1
        xor     ecx, ecx
        cpuid
        bt      ecx, 21
        jnc     .fcpuid
        mov     ecx, MSR_APIC_BASE
        rdmsr
        mov     ebx, eax
        and     eax, 0x100              ; keep BSP
        or      eax, 0xFEE00C00         ; EN | EXTD
        mov     r12d, eax
        xor     edx, edx
        wrmsr
        rdmsr
        cmp     eax, r12d
        jne     .fbase
        cmp     eax, 0xFEE00D00         ; the BSP flag was there
        jne     .fbase
        mov     ecx, MSR_X2_ID
        rdmsr
        shl     rdx, 32
        or      rax, rdx
        jnz     .fid
        mov     ecx, MSR_X2_VER
        rdmsr
        cmp     eax, VERSION
        jne     .fver
        mov     ecx, MSR_X2_LDR         ; logical ID from the ID (11.12.10.2): 1 << 0
        rdmsr
        cmp     eax, 1
        jne     .fldr
        mov     ecx, MSR_X2_SVR         ; the switch keeps the enable
        rdmsr
        cmp     eax, 0x1FF
        jne     .fsvr
        ; #GP cases (11.12.1.2, 11.12.1.3, 11.12.5): WRMSR to the read-only
        ; ID, RDMSR of the write-only EOI, a non-zero EOI, x2APIC -> xAPIC.
        mov     dword [rel gp_exp], 4
        mov     ecx, MSR_X2_ID
        mov     eax, 5
        xor     edx, edx
        wrmsr                           ; -> #GP
        mov     ecx, MSR_X2_EOI
        rdmsr                           ; -> #GP
        mov     ecx, MSR_X2_EOI
        mov     eax, 1
        xor     edx, edx
        wrmsr                           ; -> #GP
        mov     ecx, MSR_APIC_BASE
        mov     eax, r12d
        and     eax, ~0x400             ; EXTD off, EN on
        xor     edx, edx
        wrmsr                           ; -> #GP
        rdmsr
        cmp     eax, r12d
        jne     .fbase2
        ; SELF IPI 0x53 while TPR = 0x50 (class 5 does not beat class 5,
        ; 11.8.3.1): pending, not delivered even with IF = 1
        mov     ecx, MSR_X2_TPR
        mov     eax, 0x50
        xor     edx, edx
        wrmsr
        mov     dword [rel cnt53], 0
        mov     qword [rel rip53], 0
        mov     dword [rel isr53], 0
        mov     ecx, MSR_X2_SELF_IPI
        mov     eax, 0x53
        xor     edx, edx
        wrmsr
        mov     ecx, MSR_X2_IRR2
        rdmsr
        cmp     eax, 1 << (0x53 - 64)
        jne     .firr
        sti
        nop
        nop
        nop
        cli
        mov     eax, [rel cnt53]
        test    eax, eax
        jnz     .ftpr
        mov     ecx, MSR_X2_TPR         ; TPR 0x40: 0x53 may go, once IF = 1
        mov     eax, 0x40
        xor     edx, edx
        wrmsr
        nop
        mov     eax, [rel cnt53]
        test    eax, eax
        jnz     .fearly
        sti
        nop                             ; STI shadow (SDM Vol. 2 STI)
.window:
        nop
        cli
        mov     eax, [rel cnt53]
        cmp     eax, 1
        jne     .fcount
        lea     rbx, [rel .window]
        mov     rax, [rel rip53]
        cmp     rax, rbx
        jne     .frip
        mov     eax, [rel isr53]        ; in service inside the handler
        cmp     eax, 1 << (0x53 - 64)
        jne     .fisr
        mov     ecx, MSR_X2_ISR2        ; EOI through MSR 0x80B cleared it
        rdmsr
        test    eax, eax
        jnz     .feoi
        mov     ecx, MSR_X2_TPR
        xor     eax, eax
        xor     edx, edx
        wrmsr
        PASS
.fcpuid: FAIL   "cpuid-ecx", rcx
.fbase:  FAIL   "apic-base", rax
.fbase2: FAIL   "apic-base-after-gp", rax
.fid:    FAIL   "id", rax
.fver:   FAIL   "version", rax
.fldr:   FAIL   "ldr", rax
.fsvr:   FAIL   "svr", rax
.firr:   FAIL   "irr", rax
.ftpr:   FAIL   "delivered-under-tpr", rax
.fearly: FAIL   "count-with-if0", rax
.fcount: FAIL   "count", rax
.frip:   FAIL   "rip", rax
.fisr:   FAIL   "isr-in-handler", rax
.feoi:   FAIL   "isr-after-eoi", rax

; ---------------------------------------------------------------------------
; 9. INIT resets the AP's APIC but its ID (SDM Vol. 3A 11.4.7.3; 9.4.4.1)
; ---------------------------------------------------------------------------
; The AP is parked (CLI; HLT) with its APIC enabled (SVR 0x1FF), LVT timer
; 0x5E and TPR 0xE0; the BSP (now in x2APIC mode: ICR = MSR 0x830) leaves
; vector 0x51 in its IRR (blocked twice: IF = 0 and TPR), then INIT, SIPI,
; SIPI. The restarted AP records its registers before touching them: SVR
; 0xFF, LVT timer masked (0x10000), IRR empty, TPR 0, ID still 0x01000000.
t_ap_init_reset:
        CHECK   "ap-init-reset"
        mov     ecx, MSR_X2_ICR
        mov     edx, 1
        mov     eax, ICR_FIXED | 0x51   ; pending: the AP has IF = 0
        wrmsr
        mov     eax, 0xDEADBEEF
        mov     [rel ap_id], eax
        mov     [rel ap_svr0], eax
        mov     [rel ap_lvt0], eax
        mov     [rel ap_irr0], eax
        mov     [rel ap_tpr0], eax
        mov     [rel ap_edx], eax
        mov     dword [rel ap_up], 0
        mov     ecx, MSR_X2_ICR
        mov     edx, 1
        mov     eax, ICR_INIT
        wrmsr
        mov     ecx, 100000
        call    delay
        mov     ebx, 2
.sipi:  mov     ecx, MSR_X2_ICR
        mov     edx, 1
        mov     eax, ICR_SIPI | AP_VECTOR
        wrmsr
        mov     ecx, 20000
        call    delay
        dec     ebx
        jnz     .sipi
        lea     rdi, [rel ap_up]
        mov     esi, 1
        call    wait_ge
        cmp     eax, 2
        je      .ffault
        test    eax, eax
        jnz     .ftime
        mov     eax, [rel ap_starts]
        cmp     eax, 2
        jne     .fstarts
        mov     eax, [rel ap_id]
        cmp     eax, 0x01000000
        jne     .fid
        cmp     dword [rel ap_svr0], 0xFF
        jne     .freset
        cmp     dword [rel ap_lvt0], LVT_MASK
        jne     .freset
        cmp     dword [rel ap_irr0], 0
        jne     .freset
        cmp     dword [rel ap_tpr0], 0
        jne     .freset
        mov     eax, 1
        xor     ecx, ecx
        cpuid
        mov     ebx, [rel ap_edx]
        cmp     eax, ebx
        jne     .fedx
        PASS
.ffault:  call  ap_fault_value
          FAIL  "ap-fault", rax
.ftime:   FAIL  "timeout-ap_up", 0
.fstarts: FAIL  "ap-starts", rax
.fid:     FAIL  "ap-id", rax
.fedx:    FAIL  "ap-edx", rbx
.freset:                                ; all three, as read by the AP
        lea     rsi, [rel .name]
        lea     rdx, [rel .s_after]
        call    fail_begin
        lea     rsi, [rel .s_svr]
        call    puts
        mov     eax, [rel ap_svr0]
        call    put_hex
        lea     rsi, [rel .s_lvt]
        call    puts
        mov     eax, [rel ap_lvt0]
        call    put_hex
        lea     rsi, [rel .s_irr]
        call    puts
        mov     eax, [rel ap_irr0]
        call    put_hex
        lea     rsi, [rel .s_tpr]
        call    puts
        mov     eax, [rel ap_tpr0]
        call    put_hex
        lea     rsi, [rel .s_want]
        call    puts
        call    newline
        ret
.s_after: db "after-init", 0
.s_svr:   db " svr=", 0
.s_lvt:   db " lvt-timer=", 0
.s_irr:   db " irr[95:64]=", 0
.s_tpr:   db " tpr=", 0
.s_want:  db " (want 0xff 0x10000 0x0 0x0)", 0

; ---------------------------------------------------------------------------
; 10. HLT with IF = 0 stays halted on a maskable interrupt (SDM Vol. 2A HLT:
; only an enabled interrupt, NMI, SMI, a debug exception, BINIT#, INIT# or
; RESET# resume it; Vol. 3A 6.8.1: IF = 0 masks INTR)
; ---------------------------------------------------------------------------
; The AP is parked in CLI; HLT with TPR 0xE0. A fixed IPI with vector 0xF1
; (class 15 beats the TPR, so only IF holds it) must leave it halted: the
; AP counts every return from that HLT (ap_hlt_resumed). The BSP sleeps on
; the test port's watchdog meanwhile (a HLT the timer ends even if the AP
; keeps the pCPU busy: the hypervisor bounds each slice by the next timer).
t_ap_cli_hlt:
        CHECK   "ap-cli-hlt"
        mov     dword [rel ap_hlt_resumed], 0
        mov     ecx, MSR_X2_ICR
        mov     edx, 1
        mov     eax, ICR_FIXED | 0xF1
        wrmsr
        mov     byte [rel wd_fired], 0
        mov     eax, CMD_TIMER | (20 << 8)
        mov     dx, TEST_PORT
        out     dx, eax
.sleep: sti
        hlt
        cli
        cmp     byte [rel wd_fired], 0
        je      .sleep
        call    wd_disarm
        cmp     dword [rel ap_fault], 0
        jne     .ffault
        mov     eax, [rel ap_hlt_resumed]
        test    eax, eax
        jnz     .fres
        PASS
.ffault: call   ap_fault_value
         FAIL   "ap-fault", rax
.fres:   FAIL   "ap-hlt-resumed", rax

; ---------------------------------------------------------------------------
; Helpers
; ---------------------------------------------------------------------------

; Wait for the ICR's delivery status to go idle (SDM 11.6.1). CF = 1 if it
; stays busy; eax = the ICR low word.
icr_idle:
        push    rcx
        mov     ecx, 1000
.l:     LRD     APIC_ICR_LO
        test    eax, ICR_BUSY
        jz      .ok
        pause
        dec     ecx
        jnz     .l
        pop     rcx
        stc
        ret
.ok:    pop     rcx
        clc
        ret

; Busy-wait ecx TSC ticks (IF unchanged). Preserves all but flags.
delay:
        push    rax
        push    rbx
        push    rdx
        TSC
        mov     rbx, rax
.l:     pause
        TSC
        sub     rax, rbx
        cmp     rax, rcx
        jb      .l
        pop     rdx
        pop     rbx
        pop     rax
        ret

; The same with IF = 1, back to IF = 0.
delay_sti:
        sti
        call    delay
        cli
        ret

; Spin with IF = 1 until the dword at rdi is >= esi (unsigned), the AP
; reports a fault, or WAIT_TICKS pass. eax = 0 reached, 1 timeout, 2 AP
; fault. Returns with IF = 0.
wait_ge:
        push    rbx
        push    rdx
        TSC
        mov     rbx, rax
        sti
.l:     cmp     [rdi], esi
        jae     .ok
        cmp     dword [rel ap_fault], 0
        jne     .fault
        pause
        TSC
        sub     rax, rbx
        cmp     rax, WAIT_TICKS
        jb      .l
        mov     eax, 1
        jmp     .r
.ok:    xor     eax, eax
        jmp     .r
.fault: mov     eax, 2
.r:     cli
        pop     rdx
        pop     rbx
        ret

; rax = ap_fault_vec << 32 | ap_fault_eip
ap_fault_value:
        mov     eax, [rel ap_fault_vec]
        shl     rax, 32
        mov     ecx, [rel ap_fault_eip]
        or      rax, rcx
        ret

; Watchdog for HLT waits: the test port's delayed vector 0x41 (no EOI).
wd_arm:
        push    rax
        push    rdx
        mov     byte [rel wd_fired], 0
        mov     eax, CMD_TIMER | (WD_MS << 8)
        mov     dx, TEST_PORT
        out     dx, eax
        pop     rdx
        pop     rax
        ret

wd_disarm:
        push    rax
        push    rdx
        mov     eax, CMD_TIMER | (WD_NEVER << 8)
        mov     dx, TEST_PORT
        out     dx, eax
        pop     rdx
        pop     rax
        ret

; ---------------------------------------------------------------------------
; Reporting
; ---------------------------------------------------------------------------

check_begin:
        push    rax
        mov     eax, [rel gp_count]
        mov     [rel gp_snap], eax
        mov     dword [rel gp_exp], 0
        pop     rax
        ret

; ZF = 1 when the #GP count since CHECK is as expected.
check_faults:
        push    rax
        mov     eax, [rel gp_count]
        sub     eax, [rel gp_snap]
        cmp     eax, [rel gp_exp]
        pop     rax
        ret

; rsi = check name: "ok <name>" (or "FAIL <name> faults gp=<n>")
report_ok:
        cld
        call    check_faults
        jne     .bad
        call    ok_begin
        call    newline
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
        call    newline
        inc     dword [rel n_total]
        ret

; rsi = check name, rdx = detail, rax = value: "FAIL <name> <detail>=<hex>"
report_fail:
        cld
        call    fail_begin
        push    rax
        mov     al, '='
        out     DEBUG_PORT, al
        pop     rax
        call    put_hex
        call    newline
        ret

; "ok <name>" without the newline; counts a pass. rsi = name.
ok_begin:
        push    rsi
        lea     rsi, [rel s_ok]
        call    puts
        pop     rsi
        call    puts
        inc     dword [rel n_ok]
        inc     dword [rel n_total]
        ret

; "FAIL <name> <detail>" without the newline; counts a check. rsi = name, rdx = detail.
fail_begin:
        push    rsi
        lea     rsi, [rel s_fail]
        call    puts
        pop     rsi
        call    puts
        push    rax
        mov     al, ' '
        out     DEBUG_PORT, al
        pop     rax
        push    rsi
        mov     rsi, rdx
        call    puts
        pop     rsi
        inc     dword [rel n_total]
        ret

%include "print64.inc"          ; puts, newline, put_hex, put_dec

; ---------------------------------------------------------------------------
; BSP IDT and handlers (64-bit interrupt gates, SDM Vol. 3A 6.14.1)
; ---------------------------------------------------------------------------

idt_init:
        xor     ecx, ecx
        lea     rax, [rel stubs]
.l:     call    set_gate
        add     rax, STUB_SIZE
        inc     ecx
        cmp     ecx, 256
        jb      .l
        mov     ecx, 13
        lea     rax, [rel isr_gp]
        call    set_gate
        mov     ecx, 0x40
        lea     rax, [rel isr_40]
        call    set_gate
        mov     ecx, 0x41
        lea     rax, [rel isr_41]
        call    set_gate
        mov     ecx, 0x42
        lea     rax, [rel isr_42]
        call    set_gate
        mov     ecx, 0x50
        lea     rax, [rel isr_50]
        call    set_gate
        mov     ecx, 0x51
        lea     rax, [rel isr_51]
        call    set_gate
        mov     ecx, 0x52
        lea     rax, [rel isr_52]
        call    set_gate
        mov     ecx, 0x53
        lea     rax, [rel isr_53]
        call    set_gate
        ret

; ecx = vector, rax = handler. Preserves all registers.
set_gate:
        push    rax
        push    rdx
        mov     edx, ecx
        shl     rdx, 4
        add     rdx, idt
        mov     [rdx], ax
        mov     word [rdx + 2], KERNEL_CS
        mov     word [rdx + 4], 0x8E00
        shr     rax, 16
        mov     [rdx + 6], ax
        shr     rax, 16
        mov     [rdx + 8], eax
        mov     dword [rdx + 12], 0
        pop     rdx
        pop     rax
        ret

; #GP: skip RDMSR (0F 32) and WRMSR (0F 30), count.
isr_gp:
        push    rax
        push    rbx
        mov     rbx, [rsp + 24]
        cmp     byte [rbx], 0x0F
        jne     .unknown
        mov     al, [rbx + 1]
        cmp     al, 0x30
        je      .skip
        cmp     al, 0x32
        jne     .unknown
.skip:  add     qword [rsp + 24], 2
        inc     dword [rel gp_count]
        pop     rbx
        pop     rax
        add     rsp, 8
        iretq
.unknown:
        mov     eax, 13
        mov     rcx, rbx
        jmp     fatal

; xAPIC EOI (preserves registers)
%macro EOI 0
        push    rax
        xor     eax, eax
        mov     [qword LAPIC + APIC_EOI], eax
        pop     rax
%endmacro

isr_40:                                 ; periodic timer: the K-th records the TSC
        push    rax
        push    rdx
        inc     dword [rel cnt40]
        cmp     dword [rel cnt40], TIMER_K
        jne     .e
        TSC
        mov     [rel t40], rax
.e:     EOI
        pop     rdx
        pop     rax
        iretq

isr_41:                                 ; one-shot timer, or the watchdog
        push    rax
        mov     eax, [qword LAPIC + APIC_ISR2]
        test    eax, 1 << (0x41 - 64)
        jz      .wd
        inc     dword [rel cnt41]
        mov     rax, [rsp + 8]
        mov     [rel rip41], rax
        EOI
        pop     rax
        iretq
.wd:    mov     byte [rel wd_fired], 1
        pop     rax
        iretq

isr_42:                                 ; TSC deadline: when it ran
        push    rax
        push    rdx
        TSC
        cmp     dword [rel cnt42], 0
        jne     .n
        mov     [rel t42], rax
.n:     inc     dword [rel cnt42]
        EOI
        pop     rdx
        pop     rax
        iretq

isr_50:
        inc     dword [rel cnt50]
        EOI
        iretq

isr_51:
        inc     dword [rel cnt51]
        EOI
        iretq

isr_52:
        inc     dword [rel cnt52]
        EOI
        iretq

isr_53:                                 ; x2APIC self IPI: ISR seen, EOI by MSR
        push    rax
        push    rcx
        push    rdx
        inc     dword [rel cnt53]
        mov     rax, [rsp + 24]
        mov     [rel rip53], rax
        mov     ecx, MSR_X2_ISR2
        rdmsr
        mov     [rel isr53], eax
        mov     ecx, MSR_X2_EOI
        xor     eax, eax
        xor     edx, edx
        wrmsr
        pop     rdx
        pop     rcx
        pop     rax
        iretq

STUB_SIZE equ 10
stubs:
%assign v 0
%rep 256
        push    strict dword v
        jmp     strict near catch_all
%assign v v + 1
%endrep
        times (($ - stubs) - 256 * STUB_SIZE) db 0
        times ((256 * STUB_SIZE) - ($ - stubs)) db 0

; [rsp] = vector, then the error code for 8, 10-14, 17, 21, 29, 30, then RIP
catch_all:
        mov     rax, [rsp]
        mov     rcx, [rsp + 8]
        cmp     rax, 31
        ja      fatal
        mov     edx, 0x60227D00
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

; Build the AP's 32-bit IDT: every vector to its stub, 0x51/0x52 to handlers.
ap_idt_init:
        lea     rdi, [rel ap_idt]
        lea     rax, [rel ap_stubs]
        xor     ecx, ecx
.l:     call    ap_gate
        add     rax, STUB_SIZE
        add     rdi, 8
        inc     ecx
        cmp     ecx, 256
        jb      .l
        lea     rdi, [rel ap_idt + 0x51 * 8]
        lea     rax, [rel ap_isr51]
        call    ap_gate
        lea     rdi, [rel ap_idt + 0x52 * 8]
        lea     rax, [rel ap_isr52]
        call    ap_gate
        ret

; rdi = gate, eax = handler: 32-bit interrupt gate, selector 0x08 (SDM 6.11)
ap_gate:
        push    rdx
        mov     edx, eax
        and     edx, 0xFFFF
        or      edx, 0x08 << 16
        mov     [rdi], edx
        mov     edx, eax
        and     edx, 0xFFFF0000
        or      edx, 0x8E00
        mov     [rdi + 4], edx
        pop     rdx
        ret

; ---------------------------------------------------------------------------
; The AP. Real-mode trampoline, copied to AP_TRAMP and started by the SIPI at
; CS = AP_VECTOR << 8, IP = 0; then 32-bit protected mode in the image.
; ---------------------------------------------------------------------------
bits 16
ap_tramp:
        cli
        mov     ax, cs
        mov     ds, ax
        o32 lgdt [ap_gdt_desc - ap_tramp]
        mov     eax, cr0
        or      al, 1                   ; PE
        mov     cr0, eax
        jmp     dword 0x08:ap_pm32      ; EDX still holds the reset value
        align   4
ap_gdt_desc:
        dw      ap_gdt_end - ap_gdt - 1
        dd      ap_gdt
ap_tramp_len equ $ - ap_tramp

bits 32
ap_pm32:
        mov     ax, 0x10
        mov     ds, ax
        mov     es, ax
        mov     ss, ax
        mov     fs, ax
        mov     gs, ax
        mov     esp, AP_STACK
        mov     [ap_edx], edx
        lidt    [ap_idt_desc]
        mov     eax, [LAPIC + APIC_ID]
        mov     [ap_id], eax
        mov     eax, [LAPIC + APIC_SVR] ; state before this AP touches it:
        mov     [ap_svr0], eax          ; power-up or INIT values (11.4.7)
        mov     eax, [LAPIC + APIC_LVT_TIMER]
        mov     [ap_lvt0], eax
        mov     eax, [LAPIC + APIC_IRR2]
        mov     [ap_irr0], eax
        mov     eax, [LAPIC + APIC_TPR]
        mov     [ap_tpr0], eax
        mov     dword [LAPIC + APIC_SVR], 0x1FF
        mov     eax, [LAPIC + APIC_SVR]
        mov     [ap_svr], eax
        mov     dword [LAPIC + APIC_LVT_TIMER], 0x5E    ; unmasked, not counting: an INIT masks it
        inc     dword [ap_starts]
        cmp     dword [ap_starts], 1    ; first start: the AP prints its own line
        jne     .up                     ; (the BSP is spinning on ap_up, silent)
        mov     esi, ap_hello
        mov     dx, 0xE9
.say:   lodsb
        test    al, al
        jz      .up
        out     dx, al
        jmp     .say
.up:    mov     dword [ap_up], 1
        cmp     dword [ap_sent50], 0    ; restarted by ap-init-reset: straight to idle
        jne     .idle
.go:    pause                           ; the BSP says when to send 0x50
        cmp     dword [ap_go50], 0
        je      .go
        mov     dword [LAPIC + APIC_ICR_HI], 0 << 24
        mov     dword [LAPIC + APIC_ICR_LO], ICR_FIXED | 0x50
        mov     ecx, 1000
.busy:  test    dword [LAPIC + APIC_ICR_LO], ICR_BUSY
        jz      .sent
        pause
        dec     ecx
        jnz     .busy
.sent:  mov     dword [ap_sent50], 1
.idle:  cli                             ; IPIs from the BSP until 0x52 came
        cmp     dword [ap_cnt52], 0
        jne     .park
        sti
        hlt
        jmp     .idle
.park:  mov     dword [LAPIC + APIC_TPR], AP_PARK_TPR
.halt:  cli                             ; parked: only NMI, SMI, INIT, RESET resume
        hlt
        inc     dword [ap_hlt_resumed]
        jmp     .halt

ap_hello: db "ap up: vcpu1 in protected mode", 10, 0

ap_isr51:
        inc     dword [ap_cnt51]
        mov     dword [LAPIC + APIC_EOI], 0
        iretd

ap_isr52:
        inc     dword [ap_cnt52]
        mov     dword [LAPIC + APIC_EOI], 0
        iretd

ap_stubs:
%assign v 0
%rep 256
        push    strict dword v
        jmp     strict near ap_catch
%assign v v + 1
%endrep
        times (($ - ap_stubs) - 256 * STUB_SIZE) db 0
        times ((256 * STUB_SIZE) - ($ - ap_stubs)) db 0

; [esp] = vector, then the error code (8, 10-14, 17, 21, 29, 30), then EIP
ap_catch:
        mov     eax, [esp]
        mov     ecx, [esp + 4]
        cmp     eax, 31
        ja      .rec
        mov     edx, 0x60227D00
        bt      edx, eax
        jnc     .rec
        mov     ecx, [esp + 8]
.rec:   mov     [ap_fault_vec], eax
        mov     [ap_fault_eip], ecx
        mov     dword [ap_fault], 1
.h:     cli
        hlt
        jmp     .h

bits 64

; ---------------------------------------------------------------------------
; Data
; ---------------------------------------------------------------------------
s_ok:           db "ok ", 0
s_fail:         db "FAIL ", 0
s_faults_gp:    db " faults gp=", 0
s_done:         db "DONE lapic ", 0
s_unexpected:   db "FAIL unexpected vector ", 0
s_rip:          db " rip=", 0
s_fired:        db " fired=", 0
s_ticks:        db " ticks=", 0
s_period:       db " period=", 0
s_periods:      db " periods=", 0
s_late:         db " late=", 0

align 8
gdt:    dq 0
        dq 0x00AF9A000000FFFF   ; 0x08: 64-bit code
        dq 0x00CF92000000FFFF   ; 0x10: data, flat
gdt_end:

align 8
ap_gdt: dq 0
        dq 0x00CF9A000000FFFF   ; 0x08: 32-bit code, flat
        dq 0x00CF92000000FFFF   ; 0x10: data, flat
ap_gdt_end:

align 8
        dw 0, 0, 0
gdt_desc:
        dw gdt_end - gdt - 1
        dq gdt
        dw 0, 0, 0
idt_desc:
        dw 256 * 16 - 1
        dq idt
        dw 0
ap_idt_desc:
        dw 256 * 8 - 1
        dd ap_idt

align 8
n_ok:           dd 0
n_total:        dd 0
gp_count:       dd 0
gp_snap:        dd 0
gp_exp:         dd 0
cnt40:          dd 0
cnt41:          dd 0
cnt42:          dd 0
cnt50:          dd 0
cnt51:          dd 0
cnt52:          dd 0
cnt53:          dd 0
isr53:          dd 0
wd_fired:       db 0
align 8
t40:            dq 0
t42:            dq 0
rip41:          dq 0
rip53:          dq 0
; written by the AP
ap_up:          dd 0
ap_id:          dd 0
ap_svr:         dd 0
ap_edx:         dd 0
ap_go50:        dd 0                    ; written by the BSP
ap_sent50:      dd 0
ap_cnt51:       dd 0
ap_cnt52:       dd 0
ap_fault:       dd 0
ap_fault_vec:   dd 0
ap_fault_eip:   dd 0
ap_svr0:        dd 0
ap_lvt0:        dd 0
ap_irr0:        dd 0
ap_starts:      dd 0
ap_tpr0:        dd 0
ap_hlt_resumed: dd 0

align 16
idt:            times 256 * 16 db 0
ap_idt:         times 256 * 8 db 0

align 4096
apic_pd:        times 4096 db 0
