; devices.asm - long64 test guest for the virtual devices of a test VM: the
; vPCI host bridge, the vPIC and the vIOAPIC delivering COM2's interrupt, a
; 4 KiB exchange over two VMs' linked COM2s, and random device I/O without
; heap growth. Run as two VMs whose COM2s are connected:
;     guest=long64 name=dev-a arg=0 link=dev-b
;     guest=long64 name=dev-b arg=1
; arg (RSI) is the VM's role: 0 starts each exchange, 1 answers.
;
; Checks, in order, each "ok <name>" or "FAIL <name> <detail>=<hex>" on port
; 0xE9, then "DONE devices <ok>/<total>" and cli; hlt:
;   pci-hostbridge   CF8/CFC and ECAM: 8086:5AF0 at 00:00.0, class 06, 00:01.0 absent
;   pic-uart-irq     COM2's RX interrupt through the 8259A pair (IRQ 3, vector 0x23)
;   ioapic-uart-irq  the same through IOAPIC pin 3 and the local APIC (vector 0x43)
;   uart-block       4096 bytes (+ a 4-byte checksum) each way, polled on LSR
;   random-io        10,000 random writes per device (role 1: 2,000) between heap mark and report
; guests/README.md describes the protocol between the two VMs.
;
; Build: nasm -f bin -o devices.bin devices.asm

bits 64
org 0x100000

DEBUG_PORT      equ 0xE9
TEST_PORT       equ 0xEA
CMD_TIMER       equ 0x0003              ; | ms << 8: vector 0x41 after ms
CMD_HEAP_MARK   equ 4
CMD_HEAP_REPORT equ 5

KERNEL_CS       equ 0x08
KERNEL_DS       equ 0x10

PIC1_CMD        equ 0x20
PIC1_DATA       equ 0x21
PIC2_CMD        equ 0xA0
PIC2_DATA       equ 0xA1
ELCR1           equ 0x4D0
ELCR2           equ 0x4D1

COM1            equ 0x3F8
COM2            equ 0x2F8
UART_RBR        equ 0
UART_THR        equ 0
UART_IER        equ 1
UART_IIR        equ 2
UART_FCR        equ 2
UART_LCR        equ 3
UART_MCR        equ 4
UART_LSR        equ 5
UART_MSR        equ 6
UART_SCR        equ 7
LSR_DR          equ 0x01
LSR_THRE        equ 0x20
LSR_TEMT        equ 0x40

PCI_ADDR        equ 0xCF8
PCI_DATA        equ 0xCFC
ECAM            equ 0xE0000000
HOSTBRIDGE_ID   equ 0x5AF08086

IOAPIC          equ 0xFEC00000
IOWIN           equ 0x10
IOAPIC_PINS     equ 48
RTE_MASKED      equ 0x10000

LAPIC           equ 0xFEE00000
LAPIC_ID        equ 0x20
LAPIC_TPR       equ 0x80
LAPIC_EOI       equ 0xB0
LAPIC_SVR       equ 0xF0

VEC_PIC_UART    equ 0x23                ; ICW2 base 0x20 + IRQ 3
VEC_TICK        equ 0x41                ; the test port's delayed vector
VEC_IOAPIC_UART equ 0x43

BYTE_HELLO      equ 'H'
BYTE_ACK        equ 'A'

BLOCK           equ 4096                ; data bytes each way, then 4 checksum bytes
BLOCK_TOTAL     equ BLOCK + 4
WAIT_LIMIT      equ 5000                ; 1-ms naps without progress before a wait gives up
RANDOM_WRITES   equ 10000               ; per device, role 0
RANDOM_WRITES_1 equ 2000                ; per device, role 1 (time: every exit costs ~50k Bochs instructions)

MODE_RX         equ 0                   ; catch-all: any vector but 0x23/0x41/0x43 is fatal
MODE_COUNT      equ 1                   ; catch-all: vectors >= 32 are counted and EOIed

; ---------------------------------------------------------------------------
; Check scaffolding (as long64.asm, without the fault accounting):
;     t_foo:  CHECK "foo"
;             ...
;             PASS                  ; "ok foo"
;     .f:     FAIL "what", reg      ; "FAIL foo what=<hex>"
;     .h:     FAILRD                ; a helper's failure: rdx = detail, rax = value
; Checks are called from main; FAIL/PASS tail-jump to a reporter that returns
; to main, so they must be used at the check's own stack level.
; ---------------------------------------------------------------------------
%macro CHECK 1
        jmp     %%go
.name:  db      %1, 0
%%go:
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

%macro FAILRD 0
        lea     rsi, [rel .name]
        jmp     report_fail
%endmacro

; ---------------------------------------------------------------------------
start:
        cli
        cld
        and     esi, 1
        mov     [rel role], esi
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
        ; COM2 first: enabling its FIFOs clears them, so a byte the peer sent
        ; before this is lost (the handshake in pic-uart-irq copes with that).
        call    com2_init
        call    map_high

        call    t_pci_hostbridge
        call    t_pic_uart_irq
        call    t_ioapic_uart_irq
        call    t_uart_block
        call    t_random_io

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

; 8N1, FIFOs on and cleared with an RX trigger of 1 byte, no interrupts,
; DTR|RTS (OUT2 off: the IRQ line stays low, PC style).
com2_init:
        mov     dx, COM2 + UART_IER
        xor     al, al
        out     dx, al
        mov     dx, COM2 + UART_LCR
        mov     al, 0x03
        out     dx, al
        mov     dx, COM2 + UART_FCR
        mov     al, 0x07
        out     dx, al
        mov     dx, COM2 + UART_MCR
        mov     al, 0x03
        out     dx, al
        ret

; The hypervisor's identity map covers [0, 1 GiB); the ECAM (0xE0000000),
; the IOAPIC (0xFEC00000) and the LAPIC (0xFEE00000) are in [3 GiB, 4 GiB):
; PDPT entry 3 -> a page directory of 2 MiB pages, identity, UC (PCD|PWT).
map_high:
        lea     rdi, [rel pd_high]
        mov     rax, 0xC0000000 | 0x9B  ; P RW PWT PCD PS
        mov     ecx, 512
.l:     mov     [rdi], rax
        add     rdi, 8
        add     rax, 0x200000
        dec     ecx
        jnz     .l
        mov     rax, cr3
        mov     rdx, 0x000FFFFFFFFFF000
        and     rax, rdx
        mov     rax, [rax]              ; PML4[0] -> PDPT
        and     rax, rdx
        lea     rcx, [rel pd_high]
        or      rcx, 3
        mov     [rax + 3 * 8], rcx
        mov     rax, cr3
        mov     cr3, rax
        ret

; ---------------------------------------------------------------------------
; pci-hostbridge: configuration mechanism #1 (PCI Local Bus Specification 3.0,
; 3.2.2.3.2) and ECAM (PCI Express Base Specification, offset bus << 20 |
; dev << 15 | fn << 12 | reg). Each data-port access gets a fresh CF8 write.
; ---------------------------------------------------------------------------
t_pci_hostbridge:
        CHECK   "pci-hostbridge"
        mov     dx, PCI_ADDR
        mov     eax, 0x80000000         ; enable, 00:00.0, register 0
        out     dx, eax
        in      eax, dx                 ; CONFIG_ADDRESS reads back
        cmp     eax, 0x80000000
        jne     .faddr
        mov     dx, PCI_DATA
        in      eax, dx
        cmp     eax, HOSTBRIDGE_ID
        jne     .fid
        mov     dx, PCI_ADDR
        mov     eax, 0x80000000
        out     dx, eax
        mov     dx, PCI_DATA + 2        ; word at register offset 2: device ID
        in      ax, dx
        movzx   eax, ax
        cmp     eax, HOSTBRIDGE_ID >> 16
        jne     .fword
        mov     dx, PCI_ADDR
        mov     eax, 0x80000008         ; revision / class code
        out     dx, eax
        mov     dx, PCI_DATA
        in      eax, dx
        mov     ebx, eax
        shr     ebx, 24
        cmp     ebx, 0x06               ; base class 06: bridge
        jne     .fclass
        mov     dx, PCI_ADDR
        mov     eax, 0x80000800         ; 00:01.0
        out     dx, eax
        mov     dx, PCI_DATA
        in      eax, dx
        cmp     eax, 0xFFFFFFFF
        jne     .fabsent
        mov     rbx, ECAM
        mov     eax, [rbx]
        cmp     eax, HOSTBRIDGE_ID
        jne     .fecam_id
        mov     eax, [rbx + 8]
        mov     ecx, eax
        shr     ecx, 24
        cmp     ecx, 0x06
        jne     .fecam_class
        movzx   eax, word [rbx + 2]
        cmp     eax, HOSTBRIDGE_ID >> 16
        jne     .fecam_word
        mov     eax, [rbx + (1 << 15)]  ; 00:01.0
        cmp     eax, 0xFFFFFFFF
        jne     .fecam_absent
        PASS
.faddr:         FAIL    "cf8-readback", rax
.fid:           FAIL    "cfc-id", rax
.fword:         FAIL    "cfe-word", rax
.fclass:        FAIL    "cfc-class", rax
.fabsent:       FAIL    "cfc-00:01.0", rax
.fecam_id:      FAIL    "ecam-id", rax
.fecam_class:   FAIL    "ecam-class", rax
.fecam_word:    FAIL    "ecam-word", rax
.fecam_absent:  FAIL    "ecam-00:01.0", rax

; ---------------------------------------------------------------------------
; pic-uart-irq: the 8259A pair programmed as on a PC (ICW1 0x11, ICW2 0x20 /
; 0x28, ICW3 0x04 / 0x02, ICW4 0x01), only IRQ 3 unmasked; COM2 raises its
; IRQ line for received data (IER bit 0) through OUT2 (MCR bit 3). The LAPIC
; is still software-disabled (reset state), so the PIC's INTR arrives as
; ExtINT through LINT0 (SDM Vol. 3A 11.4.3). The handler for vector 0x23
; reads every byte in the FIFO into a ring, then EOIs the PIC (OCW2 0x20).
; A handshake first (both VMs, 'H' then 'A'), then role 0 sends 0xA2 and
; role 1 answers 0xB2 (after switching itself to the IOAPIC).
; ---------------------------------------------------------------------------
t_pic_uart_irq:
        CHECK   "pic-uart-irq"
        mov     byte [rel irq_mode], MODE_RX
        mov     al, 0x11                ; ICW1: edge, cascade, ICW4 follows
        out     PIC1_CMD, al
        mov     al, 0x20                ; ICW2: IRQ 0-7 -> vectors 0x20-0x27
        out     PIC1_DATA, al
        mov     al, 0x04                ; ICW3: slave on IR2
        out     PIC1_DATA, al
        mov     al, 0x01                ; ICW4: 8086 mode
        out     PIC1_DATA, al
        mov     al, 0x11
        out     PIC2_CMD, al
        mov     al, 0x28
        out     PIC2_DATA, al
        mov     al, 0x02                ; slave ID 2
        out     PIC2_DATA, al
        mov     al, 0x01
        out     PIC2_DATA, al
        mov     al, 0xF7                ; OCW1: IRQ 3 only
        out     PIC1_DATA, al
        mov     al, 0xFF
        out     PIC2_DATA, al
        in      al, PIC1_DATA
        movzx   eax, al
        cmp     eax, 0xF7
        jne     .fimr
        mov     dx, COM2 + UART_IER
        mov     al, 0x01                ; received data available
        out     dx, al
        mov     dx, COM2 + UART_MCR
        mov     al, 0x0B                ; DTR | RTS | OUT2
        out     dx, al
        call    handshake
        jc      .fh
        cmp     dword [rel role], 0
        jne     .answer
        mov     al, 0xA2
        call    uart_send
        jc      .fh
        call    get_byte
        jc      .fh
        cmp     ecx, VEC_PIC_UART
        jne     .fvec
        cmp     eax, 0xB2
        jne     .fbyte
        jmp     .got
.answer:
        call    get_byte
        jc      .fh
        cmp     ecx, VEC_PIC_UART
        jne     .fvec
        cmp     eax, 0xA2
        jne     .fbyte
        call    switch_to_ioapic        ; before answering: role 0's next byte comes through the IOAPIC
        mov     al, 0xB2
        call    uart_send
        jc      .fh
.got:   mov     eax, [rel irq23_count]
        test    eax, eax
        jz      .fcount
        mov     al, 0x0B                ; OCW3: read ISR
        out     PIC1_CMD, al
        in      al, PIC1_CMD
        mov     bl, al
        mov     al, 0x0A                ; OCW3: back to IRR
        out     PIC1_CMD, al
        movzx   eax, bl
        test    eax, eax                ; every interrupt was EOIed
        jnz     .fisr
        PASS
.fimr:  FAIL    "imr", rax
.fvec:  FAIL    "vector", rcx
.fbyte: FAIL    "byte", rax
.fcount: FAIL   "irq23-count", rax
.fisr:  FAIL    "isr-after-eoi", rax
.fh:    FAILRD

; Both VMs: send 'H'; on 'H' answer 'A' (once); on 'A' note it (and answer
; once if not yet). Done when an 'A' was both sent and received. An 'H' sent
; before the peer enabled its FIFOs is lost; the peer's own 'H' then starts
; the exchange. Every byte must come through vector 0x23.
; CF=1 on failure with rdx = detail, rax = value.
handshake:
        mov     byte [rel hs_sent_ack], 0
        mov     byte [rel hs_got_ack], 0
        mov     al, BYTE_HELLO
        call    uart_send
        jc      .ret
.loop:  cmp     byte [rel hs_got_ack], 0
        je      .wait
        cmp     byte [rel hs_sent_ack], 0
        jne     .done
.wait:  call    get_byte
        jc      .ret
        cmp     ecx, VEC_PIC_UART
        jne     .badvec
        cmp     eax, BYTE_HELLO
        je      .answer
        cmp     eax, BYTE_ACK
        jne     .badbyte
        mov     byte [rel hs_got_ack], 1
.answer:
        cmp     byte [rel hs_sent_ack], 0
        jne     .loop
        mov     byte [rel hs_sent_ack], 1
        mov     al, BYTE_ACK
        call    uart_send
        jc      .ret
        jmp     .loop
.done:  clc
.ret:   ret
.badvec:
        mov     eax, ecx
        lea     rdx, [rel s_hs_vector]
        stc
        ret
.badbyte:
        lea     rdx, [rel s_hs_byte]
        stc
        ret

; Mask the PIC, software-enable the LAPIC (SVR bit 8, spurious vector 0xFF,
; TPR 0) and route IOAPIC pin 3 (COM2, GSI 3) to vector 0x43: fixed, physical
; destination = this LAPIC's ID, active high, edge, unmasked.
switch_to_ioapic:
        push    rax
        push    rbx
        mov     al, 0xFF
        out     PIC1_DATA, al
        out     PIC2_DATA, al
        mov     rbx, LAPIC
        mov     dword [rbx + LAPIC_TPR], 0
        mov     dword [rbx + LAPIC_SVR], 0x1FF
        mov     eax, [rbx + LAPIC_ID]
        shr     eax, 24
        mov     [rel apic_id], eax
        mov     rbx, IOAPIC
        mov     dword [rbx], 0x10 + 2 * 3 + 1
        shl     eax, 24
        mov     [rbx + IOWIN], eax
        mov     dword [rbx], 0x10 + 2 * 3
        mov     dword [rbx + IOWIN], VEC_IOAPIC_UART
        mov     byte [rel switched], 1
        pop     rbx
        pop     rax
        ret

; ---------------------------------------------------------------------------
; ioapic-uart-irq: the IOAPIC version register (82093AA datasheet 3.2.2:
; version 0x11, maximum redirection entry 47 for 48 pins), entry 3 reads back,
; then role 0 sends 0xA3 and role 1 answers 0xB3, each received through
; vector 0x43 (handler EOIs the LAPIC); no more vector 0x23 (PIC masked).
; Role 1 stops COM2 interrupts before answering: role 0's block follows at once.
; ---------------------------------------------------------------------------
t_ioapic_uart_irq:
        CHECK   "ioapic-uart-irq"
        cmp     byte [rel switched], 0  ; role 1 switched in pic-uart-irq (unless that failed early)
        jne     .switched
        call    switch_to_ioapic
.switched:
        mov     eax, [rel irq23_count]
        mov     [rel irq23_before], eax
        mov     rbx, IOAPIC
        mov     dword [rbx], 0x01
        mov     eax, [rbx + IOWIN]
        mov     ecx, eax
        and     ecx, 0x00FF00FF
        cmp     ecx, ((IOAPIC_PINS - 1) << 16) | 0x11
        jne     .fver
        mov     dword [rbx], 0x10 + 2 * 3
        mov     eax, [rbx + IOWIN]
        cmp     eax, VEC_IOAPIC_UART    ; delivery status and remote IRR 0
        jne     .frte
        mov     rbx, LAPIC
        mov     eax, [rbx + LAPIC_SVR]
        test    eax, 0x100
        jz      .fsvr
        cmp     dword [rel role], 0
        jne     .answer
        mov     al, 0xA3
        call    uart_send
        jc      .fh
        call    get_byte
        jc      .fh
        cmp     ecx, VEC_IOAPIC_UART
        jne     .fvec
        cmp     eax, 0xB3
        jne     .fbyte
        call    block_prepare
        jmp     .got
.answer:
        call    get_byte
        jc      .fh
        cmp     ecx, VEC_IOAPIC_UART
        jne     .fvec
        cmp     eax, 0xA3
        jne     .fbyte
        call    block_prepare
        mov     al, 0xB3
        call    uart_send
        jc      .fh
.got:   mov     eax, [rel irq23_count]
        cmp     eax, [rel irq23_before]
        jne     .fpic
        mov     eax, [rel irq43_count]
        test    eax, eax
        jz      .fcount
        PASS
.fver:  FAIL    "version", rax
.frte:  FAIL    "rte3", rax
.fsvr:  FAIL    "svr", rax
.fvec:  FAIL    "vector", rcx
.fbyte: FAIL    "byte", rax
.fpic:  FAIL    "irq23-after-mask", rax
.fcount: FAIL   "irq43-count", rax
.fh:    FAILRD

; From here COM2 is polled: no COM2 interrupts, IOAPIC entry 3 masked. Bytes
; the handler already took stay in the ring and are read first.
block_prepare:
        push    rax
        push    rbx
        push    rdx
        mov     dx, COM2 + UART_IER
        xor     al, al
        out     dx, al
        mov     rbx, IOAPIC
        mov     dword [rbx], 0x10 + 2 * 3
        mov     dword [rbx + IOWIN], RTE_MASKED | VEC_IOAPIC_UART
        pop     rdx
        pop     rbx
        pop     rax
        ret

; ---------------------------------------------------------------------------
; uart-block: 4096 pattern bytes (an LCG seeded by the role) and the sender's
; checksum (4 bytes, little-endian) each way. Each round: if LSR.THRE (the
; 16-byte TX FIFO is empty) write up to 16 bytes; then read while LSR.DR.
; A round without progress naps 1 ms (HLT): the peer gets the pCPU.
; Received bytes are compared with the peer's pattern, and the running
; checksum with the one the peer sent. Then wait for LSR.TEMT.
; ---------------------------------------------------------------------------
t_uart_block:
        CHECK   "uart-block"
        mov     eax, [rel role]
        lea     rdx, [rel seeds]
        mov     r12d, [rdx + rax * 4]   ; own pattern
        xor     eax, 1
        mov     r13d, [rdx + rax * 4]   ; the peer's
        xor     r14d, r14d              ; sent
        xor     r15d, r15d              ; received
        xor     ebp, ebp                ; naps in a row
        xor     eax, eax
        mov     [rel tx_csum], eax
        mov     [rel rx_csum], eax
        mov     [rel peer_csum], eax
        mov     [rel mismatches], eax
        mov     [rel first_bad], eax
        mov     [rel naps], eax
.loop:  xor     ebx, ebx                ; progress this round
        cmp     r14d, BLOCK_TOTAL
        jae     .rx
        mov     dx, COM2 + UART_LSR
        in      al, dx
        test    al, LSR_THRE
        jz      .rx
        mov     ecx, 16
.tx:    call    tx_next
        mov     dx, COM2 + UART_THR
        out     dx, al
        mov     bl, 1
        cmp     r14d, BLOCK_TOTAL
        jae     .rx
        dec     ecx
        jnz     .tx
.rx:    cmp     r15d, BLOCK_TOTAL
        jae     .round
        call    rx_poll
        jc      .round
        call    rx_accept
        mov     bl, 1
        jmp     .rx
.round: cmp     r14d, BLOCK_TOTAL
        jb      .more
        cmp     r15d, BLOCK_TOTAL
        jae     .done
.more:  test    bl, bl
        jz      .idle
        xor     ebp, ebp
        jmp     .loop
.idle:  call    nap
        inc     dword [rel naps]
        inc     ebp
        cmp     ebp, WAIT_LIMIT
        jb      .loop
        mov     eax, r14d
        shl     rax, 32
        or      rax, r15
        FAIL    "timeout-sent:received", rax
.done:  mov     ebp, WAIT_LIMIT         ; our last bytes left our FIFO: the link is idle for us
.temt:  mov     dx, COM2 + UART_LSR
        in      al, dx
        test    al, LSR_TEMT
        jnz     .idle_link
        call    nap
        dec     ebp
        jnz     .temt
        movzx   eax, al
        FAIL    "temt-timeout-lsr", rax
.idle_link:
        mov     eax, [rel ring_lost]
        test    eax, eax
        jnz     .flost
        mov     eax, [rel mismatches]
        test    eax, eax
        jnz     .fmis
        mov     eax, [rel rx_csum]
        cmp     eax, [rel peer_csum]
        jne     .fsum
        lea     rsi, [rel s_block_info]
        call    puts
        mov     eax, [rel naps]
        call    put_dec
        call    newline
        PASS
.flost: FAIL    "ring-overflow", rax
.fmis:  shl     rax, 32
        mov     ecx, [rel first_bad]
        or      rax, rcx
        FAIL    "mismatches:index:got:want", rax
.fsum:  shl     rax, 32
        mov     ecx, [rel peer_csum]
        or      rax, rcx
        FAIL    "checksum-received:sent", rax

; al = the next byte to send (r14d = its index, incremented). Keeps rcx.
tx_next:
        cmp     r14d, BLOCK
        jae     .sum
        imul    r12d, r12d, 1103515245
        add     r12d, 12345
        mov     eax, r12d
        shr     eax, 16
        movzx   eax, al
        mov     edx, [rel tx_csum]
        imul    edx, edx, 31
        add     edx, eax
        mov     [rel tx_csum], edx
        inc     r14d
        ret
.sum:   push    rcx
        mov     ecx, r14d
        sub     ecx, BLOCK
        shl     ecx, 3
        mov     eax, [rel tx_csum]
        shr     eax, cl
        movzx   eax, al
        pop     rcx
        inc     r14d
        ret

; CF=0: eax = the next received byte (the ring first); CF=1: none now.
rx_poll:
        mov     eax, [rel ring_tail]
        cmp     eax, [rel ring_head]
        je      .uart
        movzx   eax, al
        lea     rdx, [rel ring_data]
        movzx   eax, byte [rdx + rax]
        inc     dword [rel ring_tail]
        clc
        ret
.uart:  mov     dx, COM2 + UART_LSR
        in      al, dx
        test    al, LSR_DR
        jz      .none
        mov     dx, COM2 + UART_RBR
        in      al, dx
        movzx   eax, al
        clc
        ret
.none:  stc
        ret

; eax = received byte number r15d (incremented): data bytes are compared with
; the peer's pattern and summed; bytes 4096-4099 are the peer's checksum.
rx_accept:
        cmp     r15d, BLOCK
        jae     .sum
        mov     edx, [rel rx_csum]
        imul    edx, edx, 31
        add     edx, eax
        mov     [rel rx_csum], edx
        imul    r13d, r13d, 1103515245
        add     r13d, 12345
        mov     edx, r13d
        shr     edx, 16
        movzx   edx, dl
        cmp     eax, edx
        je      .ok
        cmp     dword [rel mismatches], 0
        jne     .count
        mov     r8d, r15d               ; index << 16 | got << 8 | want
        shl     r8d, 16
        shl     eax, 8
        or      r8d, eax
        or      r8d, edx
        mov     [rel first_bad], r8d
.count: inc     dword [rel mismatches]
.ok:    inc     r15d
        ret
.sum:   push    rcx
        mov     ecx, r15d
        sub     ecx, BLOCK
        shl     ecx, 3
        shl     eax, cl
        or      [rel peer_csum], eax
        pop     rcx
        inc     r15d
        ret

; ---------------------------------------------------------------------------
; random-io: between a heap mark and a heap report (test port commands 4 and
; 5), 10,000 xorshift32 writes (role 1: 2,000, to save Bochs time; seeded
; by the role) to each of: the PIC
; (0x20/0x21/0xA0/0xA1/0x4D0/0x4D1, 1 in 32 a word write the vPIC refuses),
; COM1 and COM2 registers 1-7 (never THR: the link is idle, nothing is sent;
; 1 in 32 wider), the PCI ports (CF8 dwords, half of them at 00:00.0, and
; CFC-CFF bytes/words/dwords at any offset), the IOAPIC (IOREGSEL and IOWIN;
; 1 in 32 a byte write or a write outside the two registers). Redirection
; entries written through IOWIN keep fixed delivery and a vector >= 0x80, so
; nothing but fixed interrupts can reach the LAPIC (no INIT/NMI/SMI/ExtINT).
; IF stays 0; the catch-all counts and EOIs whatever arrives. Then every
; device is brought back to a known state, what the LAPIC collected is let
; in (sti), and each device's registers are read and checked.
; ---------------------------------------------------------------------------
t_random_io:
        CHECK   "random-io"
        mov     byte [rel irq_mode], MODE_COUNT
        mov     dword [rel irq_count], 0
        mov     eax, [rel role]
        imul    eax, eax, 0x9E3779B9
        xor     eax, 0x2545F491
        mov     [rel rng], eax
        mov     dword [rel rio_count], RANDOM_WRITES
        cmp     dword [rel role], 0
        je      .count
        mov     dword [rel rio_count], RANDOM_WRITES_1
.count: mov     dx, TEST_PORT
        mov     eax, CMD_HEAP_MARK
        out     dx, eax
        call    rio_pic
        mov     r13d, COM1
        call    rio_com
        mov     r13d, COM2
        call    rio_com
        call    rio_pci
        call    rio_ioapic
        call    rio_quiesce
        call    rio_readback
        pushfq
        push    rax
        push    rdx
        mov     dx, TEST_PORT
        mov     eax, CMD_HEAP_REPORT
        out     dx, eax
        pop     rdx
        pop     rax
        popfq
        jc      .fh
        lea     rsi, [rel s_rio_info]
        call    puts
        mov     eax, [rel rio_count]
        imul    eax, eax, 5
        call    put_dec
        lea     rsi, [rel s_rio_irqs]
        call    puts
        mov     eax, [rel irq_count]
        call    put_dec
        call    newline
        PASS
.fh:    FAILRD

; eax = the next xorshift32 value (Marsaglia 13/17/5). Clobbers edx.
rnd:    mov     eax, [rel rng]
        mov     edx, eax
        shl     edx, 13
        xor     eax, edx
        mov     edx, eax
        shr     edx, 17
        xor     eax, edx
        mov     edx, eax
        shl     edx, 5
        xor     eax, edx
        mov     [rel rng], eax
        ret

; ecx = (eax >> 8 & 0xFFFF) * n >> 16: a value below n from bits 23:8.
%macro PICK 1
        mov     ecx, eax
        shr     ecx, 8
        movzx   ecx, cx
        imul    ecx, ecx, %1
        shr     ecx, 16
%endmacro

rio_pic:
        mov     r12d, [rel rio_count]
.l:     call    rnd
        PICK    6
        lea     rdx, [rel pic_ports]
        movzx   edx, word [rdx + rcx * 2]
        test    eax, 0x1F000000
        jz      .wide
        out     dx, al
        jmp     .n
.wide:  out     dx, ax
.n:     dec     r12d
        jnz     .l
        ret

; r13d = UART base
rio_com:
        mov     r12d, [rel rio_count]
.l:     call    rnd
        PICK    7
        lea     edx, [r13d + ecx + 1]   ; registers 1-7
        test    eax, 0x1F000000
        jz      .wide
        out     dx, al
        jmp     .n
.wide:  test    eax, 0x20000000
        jz      .word
        out     dx, eax
        jmp     .n
.word:  out     dx, ax
.n:     dec     r12d
        jnz     .l
        ret

rio_pci:
        mov     r12d, [rel rio_count]
.l:     call    rnd
        mov     ebx, eax                ; choices
        call    rnd                     ; value
        test    ebx, 0x100
        jz      .data
        test    ebx, 0x200
        jz      .addr
        and     eax, 0xFC
        or      eax, 0x80000000         ; 00:00.0, some register
.addr:  mov     dx, PCI_ADDR
        out     dx, eax
        jmp     .n
.data:  mov     ecx, ebx
        shr     ecx, 10
        and     ecx, 3
        lea     edx, [ecx + PCI_DATA]
        test    ebx, 0x1000
        jz      .byte
        test    ebx, 0x2000
        jz      .word
        out     dx, eax
        jmp     .n
.word:  out     dx, ax
        jmp     .n
.byte:  out     dx, al
.n:     dec     r12d
        jnz     .l
        ret

rio_ioapic:
        mov     rbx, IOAPIC
        mov     r12d, [rel rio_count]
        xor     r14d, r14d              ; IOREGSEL as last written
.l:     call    rnd
        mov     ecx, eax                ; choices
        call    rnd                     ; value
        test    ecx, 0x7C00
        jz      .odd
        test    ecx, 0x100
        jz      .win
        test    ecx, 0x200
        jz      .sel
        movzx   eax, al                 ; mostly an implemented register: 0-0x6F
        imul    eax, eax, 0x70
        shr     eax, 8
.sel:   mov     [rbx], eax
        movzx   r14d, al
        jmp     .n
.win:   cmp     r14d, 0x10
        jb      .plain
        cmp     r14d, 0x10 + 2 * IOAPIC_PINS
        jae     .plain
        test    r14d, 1
        jnz     .plain
        and     eax, ~0x700             ; fixed delivery
        or      eax, 0x80               ; vector >= 0x80
.plain: mov     [rbx + IOWIN], eax
        jmp     .n
.odd:   test    ecx, 0x100
        jz      .outside
        mov     [rbx], al               ; a byte write to IOREGSEL: refused
        jmp     .n
.outside:
        mov     [rbx + 0x20], eax       ; not a register
.n:     dec     r12d
        jnz     .l
        ret

; Known state: PIC initialised again (a random write may have left it in the
; middle of a sequence) with everything masked, ELCR 0; both UARTs 8N1 with
; FIFOs on and cleared, no interrupts, MCR 0; CF8 0; every IOAPIC entry masked
; and edge-triggered (clears remote IRR) with destination 0, IOAPIC ID 0.
; Then IF=1 for a while: the LAPIC's collected vectors are counted and EOIed.
rio_quiesce:
        mov     al, 0x11
        out     PIC1_CMD, al
        mov     al, 0x20
        out     PIC1_DATA, al
        mov     al, 0x04
        out     PIC1_DATA, al
        mov     al, 0x01
        out     PIC1_DATA, al
        mov     al, 0x11
        out     PIC2_CMD, al
        mov     al, 0x28
        out     PIC2_DATA, al
        mov     al, 0x02
        out     PIC2_DATA, al
        mov     al, 0x01
        out     PIC2_DATA, al
        mov     al, 0xFF
        out     PIC1_DATA, al
        out     PIC2_DATA, al
        xor     al, al
        mov     dx, ELCR1
        out     dx, al
        mov     dx, ELCR2
        out     dx, al
        mov     r13d, COM1
        call    .uart
        mov     r13d, COM2
        call    .uart
        mov     dx, PCI_ADDR
        xor     eax, eax
        out     dx, eax
        mov     rbx, IOAPIC
        xor     ecx, ecx
.rte:   lea     eax, [rcx * 2 + 0x10]
        mov     [rbx], eax
        mov     dword [rbx + IOWIN], RTE_MASKED
        inc     eax
        mov     [rbx], eax
        mov     dword [rbx + IOWIN], 0
        inc     ecx
        cmp     ecx, IOAPIC_PINS
        jb      .rte
        mov     dword [rbx], 0
        mov     dword [rbx + IOWIN], 0
        mov     ecx, 64
.drain: sti
        nop
        nop
        nop
        nop
        cli
        dec     ecx
        jnz     .drain
        ret
.uart:  lea     edx, [r13d + UART_LCR]
        mov     al, 0x03
        out     dx, al
        lea     edx, [r13d + UART_IER]
        xor     al, al
        out     dx, al
        lea     edx, [r13d + UART_MCR]
        out     dx, al
        lea     edx, [r13d + UART_FCR]
        mov     al, 0x07
        out     dx, al
        ret

; Read every register of each device; check what rio_quiesce set.
; CF=1 with rdx = detail, rax = value on a mismatch.
rio_readback:
        in      al, PIC1_CMD
        in      al, PIC2_CMD
        in      al, PIC1_DATA
        movzx   eax, al
        cmp     eax, 0xFF
        jne     .fimr1
        in      al, PIC2_DATA
        movzx   eax, al
        cmp     eax, 0xFF
        jne     .fimr2
        mov     dx, ELCR1
        in      al, dx
        mov     ah, al
        mov     dx, ELCR2
        in      al, dx
        movzx   eax, ax
        test    eax, eax
        jnz     .felcr
        mov     r13d, COM1
        call    .uart
        jc      .ret
        mov     r13d, COM2
        call    .uart
        jc      .ret
        mov     dx, PCI_ADDR
        in      eax, dx
        test    eax, eax
        jnz     .fcf8
        mov     eax, 0x80000000
        out     dx, eax
        mov     dx, PCI_DATA
        in      eax, dx
        cmp     eax, HOSTBRIDGE_ID
        jne     .fpci
        mov     rbx, IOAPIC
        mov     eax, [rbx]
        mov     dword [rbx], 0x00
        mov     eax, [rbx + IOWIN]
        test    eax, eax
        jnz     .fid
        mov     dword [rbx], 0x01
        mov     eax, [rbx + IOWIN]
        cmp     eax, ((IOAPIC_PINS - 1) << 16) | 0x11
        jne     .fver
        mov     dword [rbx], 0x02
        mov     eax, [rbx + IOWIN]
        xor     ecx, ecx
.rte:   lea     eax, [rcx * 2 + 0x10]
        mov     [rbx], eax
        mov     eax, [rbx + IOWIN]
        cmp     eax, RTE_MASKED
        jne     .frte
        lea     eax, [rcx * 2 + 0x11]
        mov     [rbx], eax
        mov     eax, [rbx + IOWIN]
        test    eax, eax
        jnz     .frte
        inc     ecx
        cmp     ecx, IOAPIC_PINS
        jb      .rte
        clc
.ret:   ret
.fimr1: lea     rdx, [rel s_rb_imr1]
        stc
        ret
.fimr2: lea     rdx, [rel s_rb_imr2]
        stc
        ret
.felcr: lea     rdx, [rel s_rb_elcr]
        stc
        ret
.fcf8:  lea     rdx, [rel s_rb_cf8]
        stc
        ret
.fpci:  lea     rdx, [rel s_rb_pci]
        stc
        ret
.fid:   lea     rdx, [rel s_rb_ioapic_id]
        stc
        ret
.fver:  lea     rdx, [rel s_rb_ioapic_ver]
        stc
        ret
.frte:  shl     rcx, 32                 ; pin << 32 | value
        or      rax, rcx
        lea     rdx, [rel s_rb_rte]
        stc
        ret
; r13d = base: all 8 registers; LCR 0x03, IER 0, MCR 0, IIR 0xC1 (FIFOs on, nothing pending)
.uart:  xor     ecx, ecx
.reg:   lea     edx, [r13d + ecx]
        in      al, dx
        inc     ecx
        cmp     ecx, 8
        jb      .reg
        lea     edx, [r13d + UART_LCR]
        in      al, dx
        movzx   eax, al
        cmp     eax, 0x03
        jne     .fuart
        lea     edx, [r13d + UART_IER]
        in      al, dx
        movzx   eax, al
        test    eax, eax
        jnz     .fuart
        lea     edx, [r13d + UART_MCR]
        in      al, dx
        movzx   eax, al
        test    eax, eax
        jnz     .fuart
        lea     edx, [r13d + UART_IIR]
        in      al, dx
        movzx   eax, al
        cmp     eax, 0xC1
        jne     .fuart
        clc
        ret
.fuart: shl     rdx, 32                 ; port << 32 | value
        or      rax, rdx
        lea     rdx, [rel s_rb_uart]
        stc
        ret

; ---------------------------------------------------------------------------
; COM2 helpers and interrupts
; ---------------------------------------------------------------------------

; Sleep about 1 ms (the test port's vector 0x41 after 1 ms) or until any
; other interrupt: HLT gives the pCPU to the peer VM. Called with IF=0;
; returns with IF=0. Keeps all registers.
nap:
        push    rax
        push    rdx
        mov     eax, CMD_TIMER | (1 << 8)
        mov     dx, TEST_PORT
        out     dx, eax
        sti
        hlt
        cli
        pop     rdx
        pop     rax
        ret

; Send al on COM2 once LSR.THRE says the TX FIFO is empty (napping while it
; is not). CF=1 with rdx = detail, rax = LSR after WAIT_LIMIT naps.
uart_send:
        push    rbx
        push    rcx
        mov     ecx, eax
        mov     ebx, WAIT_LIMIT
.l:     mov     dx, COM2 + UART_LSR
        in      al, dx
        test    al, LSR_THRE
        jnz     .go
        call    nap
        dec     ebx
        jnz     .l
        movzx   eax, al
        lea     rdx, [rel s_tx_timeout]
        pop     rcx
        pop     rbx
        stc
        ret
.go:    mov     eax, ecx
        mov     dx, COM2 + UART_THR
        out     dx, al
        pop     rcx
        pop     rbx
        clc
        ret

; Wait (napping) for the next byte the COM2 interrupt handlers put in the
; ring. CF=0: eax = byte, ecx = the vector that brought it. CF=1 with
; rdx = detail, rax = bytes received so far, after WAIT_LIMIT naps.
get_byte:
        push    rbx
        mov     ebx, WAIT_LIMIT
.l:     mov     eax, [rel ring_tail]
        cmp     eax, [rel ring_head]
        jne     .take
        call    nap
        dec     ebx
        jnz     .l
        mov     eax, [rel ring_head]
        lea     rdx, [rel s_rx_timeout]
        pop     rbx
        stc
        ret
.take:  movzx   ecx, al
        lea     rdx, [rel ring_data]
        movzx   eax, byte [rdx + rcx]
        lea     rdx, [rel ring_vec]
        movzx   ecx, byte [rdx + rcx]
        inc     dword [rel ring_tail]
        pop     rbx
        clc
        ret

; Read COM2 while LSR.DR into the ring, tagging each byte with cl (the
; vector); the IRQ line drops once the FIFO is empty. Keeps all but rax/rdx.
uart_rx_to_ring:
        push    rbx
        push    rsi
.l:     mov     dx, COM2 + UART_LSR
        in      al, dx
        test    al, LSR_DR
        jz      .e
        mov     dx, COM2 + UART_RBR
        in      al, dx
        mov     ebx, [rel ring_head]
        mov     esi, ebx
        sub     esi, [rel ring_tail]
        cmp     esi, 256
        jae     .over
        movzx   esi, bl
        lea     rbx, [rel ring_data]
        mov     [rbx + rsi], al
        lea     rbx, [rel ring_vec]
        mov     [rbx + rsi], cl
        inc     dword [rel ring_head]
        jmp     .l
.over:  inc     dword [rel ring_lost]
        jmp     .l
.e:     pop     rsi
        pop     rbx
        ret

; Vector 0x23: IRQ 3 from the PIC. EOI: OCW2 non-specific (0x20).
isr_pic_uart:
        push    rax
        push    rcx
        push    rdx
        mov     ecx, VEC_PIC_UART
        call    uart_rx_to_ring
        mov     al, 0x20
        out     PIC1_CMD, al
        inc     dword [rel irq23_count]
        pop     rdx
        pop     rcx
        pop     rax
        iretq

; Vector 0x43: IOAPIC pin 3 through the LAPIC. EOI: write the LAPIC's EOI register.
isr_ioapic_uart:
        push    rax
        push    rcx
        push    rdx
        mov     ecx, VEC_IOAPIC_UART
        call    uart_rx_to_ring
        mov     rax, LAPIC + LAPIC_EOI
        mov     dword [rax], 0
        inc     dword [rel irq43_count]
        pop     rdx
        pop     rcx
        pop     rax
        iretq

; Vector 0x41: the test port's delayed interrupt (no EOI: it does not come
; from the LAPIC).
isr_tick:
        inc     dword [rel ticks]
        iretq

; ---------------------------------------------------------------------------
; Reporting
; ---------------------------------------------------------------------------

; rsi = check name: "ok <name>"
report_ok:
        cld
        push    rsi
        lea     rsi, [rel s_ok]
        call    puts
        pop     rsi
        call    puts
        call    newline
        inc     dword [rel n_ok]
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
; IDT: 256 interrupt gates to catch-all stubs; 0x23, 0x41, 0x43 have handlers.
; ---------------------------------------------------------------------------
idt_init:
        xor     ecx, ecx
        lea     rax, [rel stubs]
.l:     call    set_gate
        add     rax, STUB_SIZE
        inc     ecx
        cmp     ecx, 256
        jb      .l
        mov     ecx, VEC_PIC_UART
        lea     rax, [rel isr_pic_uart]
        call    set_gate
        mov     ecx, VEC_IOAPIC_UART
        lea     rax, [rel isr_ioapic_uart]
        call    set_gate
        mov     ecx, VEC_TICK
        lea     rax, [rel isr_tick]
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
        mov     word [rdx + 4], 0x8E00          ; P=1 DPL=0 64-bit interrupt gate
        shr     rax, 16
        mov     [rdx + 6], ax
        shr     rax, 16
        mov     [rdx + 8], eax
        mov     dword [rdx + 12], 0
        pop     rdx
        pop     rax
        ret

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

; [rsp] = vector. In MODE_COUNT an external vector (>= 32) is counted and
; EOIed at the LAPIC (harmless when nothing is in service). Anything else:
; "FAIL unexpected vector <n> rip=<hex>" (error code for 8, 10-14, 17, 21,
; 29, 30 skipped), then halt.
catch_all:
        cmp     qword [rsp], 32
        jb      .fatal
        cmp     byte [rel irq_mode], MODE_COUNT
        jne     .fatal
        push    rax
        inc     dword [rel irq_count]
        mov     rax, LAPIC + LAPIC_EOI
        mov     dword [rax], 0
        pop     rax
        add     rsp, 8
        iretq
.fatal: cld
        mov     rax, [rsp]
        mov     rcx, [rsp + 8]
        cmp     rax, 31
        ja      .print
        mov     edx, 0x60227D00
        bt      edx, eax
        jnc     .print
        mov     rcx, [rsp + 16]
.print: lea     rsi, [rel s_unexpected]
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
s_done:         db "DONE devices ", 0
s_unexpected:   db "FAIL unexpected vector ", 0
s_rip:          db " rip=", 0
s_hs_vector:    db "handshake-vector", 0
s_hs_byte:      db "handshake-byte", 0
s_tx_timeout:   db "tx-timeout-lsr", 0
s_rx_timeout:   db "rx-timeout-received", 0
s_block_info:   db "info uart-block naps=", 0
s_rio_info:     db "info random-io writes=", 0
s_rio_irqs:     db " irqs=", 0
s_rb_imr1:      db "pic-imr1", 0
s_rb_imr2:      db "pic-imr2", 0
s_rb_elcr:      db "elcr", 0
s_rb_uart:      db "uart-port:value", 0
s_rb_cf8:       db "cf8", 0
s_rb_pci:       db "hostbridge-id", 0
s_rb_ioapic_id: db "ioapic-id", 0
s_rb_ioapic_ver: db "ioapic-version", 0
s_rb_rte:       db "rte-pin:value", 0

align 2
pic_ports:      dw PIC1_CMD, PIC1_DATA, PIC2_CMD, PIC2_DATA, ELCR1, ELCR2

align 4
seeds:          dd 0x12345678, 0xB06BD031   ; block pattern of role 0 / role 1
role:           dd 0
n_ok:           dd 0
n_total:        dd 0
apic_id:        dd 0
irq23_count:    dd 0
irq23_before:   dd 0
irq43_count:    dd 0
irq_count:      dd 0
ticks:          dd 0
naps:           dd 0
rng:            dd 0
rio_count:      dd 0
tx_csum:        dd 0
rx_csum:        dd 0
peer_csum:      dd 0
mismatches:     dd 0
first_bad:      dd 0
ring_head:      dd 0                    ; written by the handlers
ring_tail:      dd 0
ring_lost:      dd 0
irq_mode:       db MODE_RX
hs_sent_ack:    db 0
hs_got_ack:     db 0
switched:       db 0

align 16
ring_data:      times 256 db 0
ring_vec:       times 256 db 0

align 8
gdt:    dq 0
        dq 0x00AF9A000000FFFF   ; 0x08: 64-bit code
        dq 0x00CF92000000FFFF   ; 0x10: data
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

align 16
idt:    times 256 * 16 db 0

align 4096
pd_high: times 512 dq 0
