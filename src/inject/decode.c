/* decode.c - the injector's only contact with Capstone. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inject/decode.h"

/* Each GPR under its four widths, in encoding order (rax=0 ... r15=15). */
static const uint16_t gpr_names[16][4] = {
	{ X86_REG_RAX, X86_REG_EAX, X86_REG_AX, X86_REG_AL },
	{ X86_REG_RCX, X86_REG_ECX, X86_REG_CX, X86_REG_CL },
	{ X86_REG_RDX, X86_REG_EDX, X86_REG_DX, X86_REG_DL },
	{ X86_REG_RBX, X86_REG_EBX, X86_REG_BX, X86_REG_BL },
	{ X86_REG_RSP, X86_REG_ESP, X86_REG_SP, X86_REG_SPL },
	{ X86_REG_RBP, X86_REG_EBP, X86_REG_BP, X86_REG_BPL },
	{ X86_REG_RSI, X86_REG_ESI, X86_REG_SI, X86_REG_SIL },
	{ X86_REG_RDI, X86_REG_EDI, X86_REG_DI, X86_REG_DIL },
	{ X86_REG_R8, X86_REG_R8D, X86_REG_R8W, X86_REG_R8B },
	{ X86_REG_R9, X86_REG_R9D, X86_REG_R9W, X86_REG_R9B },
	{ X86_REG_R10, X86_REG_R10D, X86_REG_R10W, X86_REG_R10B },
	{ X86_REG_R11, X86_REG_R11D, X86_REG_R11W, X86_REG_R11B },
	{ X86_REG_R12, X86_REG_R12D, X86_REG_R12W, X86_REG_R12B },
	{ X86_REG_R13, X86_REG_R13D, X86_REG_R13W, X86_REG_R13B },
	{ X86_REG_R14, X86_REG_R14D, X86_REG_R14W, X86_REG_R14B },
	{ X86_REG_R15, X86_REG_R15D, X86_REG_R15W, X86_REG_R15B },
};

int reg_family(unsigned int reg)
{
	switch (reg) {
	case X86_REG_AH: return REG_RAX;
	case X86_REG_CH: return REG_RCX;
	case X86_REG_DH: return REG_RDX;
	case X86_REG_BH: return REG_RBX;
	}
	for (int f = 0; f < 16; f++)
		for (int w = 0; w < 4; w++)
			if (gpr_names[f][w] == reg)
				return f;
	return -1;
}

static uint32_t reg_mask(const uint16_t *regs, uint8_t n)
{
	uint32_t m = 0;

	for (int i = 0; i < n; i++) {
		int f = reg_family(regs[i]);

		if (f >= 0)
			m |= REGBIT(f);
		else if (regs[i] == X86_REG_EFLAGS)
			m |= REGBIT(REG_FLAGS);
	}
	return m;
}

int decoder_open(struct decoder *d)
{
	if (cs_open(CS_ARCH_X86, CS_MODE_64, &d->cs) != CS_ERR_OK)
		return -ENOMEM;
	if (cs_option(d->cs, CS_OPT_DETAIL, CS_OPT_ON) != CS_ERR_OK)
		goto fail;
	d->scratch = cs_malloc(d->cs);
	if (!d->scratch)
		goto fail;
	return 0;
fail:
	cs_close(&d->cs);
	return -ENOMEM;
}

void decoder_close(struct decoder *d)
{
	if (d->scratch)
		cs_free(d->scratch, 1);
	d->scratch = NULL;
	cs_close(&d->cs);
}

static bool in_group(const cs_insn *ci, uint8_t group)
{
	for (int g = 0; g < ci->detail->groups_count; g++)
		if (ci->detail->groups[g] == group)
			return true;
	return false;
}

static uint8_t control_flags(const cs_insn *ci)
{
	const cs_x86 *x = &ci->detail->x86;
	uint8_t f = 0, op = x->opcode[0];

	if (in_group(ci, X86_GRP_CALL))
		f |= INSN_CALL;
	if (in_group(ci, X86_GRP_RET))
		f |= INSN_RET;
	/* Only the real jcc encodings: jrcxz and loop* are jumps too, but
	 * their condition is not a flipable condition code. */
	if ((op >= 0x70 && op <= 0x7f) ||
	    (op == 0x0f && x->opcode[1] >= 0x80 && x->opcode[1] <= 0x8f))
		f |= INSN_JCC;
	else if (ci->id == X86_INS_JMP)
		f |= INSN_JMP;
	if ((f & (INSN_CALL | INSN_JMP | INSN_JCC)) && x->op_count == 1 &&
	    x->operands[0].type == X86_OP_IMM)
		f |= INSN_DIRECT;
	if (ci->id == X86_INS_NOP || ci->id == X86_INS_INT3)
		f |= INSN_PAD;
	return f;
}

static void fill_ops(const cs_x86 *x, struct insn *out)
{
	out->nops = x->op_count < INSN_MAX_OPS ? x->op_count : INSN_MAX_OPS;
	for (int i = 0; i < out->nops; i++) {
		const cs_x86_op *o = &x->operands[i];
		struct insn_op *p = &out->op[i];

		p->type = o->type;
		p->access = o->access;
		p->size = o->size;
		if (o->type == X86_OP_REG) {
			p->reg = o->reg;
		} else if (o->type == X86_OP_IMM) {
			p->val = o->imm;
		} else if (o->type == X86_OP_MEM) {
			p->reg = o->mem.base;
			p->index = o->mem.index;
			p->segment = o->mem.segment;
			p->scale = (uint8_t)o->mem.scale;
			p->val = o->mem.disp;
		}
	}
}

/* Capstone's encoding sizes are not always the bytes' (found by
 * tests/fuzz/fuzz_mutate.c: `in eax, 0x40`, e5 40, has a 1-byte
 * immediate that Capstone calls 4 bytes long, so a flipped "bit 16" fell
 * past the instruction and the fault changed nothing).  The immediate is
 * the last field of an x86 instruction: it runs to the end; a
 * displacement that does not fit the instruction is no field to mutate. */
static void fix_fields(struct insn *in)
{
	if (in->imm_size && in->imm_off && in->imm_off < in->len)
		in->imm_size = in->len - in->imm_off;
	else
		in->imm_size = 0;
	if (in->disp_size && (!in->disp_off ||
			      in->disp_off + in->disp_size > in->len))
		in->disp_size = 0;
}

static void fill_insn(struct decoder *d, const cs_insn *ci, struct insn *out)
{
	const cs_x86 *x = &ci->detail->x86;
	cs_regs rd, wr;
	uint8_t nrd = 0, nwr = 0;

	memset(out, 0, sizeof(*out));
	out->addr = ci->address;
	out->id = ci->id;
	out->len = ci->size;
	out->flags = INSN_VALID | control_flags(ci);
	out->prefix0 = x->prefix[0];
	out->opcode[0] = x->opcode[0];
	out->opcode[1] = x->opcode[1];
	out->modrm_off = x->encoding.modrm_offset;
	out->disp_off = x->encoding.disp_offset;
	out->disp_size = x->encoding.disp_size;
	out->imm_off = x->encoding.imm_offset;
	out->imm_size = x->encoding.imm_size;
	fix_fields(out);
	fill_ops(x, out);
	if (out->flags & INSN_DIRECT)
		out->target = (uint64_t)x->operands[0].imm;
	if (cs_regs_access(d->cs, ci, rd, &nrd, wr, &nwr) == CS_ERR_OK) {
		out->regs_read = reg_mask(rd, nrd);
		out->regs_write = reg_mask(wr, nwr);
	}
}

int decode_one(struct decoder *d, const uint8_t *code, size_t len,
	       uint64_t addr, struct insn *out)
{
	const uint8_t *p = code;
	size_t left = len;
	uint64_t a = addr;

	if (!cs_disasm_iter(d->cs, &p, &left, &a, d->scratch))
		return -EILSEQ;
	fill_insn(d, d->scratch, out);
	return 0;
}

long decode_all(struct decoder *d, const uint8_t *code, size_t len,
		uint64_t base, struct insn **out)
{
	struct insn *v = malloc((len ? len : 1) * sizeof(*v));
	size_t n = 0, off = 0;

	if (!v)
		return -ENOMEM;
	while (off < len) {
		struct insn *in = &v[n++];

		if (decode_one(d, code + off, len - off, base + off, in)) {
			memset(in, 0, sizeof(*in));
			in->addr = base + off;
			in->len = 1;
		}
		in->off = (uint32_t)off;
		off += in->len;
	}
	/* Sized for one-byte instructions; give the rest back (keeping v
	 * when the allocator will not: it is still valid then). */
	if (n < (len ? len : 1)) {
		struct insn *shrunk = realloc(v, (n ? n : 1) * sizeof(*v));

		if (shrunk)
			v = shrunk;
	}
	*out = v;
	return (long)n;
}

void decode_text(struct decoder *d, const uint8_t *code, size_t len,
		 uint64_t addr, char *buf, size_t size)
{
	size_t off = 0, used = 0;

	buf[0] = '\0';
	while (off < len && used < size) {
		const uint8_t *p = code + off;
		size_t left = len - off;
		uint64_t a = addr + off;
		const char *sep = off ? "; " : "";
		int w;

		if (cs_disasm_iter(d->cs, &p, &left, &a, d->scratch)) {
			w = snprintf(buf + used, size - used, "%s%s%s%s", sep,
				     d->scratch->mnemonic,
				     d->scratch->op_str[0] ? " " : "",
				     d->scratch->op_str);
			off += d->scratch->size;
		} else {
			w = snprintf(buf + used, size - used, "%s(bad)", sep);
			off++;
		}
		used += w > 0 ? (size_t)w : 0;
	}
}
