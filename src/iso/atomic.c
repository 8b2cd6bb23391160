/* atomic.c - a guest's locked read-modify-write performed atomically
 * (see atomic.h for why). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "inject/decode.h"
#include "iso/atomic.h"

#define FL_CF	0x001ull
#define FL_PF	0x004ull
#define FL_AF	0x010ull
#define FL_ZF	0x040ull
#define FL_SF	0x080ull
#define FL_OF	0x800ull
#define FL_ARITH (FL_CF | FL_PF | FL_AF | FL_ZF | FL_SF | FL_OF)

/* ---- finding the instruction ---- */

struct rmw_finder {
	struct decoder dec;
};

struct rmw_finder *rmw_finder_new(void)
{
	struct rmw_finder *f = calloc(1, sizeof(*f));

	if (f && decoder_open(&f->dec)) {
		free(f);
		return NULL;
	}
	return f;
}

void rmw_finder_free(struct rmw_finder *f)
{
	if (!f)
		return;
	decoder_close(&f->dec);
	free(f);
}

static bool legacy_prefix(uint8_t b)
{
	return b == 0xf0 || b == 0xf2 || b == 0xf3 || b == 0x66 ||
	       b == 0x67 || b == 0x26 || b == 0x2e || b == 0x36 ||
	       b == 0x3e || b == 0x64 || b == 0x65;
}

/* Could an instruction starting at c[0..n) be lock-prefixed, or xchg
 * with a memory operand?  A cheap test before asking the decoder. */
static bool maybe_rmw(const uint8_t *c, size_t n)
{
	size_t i = 0;

	for (; i < n && legacy_prefix(c[i]); i++)
		if (c[i] == 0xf0)
			return true;
	if (i < n && (c[i] & 0xf0) == 0x40)	/* REX */
		i++;
	return i + 1 < n && (c[i] == 0x86 || c[i] == 0x87) &&
	       (c[i + 1] >> 6) != 3;
}

static enum rmw_kind kind_of(unsigned int id)
{
	switch (id) {
	case X86_INS_ADD: return RMW_ADD;
	case X86_INS_SUB: return RMW_SUB;
	case X86_INS_AND: return RMW_AND;
	case X86_INS_OR: return RMW_OR;
	case X86_INS_XOR: return RMW_XOR;
	case X86_INS_INC: return RMW_INC;
	case X86_INS_DEC: return RMW_DEC;
	case X86_INS_NEG: return RMW_NEG;
	case X86_INS_NOT: return RMW_NOT;
	case X86_INS_XADD: return RMW_XADD;
	case X86_INS_XCHG: return RMW_XCHG;
	case X86_INS_CMPXCHG: return RMW_CMPXCHG;
	case X86_INS_BTS: return RMW_BTS;
	case X86_INS_BTR: return RMW_BTR;
	case X86_INS_BTC: return RMW_BTC;
	default: return RMW_OTHER;
	}
}

static bool high_byte(unsigned int reg)
{
	return reg == X86_REG_AH || reg == X86_REG_BH || reg == X86_REG_CH ||
	       reg == X86_REG_DH;
}

/* The fs or gs override among the legacy prefixes at c (Capstone does not
 * always report it in the operand). */
static int8_t seg_of(const uint8_t *c, size_t n)
{
	int8_t seg = -1;

	for (size_t i = 0; i < n && legacy_prefix(c[i]); i++)
		if (c[i] == 0x64 || c[i] == 0x65)
			seg = (int8_t)(c[i] - 0x60);
	return seg;
}

/* Fill m's operands from in; false when in is not one m can describe. */
static bool fill(struct rmw *m, const struct insn *in)
{
	const struct insn_op *mem = NULL;

	m->reg = m->base = m->index = -1;
	for (unsigned int i = 0; i < in->nops; i++) {
		const struct insn_op *o = &in->op[i];

		if (o->type == X86_OP_MEM && !mem) {
			mem = o;
		} else if (o->type == X86_OP_REG) {
			if (high_byte(o->reg))
				m->kind = RMW_OTHER;
			m->reg = (int8_t)reg_family(o->reg);
		} else if (o->type == X86_OP_IMM) {
			m->has_imm = true;
			m->imm = o->val;
		}
	}
	if (!mem)
		return false;
	m->size = mem->size;
	m->rip_relative = mem->reg == X86_REG_RIP;
	m->base = (int8_t)reg_family(mem->reg);
	m->index = (int8_t)reg_family(mem->index);
	m->scale = mem->scale;
	m->disp = mem->val;
	return true;
}

/* Does the instruction write a register its address is made of?  Then the
 * address cannot be computed from the registers after it.  (Capstone does
 * not always list cmpxchg's accumulator among the registers written.) */
static bool address_clobbered(const struct rmw *m, const struct insn *in)
{
	uint32_t w = in->regs_write;

	if (m->kind == RMW_CMPXCHG)
		w |= REGBIT(REG_RAX);
	if (m->reg >= 0 && (m->kind == RMW_XADD || m->kind == RMW_XCHG ||
			    m->kind == RMW_CMPXCHG))
		w |= REGBIT(m->reg);
	return (m->base >= 0 && (w & REGBIT(m->base))) ||
	       (m->index >= 0 && (w & REGBIT(m->index)));
}

int rmw_find(struct rmw_finder *f, const uint8_t *code, size_t n,
	     const struct rmw_regs *r, uint32_t size, struct rmw *out,
	     unsigned int max)
{
	unsigned int found = 0;
	struct insn in;

	if (n > 15)
		return -EINVAL;
	/* The longest first: a prefix belongs to the instruction it stands
	 * before (without it, the rest decodes too: gs-less, lock-less) -
	 * unless it was the last byte of the instruction before, which only
	 * the address tells. */
	for (size_t len = n; len >= 2 && found < max; len--) {
		const uint8_t *c = code + n - len;
		struct rmw m = { 0 };

		if (!maybe_rmw(c, len) ||
		    decode_one(&f->dec, c, len, r->rip - len, &in) || in.len != len)
			continue;
		if (in.prefix0 != X86_PREFIX_LOCK && in.id != X86_INS_XCHG)
			continue;
		m.kind = kind_of(in.id);
		m.len = (uint8_t)len;
		m.seg = seg_of(c, len);
		if (!fill(&m, &in) || m.size != size ||
		    address_clobbered(&m, &in))
			continue;
		out[found++] = m;
	}
	return found ? (int)found : -ENOENT;
}

/* ---- the operation ---- */

static bool bit_op(enum rmw_kind k)
{
	return k == RMW_BTS || k == RMW_BTR || k == RMW_BTC;
}

static uint64_t mask_of(unsigned int size)
{
	return size == 8 ? ~0ull : (1ull << (8 * size)) - 1;
}

static uint64_t sext(uint64_t v, unsigned int size)
{
	unsigned int sh = 64 - 8 * size;

	return (uint64_t)((int64_t)(v << sh) >> sh);
}

uint64_t rmw_address(const struct rmw *m, const struct rmw_regs *r,
		     uint64_t seg_base)
{
	uint64_t ea = (uint64_t)m->disp + seg_base;

	if (m->rip_relative)
		return ea + r->rip;
	if (m->base >= 0)
		ea += r->gpr[m->base];
	if (m->index >= 0)
		ea += r->gpr[m->index] * m->scale;
	/* bt* with a register offset addresses the unit holding the bit */
	if (bit_op(m->kind) && !m->has_imm && m->reg >= 0)
		ea += (uint64_t)((int64_t)sext(r->gpr[m->reg], m->size) >>
				 (m->size == 8 ? 6 : m->size == 4 ? 5 : 4)) *
		      m->size;
	return ea;
}

static uint64_t load(void *p, unsigned int size)
{
	switch (size) {
	case 1: return __atomic_load_n((uint8_t *)p, __ATOMIC_SEQ_CST);
	case 2: return __atomic_load_n((uint16_t *)p, __ATOMIC_SEQ_CST);
	case 4: return __atomic_load_n((uint32_t *)p, __ATOMIC_SEQ_CST);
	default: return __atomic_load_n((uint64_t *)p, __ATOMIC_SEQ_CST);
	}
}

/* Compare-and-swap *p from *old to new; on failure *old gets *p. */
static bool cas(void *p, unsigned int size, uint64_t *old, uint64_t new)
{
	bool ok;

#define CAS(T) do {							\
		T o = (T)*old;						\
		ok = __atomic_compare_exchange_n((T *)p, &o, (T)new, false, \
						 __ATOMIC_SEQ_CST,	\
						 __ATOMIC_SEQ_CST);	\
		*old = o;						\
	} while (0)
	switch (size) {
	case 1: CAS(uint8_t); break;
	case 2: CAS(uint16_t); break;
	case 4: CAS(uint32_t); break;
	default: CAS(uint64_t); break;
	}
#undef CAS
	return ok;
}

/* The second operand: the immediate or the register (bit number for
 * bt*, reduced to the unit rmw_address() chose). */
static uint64_t source(const struct rmw *m, const struct rmw_regs *r)
{
	uint64_t v = m->has_imm ? (uint64_t)m->imm : r->gpr[m->reg];

	if (bit_op(m->kind))
		return 1ull << (v & (8 * m->size - 1));
	return v & mask_of(m->size);
}

static uint64_t apply(enum rmw_kind k, uint64_t a, uint64_t b, uint64_t mask)
{
	switch (k) {
	case RMW_ADD: case RMW_XADD: return (a + b) & mask;
	case RMW_SUB: return (a - b) & mask;
	case RMW_AND: return a & b;
	case RMW_BTR: return a & ~b;
	case RMW_OR: case RMW_BTS: return a | b;
	case RMW_XOR: case RMW_BTC: return a ^ b;
	case RMW_INC: return (a + 1) & mask;
	case RMW_DEC: return (a - 1) & mask;
	case RMW_NEG: return (0 - a) & mask;
	case RMW_NOT: return ~a & mask;
	default: return a;
	}
}

static uint64_t szp(uint64_t res, unsigned int size)
{
	uint64_t f = 0;

	if (!(res & mask_of(size)))
		f |= FL_ZF;
	if ((res >> (8 * size - 1)) & 1)
		f |= FL_SF;
	if (!__builtin_parity((unsigned int)(res & 0xff)))
		f |= FL_PF;
	return f;
}

/* The flags of a + b = res (add) or a - b = res (sub): all six. */
static uint64_t add_flags(uint64_t a, uint64_t b, uint64_t res,
			  unsigned int size, bool sub)
{
	unsigned int top = 8 * size - 1;
	uint64_t f = szp(res, size);
	uint64_t of = sub ? (a ^ b) & (a ^ res) : (a ^ res) & (b ^ res);

	if (sub ? a < b : res < a)
		f |= FL_CF;
	if ((of >> top) & 1)
		f |= FL_OF;
	if ((a ^ b ^ res) & 0x10)
		f |= FL_AF;
	return f;
}

/* rflags after m turned a into res with second operand b, from old (the
 * flags m leaves alone, or leaves undefined, are kept as KVM set them). */
static uint64_t flags_after(const struct rmw *m, uint64_t a, uint64_t b,
			    uint64_t res, uint64_t old)
{
	unsigned int s = m->size;

	switch (m->kind) {
	case RMW_ADD: case RMW_XADD:
		return (old & ~FL_ARITH) | add_flags(a, b, res, s, false);
	case RMW_SUB:
		return (old & ~FL_ARITH) | add_flags(a, b, res, s, true);
	case RMW_NEG:		/* 0 - a */
		return (old & ~FL_ARITH) | add_flags(0, a, res, s, true);
	case RMW_INC: case RMW_DEC:
		return (old & ~(FL_ARITH & ~FL_CF)) |
		       (add_flags(a, 1, res, s, m->kind == RMW_DEC) & ~FL_CF);
	case RMW_AND: case RMW_OR: case RMW_XOR:
		return (old & ~(FL_ARITH & ~FL_AF)) | szp(res, s);
	case RMW_BTS: case RMW_BTR: case RMW_BTC:
		return (old & ~FL_CF) | (a & b ? FL_CF : 0);
	default:
		return old;
	}
}

/* Write v into GPR n as an operation of size bytes does: 4 zero-extends,
 * 1 and 2 keep the upper bits. */
static void set_reg(struct rmw_regs *r, int n, unsigned int size, uint64_t v)
{
	uint64_t mask = mask_of(size);

	if (size == 4 || size == 8)
		r->gpr[n] = v & mask;
	else
		r->gpr[n] = (r->gpr[n] & ~mask) | (v & mask);
}

static int perform_cmpxchg(const struct rmw *m, void *p, uint64_t data,
			   struct rmw_regs *r)
{
	uint64_t acc = r->gpr[0] & mask_of(m->size), seen = acc;

	/* KVM found RAM unequal: its read was the instruction's moment; its
	 * store of that old value back would undo another vCPU's update. */
	if (!(r->rflags & FL_ZF))
		return 0;
	if (cas(p, m->size, &seen, data))
		return 0;
	set_reg(r, 0, m->size, seen);
	r->rflags = (r->rflags & ~FL_ARITH) |
		    add_flags(acc, seen, (acc - seen) & mask_of(m->size),
			      m->size, true);
	return 1;
}

static int perform_xchg(const struct rmw *m, void *p, uint64_t data,
			struct rmw_regs *r)
{
	uint64_t seen = load(p, m->size);

	while (!cas(p, m->size, &seen, data))
		;
	if (seen == (r->gpr[m->reg] & mask_of(m->size)))
		return 0;
	set_reg(r, m->reg, m->size, seen);
	return 1;
}

int rmw_perform(const struct rmw *m, void *p, uint64_t data,
		struct rmw_regs *r)
{
	uint64_t mask, b, a, res, fl;
	int changed = 0;

	if (m->kind <= RMW_OTHER || (uintptr_t)p % m->size ||
	    (m->size != 1 && m->size != 2 && m->size != 4 && m->size != 8) ||
	    (m->kind >= RMW_XADD && m->kind <= RMW_CMPXCHG && m->reg < 0))
		return -EINVAL;
	mask = mask_of(m->size);
	data &= mask;
	if (m->kind == RMW_CMPXCHG)
		return perform_cmpxchg(m, p, data, r);
	if (m->kind == RMW_XCHG)
		return perform_xchg(m, p, data, r);
	if (m->kind == RMW_XADD)	/* KVM stored V + b and put V in reg */
		b = (data - r->gpr[m->reg]) & mask;
	else if (m->has_imm || m->reg >= 0)
		b = source(m, r);
	else
		b = 0;
	a = load(p, m->size);
	do
		res = apply(m->kind, a, b, mask);
	while (!cas(p, m->size, &a, res));
	if (m->kind == RMW_XADD && a != (r->gpr[m->reg] & mask)) {
		set_reg(r, m->reg, m->size, a);
		changed = 1;
	}
	fl = flags_after(m, a, b, res, r->rflags);
	if (fl != r->rflags) {
		r->rflags = fl;
		changed = 1;
	}
	return changed;
}
