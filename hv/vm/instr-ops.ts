// Opcode tables of the MMIO instruction decoder (instr-decode.ts): operation
// ids, register and segment numbers, and const tables indexed by the opcode
// byte (SDM Vol. 2D Appendix A, Tables; groups: Table A-6).
// Each defined opcode has its operation (or a group, resolved by ModRM.reg),
// and flags for its operand forms. Built once when the module loads.

/** Operations. */
export const OP_NONE = 0;
export const OP_MOV = 1;
export const OP_MOVZX = 2;
export const OP_MOVSX = 3;
export const OP_MOVSXD = 4;
export const OP_STOS = 5;
export const OP_MOVS = 6;
export const OP_AND = 7;
export const OP_OR = 8;
export const OP_XOR = 9;
export const OP_TEST = 10;
export const OP_CMP = 11;
export const OP_SUB = 12;
export const OP_BT = 13;
export const OP_COUNT = 14;
export const OP_NAMES = ['none', 'mov', 'movzx', 'movsx', 'movsxd', 'stos', 'movs', 'and', 'or', 'xor', 'test', 'cmp', 'sub', 'bt'];

/** Segment registers, in the encoding order of the Sreg field (SDM Vol. 2A 3.1.1.1). */
export const SEG_ES = 0;
export const SEG_CS = 1;
export const SEG_SS = 2;
export const SEG_DS = 3;
export const SEG_FS = 4;
export const SEG_GS = 5;

/** General-purpose registers, in encoding order (REX extends to 4 bits). */
export const REG_RAX = 0;
export const REG_RCX = 1;
export const REG_RDX = 2;
export const REG_RBX = 3;
export const REG_RSP = 4;
export const REG_RBP = 5;
export const REG_RSI = 6;
export const REG_RDI = 7;


/** Opcode flags. */
export const F_VALID = 0x1;
/** 8-bit operands (the "b" forms). */
export const F_BYTE = 0x2;
/** A ModRM byte follows. */
export const F_MODRM = 0x4;
/** The register operand is the destination (memory is the source). */
export const F_REG_DEST = 0x8;
/** An 8-bit immediate, sign-extended to the operand size. */
export const F_IMM8 = 0x10;
/** An immediate of the operand size, 32 bits sign-extended for 64-bit operands. */
export const F_IMMZ = 0x20;
/** An 8-bit immediate taken as it is (BT's bit offset). */
export const F_IMM8U = 0x40;
/** A moffs operand (A0-A3): an address of the address size, no ModRM. */
export const F_MOFFS = 0x80;
/** A string instruction: operands at [seg:rSI] and [ES:rDI]. */
export const F_STRING = 0x100;
/** Memory access of 1 / 2 / 4 bytes whatever the operand size (MOVZX, MOVSX, MOVSXD). */
export const F_MEM8 = 0x200;
export const F_MEM16 = 0x400;
export const F_MEM32 = 0x800;
/** Valid in 64-bit mode only (63 is ARPL outside it). */
export const F_MODE64 = 0x1000;

/** Groups: the operation comes from ModRM.reg (SDM Vol. 2A Table A-6). */
export const GRP_NONE = 0;
export const GRP_1 = 1; // 80 81 83: ADD OR ADC SBB AND SUB XOR CMP
export const GRP_3 = 2; // F6 F7: TEST - NOT NEG MUL IMUL DIV IDIV
export const GRP_11 = 3; // C6 C7: MOV
export const GRP_8 = 4; // 0F BA: - - - - BT BTS BTR BTC

export const OP_ONE = new Uint8Array(256);
export const FLAGS_ONE = new Uint16Array(256);
export const GROUP_ONE = new Uint8Array(256);
export const OP_TWO = new Uint8Array(256);
export const FLAGS_TWO = new Uint16Array(256);
export const GROUP_TWO = new Uint8Array(256);
/** Operation by group * 8 + ModRM.reg (0: not handled). */
export const GROUP_OPS = new Uint8Array(5 * 8);
/** Operations that accept LOCK when memory is the destination (SDM Vol. 2A LOCK). */
export const LOCK_OK = new Uint8Array(OP_COUNT);
/** Segment override prefix byte -> segment (0xff: not a segment prefix). */
export const SEG_PREFIX = new Uint8Array(256);

function instrDefineOne(opcode: number, op: number, flags: number, group: number): void {
  OP_ONE[opcode] = op & 0xff;
  FLAGS_ONE[opcode] = (flags | F_VALID) & 0xffff;
  GROUP_ONE[opcode] = group & 0xff;
}

function instrDefineTwo(opcode: number, op: number, flags: number, group: number): void {
  OP_TWO[opcode] = op & 0xff;
  FLAGS_TWO[opcode] = (flags | F_VALID) & 0xffff;
  GROUP_TWO[opcode] = group & 0xff;
}

/** The four /r forms of an ALU operation at `first`: Eb,Gb  Ev,Gv  Gb,Eb  Gv,Ev. */
function instrDefineAlu(first: number, op: number): void {
  instrDefineOne(first, op, F_BYTE | F_MODRM, GRP_NONE);
  instrDefineOne(first + 1, op, F_MODRM, GRP_NONE);
  instrDefineOne(first + 2, op, F_BYTE | F_MODRM | F_REG_DEST, GRP_NONE);
  instrDefineOne(first + 3, op, F_MODRM | F_REG_DEST, GRP_NONE);
}

instrDefineAlu(0x08, OP_OR);
instrDefineAlu(0x20, OP_AND);
instrDefineAlu(0x28, OP_SUB);
instrDefineAlu(0x30, OP_XOR);
instrDefineAlu(0x38, OP_CMP);
instrDefineOne(0x63, OP_MOVSXD, F_MODRM | F_REG_DEST | F_MEM32 | F_MODE64, GRP_NONE);
instrDefineOne(0x80, OP_NONE, F_BYTE | F_MODRM | F_IMM8, GRP_1);
instrDefineOne(0x81, OP_NONE, F_MODRM | F_IMMZ, GRP_1);
instrDefineOne(0x83, OP_NONE, F_MODRM | F_IMM8, GRP_1);
instrDefineOne(0x84, OP_TEST, F_BYTE | F_MODRM, GRP_NONE);
instrDefineOne(0x85, OP_TEST, F_MODRM, GRP_NONE);
instrDefineOne(0x88, OP_MOV, F_BYTE | F_MODRM, GRP_NONE);
instrDefineOne(0x89, OP_MOV, F_MODRM, GRP_NONE);
instrDefineOne(0x8a, OP_MOV, F_BYTE | F_MODRM | F_REG_DEST, GRP_NONE);
instrDefineOne(0x8b, OP_MOV, F_MODRM | F_REG_DEST, GRP_NONE);
instrDefineOne(0xa0, OP_MOV, F_BYTE | F_MOFFS | F_REG_DEST, GRP_NONE);
instrDefineOne(0xa1, OP_MOV, F_MOFFS | F_REG_DEST, GRP_NONE);
instrDefineOne(0xa2, OP_MOV, F_BYTE | F_MOFFS, GRP_NONE);
instrDefineOne(0xa3, OP_MOV, F_MOFFS, GRP_NONE);
instrDefineOne(0xa4, OP_MOVS, F_BYTE | F_STRING, GRP_NONE);
instrDefineOne(0xa5, OP_MOVS, F_STRING, GRP_NONE);
instrDefineOne(0xaa, OP_STOS, F_BYTE | F_STRING, GRP_NONE);
instrDefineOne(0xab, OP_STOS, F_STRING, GRP_NONE);
instrDefineOne(0xc6, OP_NONE, F_BYTE | F_MODRM | F_IMM8, GRP_11);
instrDefineOne(0xc7, OP_NONE, F_MODRM | F_IMMZ, GRP_11);
instrDefineOne(0xf6, OP_NONE, F_BYTE | F_MODRM | F_IMM8, GRP_3);
instrDefineOne(0xf7, OP_NONE, F_MODRM | F_IMMZ, GRP_3);
instrDefineTwo(0xa3, OP_BT, F_MODRM, GRP_NONE);
instrDefineTwo(0xb6, OP_MOVZX, F_MODRM | F_REG_DEST | F_MEM8, GRP_NONE);
instrDefineTwo(0xb7, OP_MOVZX, F_MODRM | F_REG_DEST | F_MEM16, GRP_NONE);
instrDefineTwo(0xba, OP_NONE, F_MODRM | F_IMM8U, GRP_8);
instrDefineTwo(0xbe, OP_MOVSX, F_MODRM | F_REG_DEST | F_MEM8, GRP_NONE);
instrDefineTwo(0xbf, OP_MOVSX, F_MODRM | F_REG_DEST | F_MEM16, GRP_NONE);

GROUP_OPS[GRP_1 * 8 + 1] = OP_OR;
GROUP_OPS[GRP_1 * 8 + 4] = OP_AND;
GROUP_OPS[GRP_1 * 8 + 5] = OP_SUB;
GROUP_OPS[GRP_1 * 8 + 6] = OP_XOR;
GROUP_OPS[GRP_1 * 8 + 7] = OP_CMP;
GROUP_OPS[GRP_3 * 8 + 0] = OP_TEST;
GROUP_OPS[GRP_11 * 8 + 0] = OP_MOV;
GROUP_OPS[GRP_8 * 8 + 4] = OP_BT;

LOCK_OK[OP_AND] = 1;
LOCK_OK[OP_OR] = 1;
LOCK_OK[OP_XOR] = 1;
LOCK_OK[OP_SUB] = 1;

SEG_PREFIX.fill(0xff);
SEG_PREFIX[0x26] = SEG_ES;
SEG_PREFIX[0x2e] = SEG_CS;
SEG_PREFIX[0x36] = SEG_SS;
SEG_PREFIX[0x3e] = SEG_DS;
SEG_PREFIX[0x64] = SEG_FS;
SEG_PREFIX[0x65] = SEG_GS;

// 16-bit ModRM addressing (SDM Vol. 2A Table 2-1), by rm:
//   0 [BX+SI]  1 [BX+DI]  2 [BP+SI]  3 [BP+DI]  4 [SI]  5 [DI]  6 [BP] / disp16  7 [BX]
export const RM16_BASE = [REG_RBX, REG_RBX, REG_RBP, REG_RBP, REG_RSI, REG_RDI, REG_RBP, REG_RBX];
export const RM16_INDEX = [REG_RSI, REG_RDI, REG_RSI, REG_RDI, -1, -1, -1, -1];

