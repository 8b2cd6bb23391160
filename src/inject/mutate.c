/* mutate.c - the fault-type table, seeded choice of one site, and applying
 * or reverting the chosen patches. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inject/fault.h"

/* The one table of fault types: the name a campaign uses, and the pair. */
#define FAULT(T, fn, name) [FAULT_##T] = { name, fn##_site, fn##_make }

static const struct fault_def faults[FAULT_NTYPES] = {
	FAULT(TEXT_FLIP, text_flip, "text-flip"),
	FAULT(SRC_OPERAND, src_operand, "src-operand"),
	FAULT(DST_OPERAND, dst_operand, "dst-operand"),
	FAULT(POINTER, pointer, "pointer"),
	FAULT(INSN_DELETE, insn_delete, "insn-delete"),
	FAULT(BRANCH_DELETE, branch_delete, "branch-delete"),
	FAULT(BRANCH_INVERT, branch_invert, "branch-invert"),
	FAULT(LOOP, loop, "loop"),
	FAULT(INIT_DELETE, init_delete, "init-delete"),
	FAULT(INTERFACE, interface, "interface"),
	FAULT(ALLOC, alloc, "alloc"),
	FAULT(PREMATURE_FREE, premature_free, "premature-free"),
	FAULT(LEAK, leak, "leak"),
	FAULT(COPY_OVERRUN, copy_overrun, "copy-overrun"),
	FAULT(OFF_BY_ONE, off_by_one, "off-by-one"),
	FAULT(SYNC, sync, "sync"),
	FAULT(STACK, stack, "stack"),
};

const char *fault_type_name(enum fault_type t)
{
	if ((unsigned int)t >= FAULT_NTYPES)
		return NULL;
	return faults[t].name;
}

int fault_type_parse(const char *name)
{
	for (int t = 0; t < FAULT_NTYPES; t++)
		if (!strcmp(name, faults[t].name))
			return t;
	return -EINVAL;
}

/* splitmix64 (Steele, Lea & Flood 2014): tiny, and the same sequence on
 * every machine, so a seed names one mutation for good. */
uint64_t mctx_rand(struct mctx *c)
{
	uint64_t z = (c->rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

uint64_t mctx_below(struct mctx *c, uint64_t n)
{
	return n ? mctx_rand(c) % n : 0;
}

int mctx_patch(struct mctx *c, struct mutation *m, uint32_t off,
	       const uint8_t *bytes, uint32_t len)
{
	struct mutate_patch *p;

	if (m->npatches == MUTATE_MAX_PATCHES || len > MUTATE_PATCH_MAX ||
	    off > c->in->len || len > c->in->len - off)
		return -E2BIG;
	p = &m->patch[m->npatches++];
	p->off = off;
	p->len = len;
	memcpy(p->old, c->in->code + off, len);
	memcpy(p->new, bytes, len);
	return 0;
}

void nop_fill(uint8_t *buf, size_t len)
{
	static const uint8_t nops[9][9] = {
		{ 0x90 },
		{ 0x66, 0x90 },
		{ 0x0f, 0x1f, 0x00 },
		{ 0x0f, 0x1f, 0x40, 0x00 },
		{ 0x0f, 0x1f, 0x44, 0x00, 0x00 },
		{ 0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00 },
		{ 0x0f, 0x1f, 0x80, 0x00, 0x00, 0x00, 0x00 },
		{ 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00 },
		{ 0x66, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00 },
	};

	while (len) {
		size_t n = len > 9 ? 9 : len;

		memcpy(buf, nops[n - 1], n);
		buf += n;
		len -= n;
	}
}

int patch_nops(struct mctx *c, size_t i, struct mutation *m)
{
	uint8_t b[MUTATE_PATCH_MAX];

	nop_fill(b, c->insn[i].len);
	return mctx_patch(c, m, c->insn[i].off, b, c->insn[i].len);
}

int same_insn(struct mctx *c, size_t i, const uint8_t *bytes,
	      struct insn *out)
{
	const struct insn *in = &c->insn[i];

	if (decode_one(c->dec, bytes, in->len, in->addr, out))
		return -EILSEQ;
	if (out->id != in->id || out->len != in->len || out->nops != in->nops)
		return -EILSEQ;
	return 0;
}

static int64_t get_le(const uint8_t *b, uint8_t size)
{
	uint64_t v = 0;

	for (int k = size; k-- > 0;)
		v = v << 8 | b[k];
	if (size < 8 && (v >> (8 * size - 1)) & 1)
		v |= ~0ull << (8 * size);
	return (int64_t)v;
}

static void put_le(uint8_t *b, uint8_t size, int64_t v)
{
	for (int k = 0; k < size; k++)
		b[k] = (uint8_t)((uint64_t)v >> (8 * k));
}

static uint64_t size_mask(uint8_t size)
{
	return size >= 8 ? ~0ull : (1ull << (8 * size)) - 1;
}

/* The field is read as signed, as the CPU sign-extends it (zero-extending
 * encodings like mov r32, imm32 only move the range the check allows). */
static int add_field(struct mctx *c, size_t i, int k, int64_t delta,
		     uint8_t *bytes, uint8_t at, uint8_t size)
{
	const struct insn *in = &c->insn[i];
	int64_t old, new, lim;
	struct insn out;

	if (!size || size > 8 || k < 0 || k >= in->nops)
		return -ERANGE;
	memcpy(bytes, insn_bytes(c, i), in->len);
	old = get_le(bytes + at, size);
	if (__builtin_add_overflow(old, delta, &new))
		return -ERANGE;
	lim = size < 8 ? (int64_t)1 << (8 * size - 1) : 0;
	if (lim && (new < -lim || new >= lim))
		return -ERANGE;
	put_le(bytes + at, size, new);
	if (same_insn(c, i, bytes, &out))
		return -ERANGE;
	if (((uint64_t)(out.op[k].val - in->op[k].val) ^ (uint64_t)delta) &
	    size_mask(in->op[k].type == X86_OP_IMM && in->op[k].size ?
		      in->op[k].size : 8))
		return -ERANGE;
	return 0;
}

int add_imm(struct mctx *c, size_t i, int k, int64_t delta, uint8_t *bytes)
{
	const struct insn *in = &c->insn[i];

	return add_field(c, i, k, delta, bytes, in->imm_off, in->imm_size);
}

int add_disp(struct mctx *c, size_t i, int k, int64_t delta, uint8_t *bytes)
{
	const struct insn *in = &c->insn[i];

	return add_field(c, i, k, delta, bytes, in->disp_off, in->disp_size);
}

int flip_field(struct mctx *c, size_t i, uint8_t at, unsigned int bit,
	       uint8_t *bytes)
{
	struct insn out;

	memcpy(bytes, insn_bytes(c, i), c->insn[i].len);
	bytes[at + bit / 8] ^= (uint8_t)(1u << (bit % 8));
	return same_insn(c, i, bytes, &out);
}

int find_op(const struct insn *in, uint8_t type)
{
	for (int k = 0; k < in->nops; k++)
		if (in->op[k].type == type)
			return k;
	return -1;
}

const char *callee(const struct mctx *c, size_t i)
{
	const struct insn *in = &c->insn[i];
	size_t lo = 0, hi = c->in->nsyms;

	if (!(in->flags & INSN_DIRECT) || !c->in->syms)
		return NULL;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (c->in->syms[mid].addr < in->target)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < c->in->nsyms && c->in->syms[lo].addr == in->target)
		return c->in->syms[lo].name;
	return NULL;
}

bool is_branch_target(const struct mctx *c, uint64_t addr)
{
	for (size_t i = 0; i < c->n; i++)
		if ((c->insn[i].flags & INSN_DIRECT) &&
		    c->insn[i].target == addr)
			return true;
	return false;
}

static int check_input(const struct mutate_input *in, enum fault_type t)
{
	if ((unsigned int)t >= FAULT_NTYPES || (!in->code && in->len) ||
	    in->len > UINT32_MAX || (in->nsyms && !in->syms))
		return -EINVAL;
	for (size_t s = 1; s < in->nsyms; s++)
		if (in->syms[s].addr < in->syms[s - 1].addr)
			return -EINVAL;
	for (size_t s = 0; s < in->nsyms; s++)
		if (!in->syms[s].name)
			return -EINVAL;
	if (in->nonly && !in->only)
		return -EINVAL;
	for (size_t s = 1; s < in->nonly; s++)
		if (in->only[s] <= in->only[s - 1])
			return -EINVAL;
	return 0;
}

static int mctx_open(struct mctx *c, const struct mutate_input *in,
		     struct decoder *dec, enum fault_type t)
{
	long n;
	int err = check_input(in, t);

	if (err)
		return err;
	err = decoder_open(dec);
	if (err)
		return err;
	n = decode_all(dec, in->code, in->len, in->base, &c->insn);
	if (n < 0) {
		decoder_close(dec);
		return (int)n;
	}
	c->in = in;
	c->dec = dec;
	c->n = (size_t)n;
	return 0;
}

static void mctx_close(struct mctx *c)
{
	free(c->insn);
	decoder_close(c->dec);
}

/* Widen [*start, *end) to whole instructions, for the before/after text. */
static void widen(const struct mctx *c, uint32_t *start, uint32_t *end)
{
	for (size_t i = 0; i < c->n; i++) {
		uint32_t s = c->insn[i].off, e = s + c->insn[i].len;

		if (s <= *start && *start < e)
			*start = s;
		if (s < *end && *end < e)
			*end = e;
	}
}

static void describe(struct mctx *c, struct mutation *m)
{
	uint8_t buf[2 * MUTATE_PATCH_MAX * MUTATE_MAX_PATCHES + 32];
	uint32_t start = UINT32_MAX, end = 0;

	for (unsigned int p = 0; p < m->npatches; p++) {
		if (m->patch[p].off < start)
			start = m->patch[p].off;
		if (m->patch[p].off + m->patch[p].len > end)
			end = m->patch[p].off + m->patch[p].len;
	}
	widen(c, &start, &end);
	if (end - start > sizeof(buf))
		end = start + sizeof(buf);
	memcpy(buf, c->in->code + start, end - start);
	decode_text(c->dec, buf, end - start, c->in->base + start,
		    m->before, sizeof(m->before));
	/* buf + (off - start): buf + off alone may point past buf, which
	 * is undefined however it is brought back (found by fuzz_mutate) */
	for (unsigned int p = 0; p < m->npatches; p++)
		if (m->patch[p].off + m->patch[p].len <= end)
			memcpy(buf + (m->patch[p].off - start), m->patch[p].new,
			       m->patch[p].len);
	decode_text(c->dec, buf, end - start, c->in->base + start,
		    m->after, sizeof(m->after));
}

/* Is instruction i one of in->only's (or is there no such list)? */
static bool allowed(const struct mctx *c, size_t i)
{
	const uint32_t *o = c->in->only;
	size_t lo = 0, hi = c->in->nonly;

	if (!o)
		return true;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (o[mid] == c->insn[i].off)
			return true;
		if (o[mid] < c->insn[i].off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

static bool is_site(struct mctx *c, enum fault_type t, size_t i)
{
	return allowed(c, i) && faults[t].site(c, i);
}

static size_t count_sites(struct mctx *c, enum fault_type t)
{
	size_t n = 0;

	for (size_t i = 0; i < c->n; i++)
		if (is_site(c, t, i))
			n++;
	return n;
}

static size_t nth_site(struct mctx *c, enum fault_type t, size_t k)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		if (is_site(c, t, i) && k-- == 0)
			break;
	return i;
}

long mutate_count(const struct mutate_input *in, enum fault_type t)
{
	struct decoder dec;
	struct mctx c;
	long n;
	int err = mctx_open(&c, in, &dec, t);

	if (err)
		return err;
	n = (long)count_sites(&c, t);
	mctx_close(&c);
	return n;
}

int mutate_pick(const struct mutate_input *in, enum fault_type t,
		uint64_t seed, struct mutation *out)
{
	struct decoder dec;
	struct mctx c;
	size_t i;
	int err = mctx_open(&c, in, &dec, t);

	if (err)
		return err;
	memset(out, 0, sizeof(*out));
	out->type = t;
	c.rng = seed;
	out->nsites = count_sites(&c, t);
	err = -ENOENT;
	if (out->nsites) {
		out->site = (size_t)mctx_below(&c, out->nsites);
		i = nth_site(&c, t, out->site);
		out->addr = c.insn[i].addr;
		err = faults[t].make(&c, i, out);
		if (!err)
			describe(&c, out);
	}
	mctx_close(&c);
	return err;
}

static int check_patches(const uint8_t *code, size_t len,
			 const struct mutation *m, bool applied)
{
	if (m->npatches > MUTATE_MAX_PATCHES)
		return -EINVAL;
	for (unsigned int p = 0; p < m->npatches; p++) {
		const struct mutate_patch *q = &m->patch[p];

		if (q->len > MUTATE_PATCH_MAX || q->off > len ||
		    q->len > len - q->off)
			return -EINVAL;
		if (memcmp(code + q->off, applied ? q->new : q->old, q->len))
			return -ESTALE;
	}
	return 0;
}

int mutate_apply(uint8_t *code, size_t len, const struct mutation *m)
{
	int err = check_patches(code, len, m, false);

	if (err)
		return err;
	for (unsigned int p = 0; p < m->npatches; p++)
		memcpy(code + m->patch[p].off, m->patch[p].new,
		       m->patch[p].len);
	return 0;
}

int mutate_revert(uint8_t *code, size_t len, const struct mutation *m)
{
	int err = check_patches(code, len, m, true);

	if (err)
		return err;
	for (unsigned int p = m->npatches; p-- > 0;)
		memcpy(code + m->patch[p].off, m->patch[p].old,
		       m->patch[p].len);
	return 0;
}
