/* decode.h - Capstone wrapper for the fault injector: decodes a buffer of
 * x86-64 code into an array of instructions holding only the facts the
 * fault types need (operands, encoding offsets, registers touched), so the
 * types never handle Capstone's own structures. */
#ifndef CHARIOT_INJECT_DECODE_H
#define CHARIOT_INJECT_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <capstone/capstone.h>

#define INSN_MAX_OPS	4

/* Bits of insn.flags. */
#define INSN_VALID	(1u << 0)	/* decoded; else one undecodable byte */
#define INSN_CALL	(1u << 1)
#define INSN_JMP	(1u << 2)	/* unconditional jump */
#define INSN_JCC	(1u << 3)	/* conditional jump (70-7f, 0f 80-8f) */
#define INSN_RET	(1u << 4)
#define INSN_DIRECT	(1u << 5)	/* call/jump with a rel8/rel32 target */
#define INSN_PAD	(1u << 6)	/* nop or int3: padding, never a site */

/* Register bitmask bits: GPR families 0-15 (rax..r15, in encoding order),
 * then the flags. */
#define REG_RAX		0
#define REG_RCX		1
#define REG_RDX		2
#define REG_RBX		3
#define REG_RSP		4
#define REG_RBP		5
#define REG_RSI		6
#define REG_RDI		7
#define REG_R8		8
#define REG_R9		9
#define REG_FLAGS	16
#define REGBIT(r)	(1u << (r))

struct insn_op {
	uint8_t type;		/* X86_OP_REG, X86_OP_IMM, X86_OP_MEM */
	uint8_t access;		/* CS_AC_READ | CS_AC_WRITE (0 for IMM) */
	uint8_t size;
	uint16_t reg;		/* REG: the register; MEM: the base */
	uint16_t index;		/* MEM: the index register */
	uint16_t segment;	/* MEM: the segment override, or 0 */
	uint8_t scale;		/* MEM: the index's scale */
	int64_t val;		/* IMM: the value; MEM: the displacement */
};

struct insn {
	uint64_t addr;		/* guest virtual address */
	uint64_t target;	/* INSN_DIRECT: the branch target */
	uint32_t off;		/* offset in the buffer */
	uint32_t regs_read;	/* REGBIT() mask, implicit reads included */
	uint32_t regs_write;
	uint16_t id;		/* X86_INS_* */
	uint8_t len;
	uint8_t flags;
	uint8_t prefix0;	/* rep/repne/lock byte, 0 if none */
	uint8_t opcode[2];	/* first two opcode bytes (0f xx) */
	uint8_t modrm_off;	/* 0 when the instruction has no ModRM */
	uint8_t disp_off, disp_size;
	uint8_t imm_off, imm_size;
	uint8_t nops;
	struct insn_op op[INSN_MAX_OPS];
};

struct decoder {
	csh cs;
	cs_insn *scratch;
};

int decoder_open(struct decoder *d);
void decoder_close(struct decoder *d);

/* Decode the instruction at code[0..len) (at guest address addr) into *out.
 * Returns 0 or -EILSEQ when the bytes are not an instruction. */
int decode_one(struct decoder *d, const uint8_t *code, size_t len,
	       uint64_t addr, struct insn *out);

/* Linear sweep of the whole buffer; an undecodable byte becomes a one-byte
 * entry without INSN_VALID and the sweep resumes after it. *out is
 * malloc'ed; returns the count or -errno. */
long decode_all(struct decoder *d, const uint8_t *code, size_t len,
		uint64_t base, struct insn **out);

/* Disassembly of code[0..len) as "insn; insn", "(bad)" for bytes that do
 * not decode. Always NUL-terminates buf. */
void decode_text(struct decoder *d, const uint8_t *code, size_t len,
		 uint64_t addr, char *buf, size_t size);

/* GPR family (REG_RAX..15) of a Capstone register, -1 if not a GPR. */
int reg_family(unsigned int reg);

#endif
