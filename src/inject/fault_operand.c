/* fault_operand.c - the fault types that change an operand: source and
 * destination operand, pointer, and stack corruption. Registers are changed
 * by rewriting one 3-bit register field (ModRM.reg, ModRM.rm, SIB.base or
 * the opcode's low bits) and keeping only the rewrites Capstone decodes as
 * the same instruction with exactly the wanted operand changed, so no
 * encoding table is needed and every variant is valid code. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "inject/fault.h"

#define MAX_VARIANTS	32

struct variant {
	uint8_t at;		/* byte of the instruction rewritten */
	uint8_t byte;		/* its new value */
};

/* The register fields of instruction i: (byte offset, bit shift) pairs. */
static int reg_fields(const struct insn *in, const uint8_t *b,
		      uint8_t at[3], uint8_t shift[3])
{
	uint8_t modrm;
	int n = 0;

	if (!in->modrm_off) {
		/* push/pop/mov r, imm/xchg/bswap: register in the opcode. */
		at[n] = in->imm_size ? in->imm_off - 1 : in->len - 1;
		shift[n++] = 0;
		return n;
	}
	modrm = b[in->modrm_off];
	at[n] = in->modrm_off;
	shift[n++] = 3;
	if ((modrm & 7) == 4 && modrm >> 6 != 3) {
		at[n] = in->modrm_off + 1;	/* SIB base */
		shift[n++] = 0;
	} else {
		at[n] = in->modrm_off;
		shift[n++] = 0;
	}
	return n;
}

/* Whether out is in with only operand k's register (or, for a memory
 * operand, its base) changed, to a GPR that is not the stack pointer. */
static bool only_changed(const struct insn *in, const struct insn *out, int k)
{
	for (int j = 0; j < in->nops; j++) {
		const struct insn_op *a = &in->op[j], *b = &out->op[j];
		bool target = j == k;

		if (a->type != b->type || a->access != b->access ||
		    a->size != b->size || a->index != b->index ||
		    a->val != b->val)
			return false;
		if (target != (a->reg != b->reg))
			return false;
		if (target && (reg_family(b->reg) < 0 ||
			       reg_family(b->reg) == REG_RSP))
			return false;
	}
	return true;
}

static int reg_variants(struct mctx *c, size_t i, int k, struct variant *v)
{
	const struct insn *in = &c->insn[i];
	uint8_t b[MUTATE_PATCH_MAX], at[3], shift[3];
	struct insn out;
	int nf, n = 0;

	memcpy(b, insn_bytes(c, i), in->len);
	nf = reg_fields(in, b, at, shift);
	for (int f = 0; f < nf; f++) {
		uint8_t orig = b[at[f]];

		for (unsigned int r = 0; r < 8 && n < MAX_VARIANTS; r++) {
			b[at[f]] = (uint8_t)((orig & ~(7u << shift[f])) |
					     r << shift[f]);
			if (b[at[f]] != orig && !same_insn(c, i, b, &out) &&
			    only_changed(in, &out, k)) {
				v[n].at = at[f];
				v[n++].byte = b[at[f]];
			}
		}
		b[at[f]] = orig;
	}
	return n;
}

/* Operands of instruction i matching want (a REG or MEM operand with the
 * given access bits): the variants of all of them together. */
static int variants_of(struct mctx *c, size_t i, uint8_t type, uint8_t acc,
		       bool exact, struct variant *v)
{
	const struct insn *in = &c->insn[i];
	int n = 0;

	if (!insn_valid(c, i) || insn_flow(in))
		return 0;
	for (int k = 0; k < in->nops && n < MAX_VARIANTS; k++) {
		const struct insn_op *o = &in->op[k];
		struct variant w[MAX_VARIANTS];
		int nw;

		if (o->type != type || !(o->access & acc) ||
		    (exact && o->access != acc))
			continue;
		nw = reg_variants(c, i, k, w);
		for (int j = 0; j < nw && n < MAX_VARIANTS; j++)
			v[n++] = w[j];
	}
	return n;
}

static int patch_variant(struct mctx *c, size_t i, struct mutation *m,
			 const struct variant *v)
{
	const struct insn *in = &c->insn[i];

	return mctx_patch(c, m, in->off + v->at, &v->byte, 1);
}

/* Instruction i has an immediate that is data (not a branch offset). */
static bool data_imm(struct mctx *c, size_t i)
{
	const struct insn *in = &c->insn[i];

	return insn_valid(c, i) && !insn_flow(in) && in->imm_size &&
	       find_op(in, X86_OP_IMM) >= 0;
}

/* Source operand (Rio's "source register" fault, Nooks' "src"): a register
 * the instruction only reads becomes another one, or one bit of an
 * immediate operand flips, so a wrong value flows on. */
bool src_operand_site(struct mctx *c, size_t i)
{
	struct variant v[MAX_VARIANTS];

	return data_imm(c, i) ||
	       variants_of(c, i, X86_OP_REG, CS_AC_READ, true, v) > 0;
}

int src_operand_make(struct mctx *c, size_t i, struct mutation *m)
{
	const struct insn *in = &c->insn[i];
	struct variant v[MAX_VARIANTS];
	int n = variants_of(c, i, X86_OP_REG, CS_AC_READ, true, v);
	int imm = data_imm(c, i) ? 1 : 0;
	size_t pick = (size_t)mctx_below(c, (uint64_t)(n + imm));
	uint8_t b[MUTATE_PATCH_MAX];
	unsigned int bit;

	if (pick < (size_t)n) {
		snprintf(m->what, sizeof(m->what), "source register changed");
		return patch_variant(c, i, m, &v[pick]);
	}
	bit = (unsigned int)mctx_below(c, in->imm_size * 8u);
	if (flip_field(c, i, in->imm_off, bit, b))
		return -ENOENT;
	snprintf(m->what, sizeof(m->what), "source immediate: bit %u flipped",
		 bit);
	return mctx_patch(c, m, in->off, b, in->len);
}

/* Destination operand (Rio's "destination register" fault, Nooks' "dst"):
 * the register an instruction writes becomes another one (never rsp), so
 * the result lands in the wrong place and the intended one keeps a stale
 * value. */
bool dst_operand_site(struct mctx *c, size_t i)
{
	struct variant v[MAX_VARIANTS];

	return variants_of(c, i, X86_OP_REG, CS_AC_WRITE, false, v) > 0;
}

int dst_operand_make(struct mctx *c, size_t i, struct mutation *m)
{
	struct variant v[MAX_VARIANTS];
	int n = variants_of(c, i, X86_OP_REG, CS_AC_WRITE, false, v);

	if (n <= 0)
		return -ENOENT;
	snprintf(m->what, sizeof(m->what), "destination register changed");
	return patch_variant(c, i, m, &v[mctx_below(c, (uint64_t)n)]);
}

/* Pointer fault (Rio's "pointer" fault: corrupt an address computation):
 * of a memory operand (lea included), one bit of the displacement flips or
 * the base register becomes another one. */
bool pointer_site(struct mctx *c, size_t i)
{
	const struct insn *in = &c->insn[i];
	struct variant v[MAX_VARIANTS];

	if (!insn_valid(c, i) || find_op(in, X86_OP_MEM) < 0)
		return false;
	return in->disp_size ||
	       variants_of(c, i, X86_OP_MEM, CS_AC_READ | CS_AC_WRITE, false,
			   v) > 0;
}

int pointer_make(struct mctx *c, size_t i, struct mutation *m)
{
	const struct insn *in = &c->insn[i];
	struct variant v[MAX_VARIANTS];
	int n = variants_of(c, i, X86_OP_MEM, CS_AC_READ | CS_AC_WRITE, false,
			    v);
	int disp = in->disp_size ? 1 : 0;
	size_t pick = (size_t)mctx_below(c, (uint64_t)(n + disp));
	uint8_t b[MUTATE_PATCH_MAX];
	unsigned int bit;

	if (pick < (size_t)n) {
		snprintf(m->what, sizeof(m->what), "base register changed");
		return patch_variant(c, i, m, &v[pick]);
	}
	bit = (unsigned int)mctx_below(c, in->disp_size * 8u);
	if (flip_field(c, i, in->disp_off, bit, b))
		return -ENOENT;
	snprintf(m->what, sizeof(m->what), "displacement: bit %u flipped",
		 bit);
	return mctx_patch(c, m, in->off, b, in->len);
}

static bool is_stack_reg(unsigned int reg)
{
	int f = reg_family(reg);

	return f == REG_RSP || f == REG_RBP;
}

/* A store to an rsp/rbp slot with an encoded displacement: its operand.
 * (Capstone 4 marks some compares' memory operand written: not stores.) */
static int stack_store(const struct insn *in)
{
	if (in->id == X86_INS_TEST || in->id == X86_INS_CMP ||
	    in->id == X86_INS_BT)
		return -1;
	for (int k = 0; k < in->nops; k++)
		if (in->op[k].type == X86_OP_MEM &&
		    (in->op[k].access & CS_AC_WRITE) &&
		    is_stack_reg(in->op[k].reg) && in->disp_size)
			return k;
	return -1;
}

static bool frame_alloc(const struct insn *in)
{
	return in->id == X86_INS_SUB && in->nops == 2 &&
	       in->op[0].type == X86_OP_REG &&
	       reg_family(in->op[0].reg) == REG_RSP &&
	       in->op[1].type == X86_OP_IMM && in->imm_size;
}

/* Stack slot (k >= 0, the displacement) or frame size (the immediate)
 * moved by delta; 0 when it still encodes. */
static int stack_try(struct mctx *c, size_t i, int64_t delta, uint8_t *b)
{
	const struct insn *in = &c->insn[i];
	int k = stack_store(in);

	if (k >= 0)
		return add_disp(c, i, k, delta, b);
	if (in->op[1].val + delta <= 0)
		return -ERANGE;
	return add_imm(c, i, 1, delta, b);
}

/* Stack corruption (the Rio/Nooks stack faults, the frame damage a wild
 * local write does): a store into an rsp/rbp-relative slot goes one slot
 * (8 bytes) up or down, onto a neighbouring local, a saved register or the
 * return address; or the frame allocation `sub rsp, imm` changes by 8, so
 * the frame and its teardown disagree. */
bool stack_site(struct mctx *c, size_t i)
{
	const struct insn *in = &c->insn[i];
	uint8_t b[MUTATE_PATCH_MAX];

	if (!insn_valid(c, i) || (stack_store(in) < 0 && !frame_alloc(in)))
		return false;
	return !stack_try(c, i, 8, b) || !stack_try(c, i, -8, b);
}

int stack_make(struct mctx *c, size_t i, struct mutation *m)
{
	const struct insn *in = &c->insn[i];
	uint8_t b[MUTATE_PATCH_MAX];
	int64_t d = mctx_below(c, 2) ? 8 : -8;

	if (stack_try(c, i, d, b)) {
		d = -d;
		if (stack_try(c, i, d, b))
			return -ENOENT;
	}
	snprintf(m->what, sizeof(m->what), "%s %+lld",
		 stack_store(in) >= 0 ? "stack slot" : "frame size",
		 (long long)d);
	return mctx_patch(c, m, in->off, b, in->len);
}
