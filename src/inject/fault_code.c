/* fault_code.c - the fault types that act on one instruction's bytes or on
 * the control flow around it: text bit flip, instruction deletion, branch
 * deletion and inversion, loop/rep change, initialization deletion and
 * off-by-one. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "inject/fault.h"

/* Text fault (Rio's "text" type, Ng & Chen 1999; Nooks' "text" fault):
 * one random bit of one instruction, as a radiation-style corruption of
 * the code would. Any executed instruction is a site (padding is not); the
 * result need not decode. */
bool text_flip_site(struct mctx *c, size_t i)
{
	return insn_valid(c, i);
}

int text_flip_make(struct mctx *c, size_t i, struct mutation *m)
{
	const struct insn *in = &c->insn[i];
	unsigned int byte = (unsigned int)mctx_below(c, in->len);
	unsigned int bit = (unsigned int)mctx_below(c, 8);
	uint8_t b = insn_bytes(c, i)[byte] ^ (uint8_t)(1u << bit);

	snprintf(m->what, sizeof(m->what), "bit %u of byte +%u flipped",
		 bit, byte);
	return mctx_patch(c, m, in->off + byte, &b, 1);
}

/* Instruction deletion (Rio's "delete instruction", carried into Nooks and
 * Mondrix): the instruction becomes NOPs of its own length, so the code
 * around it keeps its boundaries and the effect is only the lost work. */
bool insn_delete_site(struct mctx *c, size_t i)
{
	return insn_valid(c, i);
}

int insn_delete_make(struct mctx *c, size_t i, struct mutation *m)
{
	snprintf(m->what, sizeof(m->what), "instruction deleted");
	return patch_nops(c, i, m);
}

/* Branch deletion (Rio's "delete branch"): a conditional jump becomes NOPs,
 * so the code always falls through, as if the test never succeeded. */
bool branch_delete_site(struct mctx *c, size_t i)
{
	return insn_valid(c, i) && (c->insn[i].flags & INSN_JCC);
}

int branch_delete_make(struct mctx *c, size_t i, struct mutation *m)
{
	snprintf(m->what, sizeof(m->what), "conditional branch deleted");
	return patch_nops(c, i, m);
}

/* The condition-code byte of a jcc: 7x in the short form, the 8x after 0f
 * in the near form; in both it is the byte before the displacement. */
static uint32_t cc_off(const struct insn *in)
{
	return in->off + in->imm_off - 1u;
}

static int patch_cc(struct mctx *c, size_t i, struct mutation *m,
		    uint8_t newcc)
{
	const struct insn *in = &c->insn[i];
	uint8_t b = (uint8_t)((c->in->code[cc_off(in)] & 0xf0) | newcc);

	return mctx_patch(c, m, cc_off(in), &b, 1);
}

static uint8_t insn_cc(const struct mctx *c, const struct insn *in)
{
	return c->in->code[cc_off(in)] & 0x0f;
}

/* Branch inversion (Rio's "invert the condition" of a branch): x86 pairs
 * each condition with its negation in the low bit of the condition code,
 * so je <-> jne, jb <-> jae, jl <-> jge ... in both encodings. */
bool branch_invert_site(struct mctx *c, size_t i)
{
	return branch_delete_site(c, i) && c->insn[i].imm_off > 0;
}

int branch_invert_make(struct mctx *c, size_t i, struct mutation *m)
{
	uint8_t cc = insn_cc(c, &c->insn[i]);

	snprintf(m->what, sizeof(m->what), "condition %#x -> %#x", cc,
		 cc ^ 1);
	return patch_cc(c, i, m, cc ^ 1);
}

static bool is_string_op(const struct insn *in)
{
	uint8_t op = in->opcode[0];

	return (op >= 0xa4 && op <= 0xa7) || (op >= 0xaa && op <= 0xaf) ||
	       (op >= 0x6c && op <= 0x6f);
}

static bool rep_site(const struct mctx *c, size_t i)
{
	const struct insn *in = &c->insn[i];

	return (in->prefix0 == 0xf3 || in->prefix0 == 0xf2) &&
	       is_string_op(in);
}

/* Offset in instruction i of its rep/repne byte among the legacy prefixes. */
static int rep_byte(const struct mctx *c, size_t i)
{
	const uint8_t *b = insn_bytes(c, i);
	static const char legacy[] = "\xf0\xf2\xf3\x2e\x36\x3e\x26\x64\x65\x66\x67";

	for (int k = 0; k < c->insn[i].len; k++) {
		if (b[k] == c->insn[i].prefix0)
			return k;
		if (!memchr(legacy, b[k], sizeof(legacy) - 1))
			break;
	}
	return -1;
}

/* A compare with an immediate whose outcome decides a backward jcc within
 * the next few instructions: the bound of a loop. */
static bool bound_site(const struct mctx *c, size_t i)
{
	const struct insn *in = &c->insn[i];

	if (in->id != X86_INS_CMP || find_op(in, X86_OP_IMM) < 0 ||
	    in->imm_size == 0)
		return false;
	for (size_t j = i + 1; j < c->n && j <= i + FAULT_WINDOW; j++) {
		const struct insn *n = &c->insn[j];

		if (n->flags & INSN_JCC)
			return (n->flags & INSN_DIRECT) && n->target <= n->addr;
		if (!(n->flags & INSN_VALID) || insn_flow(n) ||
		    (n->regs_write & REGBIT(REG_FLAGS)))
			return false;
	}
	return false;
}

/* Loop/rep change (Rio's loop-bound and Nooks' "copy" family): either the
 * REP prefix of a string instruction is dropped (the byte becomes a DS
 * override, a no-op prefix in 64-bit mode, so one instruction of the same
 * length remains and it moves one element instead of rcx), or one bit of
 * a loop-bound compare immediate is flipped (never the sign bit), so the
 * loop runs a different number of times. */
bool loop_site(struct mctx *c, size_t i)
{
	if (!insn_valid(c, i))
		return false;
	return (rep_site(c, i) && rep_byte(c, i) >= 0) || bound_site(c, i);
}

int loop_make(struct mctx *c, size_t i, struct mutation *m)
{
	const struct insn *in = &c->insn[i];
	uint8_t b[MUTATE_PATCH_MAX];
	unsigned int bits = in->imm_size * 8u - 1;
	unsigned int bit;
	int k = rep_site(c, i) ? rep_byte(c, i) : -1;

	if (k >= 0) {
		b[0] = 0x3e;
		snprintf(m->what, sizeof(m->what), "rep prefix dropped");
		return mctx_patch(c, m, in->off + (uint32_t)k, b, 1);
	}
	bit = (unsigned int)mctx_below(c, bits);
	if (flip_field(c, i, in->imm_off, bit, b))
		return -ENOENT;
	snprintf(m->what, sizeof(m->what), "loop bound: bit %u flipped", bit);
	return mctx_patch(c, m, in->off, b, in->len);
}

static bool zero_idiom(const struct insn *in)
{
	return (in->id == X86_INS_XOR || in->id == X86_INS_SUB) &&
	       in->nops == 2 && in->op[0].type == X86_OP_REG &&
	       in->op[1].type == X86_OP_REG && in->op[0].reg == in->op[1].reg;
}

/* Initialization deletion (Rio's "initialization" fault: a variable left
 * uninitialized): a mov of an immediate into a register or memory, or a
 * zero idiom (xor/sub r, r), becomes NOPs. */
bool init_delete_site(struct mctx *c, size_t i)
{
	const struct insn *in = &c->insn[i];

	if (!insn_valid(c, i))
		return false;
	if (zero_idiom(in))
		return true;
	return (in->id == X86_INS_MOV || in->id == X86_INS_MOVABS) &&
	       in->nops == 2 && in->op[1].type == X86_OP_IMM &&
	       in->op[0].type != X86_OP_IMM;
}

int init_delete_make(struct mctx *c, size_t i, struct mutation *m)
{
	snprintf(m->what, sizeof(m->what), "initialization deleted");
	return patch_nops(c, i, m);
}

/* jb <-> jbe and jae <-> ja differ in bit 2 of the condition code, jl <->
 * jle and jge <-> jg in bit 1: each swap moves the boundary by one. */
static int off_by_one_cc(uint8_t cc)
{
	if (cc == 0x2 || cc == 0x3 || cc == 0x6 || cc == 0x7)
		return cc ^ 0x4;
	if (cc >= 0xc)
		return cc ^ 0x2;
	return -1;
}

static bool cmp_site(struct mctx *c, size_t i, uint8_t *b)
{
	const struct insn *in = &c->insn[i];
	int k = find_op(in, X86_OP_IMM);

	if (in->id != X86_INS_CMP || k < 0)
		return false;
	return !add_imm(c, i, k, 1, b) || !add_imm(c, i, k, -1, b);
}

/* Off-by-one (Rio's "off-by-one" fault: < written for <=): a compare's
 * immediate moves by one, or a jcc's condition swaps with its inclusive or
 * exclusive twin (jl <-> jle, jb <-> jbe, jg <-> jge, ja <-> jae). */
bool off_by_one_site(struct mctx *c, size_t i)
{
	uint8_t b[MUTATE_PATCH_MAX];

	if (!insn_valid(c, i))
		return false;
	if (c->insn[i].flags & INSN_JCC)
		return c->insn[i].imm_off &&
		       off_by_one_cc(insn_cc(c, &c->insn[i])) >= 0;
	return cmp_site(c, i, b);
}

int off_by_one_make(struct mctx *c, size_t i, struct mutation *m)
{
	const struct insn *in = &c->insn[i];
	uint8_t b[MUTATE_PATCH_MAX];
	int64_t d = mctx_below(c, 2) ? 1 : -1;
	int k = find_op(in, X86_OP_IMM);
	uint8_t cc;

	if (in->flags & INSN_JCC) {
		cc = insn_cc(c, in);
		snprintf(m->what, sizeof(m->what), "condition %#x -> %#x", cc,
			 off_by_one_cc(cc));
		return patch_cc(c, i, m, (uint8_t)off_by_one_cc(cc));
	}
	if (add_imm(c, i, k, d, b)) {
		d = -d;
		if (add_imm(c, i, k, d, b))
			return -ENOENT;
	}
	snprintf(m->what, sizeof(m->what), "compare immediate %+lld",
		 (long long)d);
	return mctx_patch(c, m, in->off, b, in->len);
}
