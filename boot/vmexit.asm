; vmexit.asm - VM entry and the VM-exit stub.
;
;   int vmx_enter(uint8_t *ctx, uint32_t launch);     (SysV: rdi, esi)
;
; Saves the host's callee-saved registers and the context pointer on the
; stack, writes HOST_RSP, switches XCR0 and the extended state to the guest's,
; loads CR2 and the guest GPRs from the context page (arch/x86/native/
; vcpu_ctx.h) and executes VMLAUNCH (launch != 0) or VMRESUME.
;  - If the instruction fails (VMfailInvalid: CF=1, VMfailValid: ZF=1; SDM
;    Vol. 3C 31.2 "Conventions") it returns 1 or 2 to the caller, with the host
;    state restored.
;  - Otherwise the guest runs until a VM exit, which loads HOST_RIP = vmx_exit
;    and HOST_RSP (SDM Vol. 3C 28.5 "Loading Host State"): vmx_exit saves the
;    guest GPRs and CR2, XSAVEs the guest's extended state under the guest's
;    XCR0, restores the host XCR0, MXCSR (0x1F80) and x87 control word, and
;    returns 0 from vmx_enter. RSP, RIP and RFLAGS of the guest are in the VMCS.
;
; The extended state is switched on every entry and exit, not only on vCPU
; switches: the compiled TypeScript uses SSE registers on every exit.

bits 64
default rel

%define VMCS_HOST_RSP       0x6C14
%define CTX_RAX             0x000
%define CTX_RCX             0x008
%define CTX_RDX             0x010
%define CTX_RBX             0x018
%define CTX_RBP             0x028
%define CTX_RSI             0x030
%define CTX_RDI             0x038
%define CTX_R8              0x040
%define CTX_R9              0x048
%define CTX_R10             0x050
%define CTX_R11             0x058
%define CTX_R12             0x060
%define CTX_R13             0x068
%define CTX_R14             0x070
%define CTX_R15             0x078
%define CTX_CR2             0x080
%define CTX_XCR0            0x088
%define CTX_XSAVE_PA        0x0e8
%define CTX_EXITS           0x0f8
%define HOST_MXCSR          0x1F80
%define XCR_XFEATURE_ENABLED 0

%define VMCS_EXIT_REASON        0x4402
%define VMCS_EXIT_INSTR_LEN     0x440C
%define VMCS_GUEST_RIP          0x681E
%define EXIT_REASON_CPUID       10
%define EXIT_REASON_VMCALL      18

section .data
align 8
; Benchmark floor (make bench): when set, CPUID and VMCALL exits are handled
; right here in assembly (CPUID answers zeros, VMCALL returns 0 in RAX) and
; the guest resumes without the C or TypeScript path, so the TypeScript
; handler's cost can be printed as a ratio to this floor. Off in normal use.
global vmx_exit_floor
vmx_exit_floor:     dd 0
global vmx_host_xcr0
vmx_host_xcr0:      dq 1         ; set by vcpu_run.c at init: x87|SSE(|AVX) as the host runs
global vmx_use_xsave
vmx_use_xsave:      dd 0         ; 1: XSAVE/XRSTOR and XSETBV; 0: FXSAVE/FXRSTOR only
host_mxcsr:         dd HOST_MXCSR
host_fcw:           dw 0x037F    ; x87 control word after FNINIT

section .text
global vmx_enter:function (vmx_enter.end - vmx_enter)
global vmx_exit:function (vmx_exit.end - vmx_exit)

vmx_enter:
    push rbx
    push rbp
    push r12
    push r13
    push r14
    push r15
    push rsi                        ; [rsp+8]: launch flag
    push rdi                        ; [rsp]:   context pointer (vmx_exit finds it here)
    mov rax, VMCS_HOST_RSP
    vmwrite rax, rsp
    jbe .fail_early                 ; CF or ZF: VMWRITE failed

    mov rbx, rdi
    ; ---- guest extended state: XCR0 first, then XRSTOR under it (SDM Vol. 1 13.8)
    cmp dword [vmx_use_xsave], 0
    je .fxrstor
    xor ecx, ecx
    mov eax, [rbx + CTX_XCR0]
    mov edx, [rbx + CTX_XCR0 + 4]
    xsetbv
    mov r8, [rbx + CTX_XSAVE_PA]
    mov eax, -1
    mov edx, -1
    xrstor64 [r8]
    jmp .state_done
.fxrstor:
    mov r8, [rbx + CTX_XSAVE_PA]
    fxrstor64 [r8]
.state_done:
    mov rax, [rbx + CTX_CR2]
    mov cr2, rax

    cmp dword [rsp + 8], 0          ; ZF=1: VMRESUME; the MOVs below keep the flags
    mov rax, [rbx + CTX_RAX]
    mov rcx, [rbx + CTX_RCX]
    mov rdx, [rbx + CTX_RDX]
    mov rbp, [rbx + CTX_RBP]
    mov rsi, [rbx + CTX_RSI]
    mov rdi, [rbx + CTX_RDI]
    mov r8,  [rbx + CTX_R8]
    mov r9,  [rbx + CTX_R9]
    mov r10, [rbx + CTX_R10]
    mov r11, [rbx + CTX_R11]
    mov r12, [rbx + CTX_R12]
    mov r13, [rbx + CTX_R13]
    mov r14, [rbx + CTX_R14]
    mov r15, [rbx + CTX_R15]
    mov rbx, [rbx + CTX_RBX]
    je .resume
    vmlaunch
    jmp .failed
.resume:
    vmresume
.failed:
    ; VM entry did not happen: CF=1 VMfailInvalid, ZF=1 VMfailValid. The host
    ; stack is intact; restore the host's extended state and return 1 or 2.
    mov eax, 1
    jc .restore
    mov eax, 2
.restore:
    mov ebx, eax
    call host_extended_state
    mov eax, ebx
    jmp .out
.fail_early:
    mov eax, 1
    jc .out
    mov eax, 2
.out:
    pop rdi
    pop rsi
    pop r15
    pop r14
    pop r13
    pop r12
    pop rbp
    pop rbx
    ret
.end:

; HOST_RIP. RSP = HOST_RSP: [rsp] = context pointer, [rsp+8] = launch flag,
; then the host registers vmx_enter pushed.
vmx_exit:
    cmp dword [vmx_exit_floor], 0
    jne .floor
.full:
    push rbx                        ; guest RBX
    mov rbx, [rsp + 8]              ; context
    mov [rbx + CTX_RAX], rax
    pop rax
    mov [rbx + CTX_RBX], rax
    mov [rbx + CTX_RCX], rcx
    mov [rbx + CTX_RDX], rdx
    mov [rbx + CTX_RBP], rbp
    mov [rbx + CTX_RSI], rsi
    mov [rbx + CTX_RDI], rdi
    mov [rbx + CTX_R8],  r8
    mov [rbx + CTX_R9],  r9
    mov [rbx + CTX_R10], r10
    mov [rbx + CTX_R11], r11
    mov [rbx + CTX_R12], r12
    mov [rbx + CTX_R13], r13
    mov [rbx + CTX_R14], r14
    mov [rbx + CTX_R15], r15
    mov rax, cr2
    mov [rbx + CTX_CR2], rax
    ; ---- save the guest's extended state under the guest's XCR0
    mov r8, [rbx + CTX_XSAVE_PA]
    cmp dword [vmx_use_xsave], 0
    je .fxsave
    mov eax, -1
    mov edx, -1
    xsave64 [r8]
    jmp .saved
.fxsave:
    fxsave64 [r8]
.saved:
    call host_extended_state
    inc qword [rbx + CTX_EXITS]
    xor eax, eax
    pop rdi
    pop rsi
    pop r15
    pop r14
    pop r13
    pop r12
    pop rbp
    pop rbx
    ret

; The hand-written floor: guest GPRs other than the ones named are untouched,
; the guest's extended state is never saved (nothing here uses SSE).
.floor:
    push rax
    push rcx
    mov eax, VMCS_EXIT_REASON
    vmread rcx, rax
    cmp ecx, EXIT_REASON_CPUID
    je .floor_cpuid
    cmp ecx, EXIT_REASON_VMCALL
    je .floor_vmcall
    pop rcx
    pop rax
    jmp .full
.floor_cpuid:
    pop rcx
    pop rax
    xor eax, eax
    xor ebx, ebx
    xor ecx, ecx
    xor edx, edx
    jmp .floor_skip
.floor_vmcall:
    pop rcx
    pop rax
    xor eax, eax
.floor_skip:
    push rax
    push rcx
    push rdx
    mov eax, VMCS_EXIT_INSTR_LEN
    vmread rcx, rax
    mov eax, VMCS_GUEST_RIP
    vmread rdx, rax
    add rdx, rcx
    vmwrite rax, rdx
    pop rdx
    pop rcx
    pop rax
    vmresume
    ; VMRESUME failed: take the full path, which reports it as an exit it cannot explain.
    jmp .full
.end:

; Host XCR0, MXCSR and x87 control word, as the compiled TypeScript expects.
; Clobbers rax, rcx, rdx.
host_extended_state:
    cmp dword [vmx_use_xsave], 0
    je .no_xsetbv
    xor ecx, ecx
    mov eax, [vmx_host_xcr0]
    mov edx, [vmx_host_xcr0 + 4]
    xsetbv
.no_xsetbv:
    ldmxcsr [host_mxcsr]
    fldcw [host_fcw]
    ret

section .note.GNU-stack noalloc noexec nowrite progbits
