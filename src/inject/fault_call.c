/* fault_call.c - the fault types that act on calls to kernel services:
 * interface, allocation failure, premature free, leak, copy overrun and
 * synchronization. Callees are known only through the caller's symbols
 * (exact target address -> name), so only direct rel32 calls and tail-call
 * jumps count; calls through retpoline thunks or function pointers do not. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "inject/fault.h"

#define CALLEE_SAVED	(REGBIT(REG_RBX) | REGBIT(REG_RBP) | 0xf000u)
#define ARG_REGS	(REGBIT(REG_RDI) | REGBIT(REG_RSI) | REGBIT(REG_RDX) | \
			 REGBIT(REG_RCX) | REGBIT(REG_R8) | REGBIT(REG_R9))

static const char *const alloc_fns[] = {
	"kmalloc", "kmalloc_node", "kmalloc_trace", "kmalloc_node_trace",
	"kmalloc_large", "kmalloc_large_node", "kmalloc_node_track_caller",
	"kmalloc_noprof", "kmalloc_node_noprof", "kmalloc_trace_noprof",
	"kzalloc", "kcalloc", "krealloc", "kmem_cache_alloc",
	"kmem_cache_alloc_node", "kmem_cache_alloc_trace",
	"kmem_cache_alloc_lru", "kmem_cache_alloc_noprof", "kmem_cache_zalloc",
	"vmalloc", "vzalloc", "vmalloc_node", "vzalloc_node", "vmalloc_user",
	"kvmalloc", "kvmalloc_node", "kvzalloc", "kvcalloc", "devm_kmalloc",
	"devm_kzalloc", "devm_kcalloc", "kmemdup", "kstrdup", "kstrndup",
	"get_free_pages", "get_zeroed_page", "alloc_pages", "alloc_pages_node",
	"dma_alloc_attrs", "dma_alloc_coherent", "alloc_skb",
	"netdev_alloc_skb", "napi_alloc_skb", NULL
};

static const char *const free_fns[] = {
	"kfree", "kvfree", "vfree", "kfree_sensitive", "kzfree", "kfree_const",
	"kmem_cache_free", "devm_kfree", "free_pages", "kfree_skb",
	"kfree_skb_reason", "consume_skb", "dev_kfree_skb_any",
	"dev_kfree_skb_irq", "dev_kfree_skb_any_reason",
	"dev_kfree_skb_irq_reason", "napi_consume_skb", "dma_free_attrs",
	"dma_free_coherent", "free_netdev", NULL
};

/* All take the length in the third argument (rdx). */
static const char *const copy_fns[] = {
	"memcpy", "memset", "memmove", "memcpy_toio", "memcpy_fromio",
	"memset_io", "copy_from_user", "copy_to_user", NULL
};

static const char *const lock_words[] = {
	"spin_lock", "spin_unlock", "mutex_lock", "mutex_unlock", "raw_spin_",
	NULL
};

/* Exact match, leading underscores ignored (__kmalloc, _copy_to_user). */
static bool named(const char *name, const char *const *list)
{
	while (name && *name == '_')
		name++;
	for (; name && *list; list++)
		if (!strcmp(name, *list))
			return true;
	return false;
}

static bool lock_name(const char *name)
{
	for (const char *const *w = lock_words; name && *w; w++)
		if (strstr(name, *w))
			return true;
	return false;
}

/* A rel32 call (e8) or tail-call jump (e9) whose callee has a name. */
static const char *call_site(struct mctx *c, size_t i)
{
	const struct insn *in = &c->insn[i];

	if (!insn_valid(c, i) || in->len != 5 ||
	    (in->opcode[0] != 0xe8 && in->opcode[0] != 0xe9))
		return NULL;
	return callee(c, i);
}

static bool is_tail(const struct mctx *c, size_t i)
{
	return c->insn[i].opcode[0] == 0xe9;
}

/* The 5-byte call at i becomes body, then (for a tail call, which must
 * still return to the caller's caller) ret, then NOPs. */
static int replace_call(struct mctx *c, size_t i, struct mutation *m,
			const uint8_t *body, size_t n)
{
	uint8_t b[5];

	if (n)		/* body may be NULL then */
		memcpy(b, body, n);
	if (is_tail(c, i))
		b[n++] = 0xc3;
	nop_fill(b + n, 5 - n);
	return mctx_patch(c, m, c->insn[i].off, b, 5);
}

static bool simple_load(const struct insn *in)
{
	switch (in->id) {
	case X86_INS_MOV: case X86_INS_MOVABS: case X86_INS_LEA:
	case X86_INS_MOVZX: case X86_INS_MOVSX: case X86_INS_MOVSXD:
		return true;
	case X86_INS_XOR:
		return in->op[1].type == X86_OP_REG &&
		       in->op[0].reg == in->op[1].reg;
	}
	return false;
}

/* Interface fault (Rio/Nooks "interface": a wrong argument passed to a
 * kernel service): a load of an argument register (rdi, rsi, rdx, rcx, r8,
 * r9) a few instructions before a call, not overwritten before it, becomes
 * NOPs, so the callee gets whatever the register held. */
bool interface_site(struct mctx *c, size_t i)
{
	const struct insn *in = &c->insn[i];
	int f;

	if (!insn_valid(c, i) || in->nops != 2 || !simple_load(in) ||
	    in->op[0].type != X86_OP_REG)
		return false;
	f = reg_family(in->op[0].reg);
	if (f < 0 || !(REGBIT(f) & ARG_REGS))
		return false;
	for (size_t j = i + 1; j < c->n && j <= i + FAULT_WINDOW; j++) {
		const struct insn *n = &c->insn[j];

		if (n->flags & INSN_CALL)
			return true;
		if (!(n->flags & INSN_VALID) || insn_flow(n) ||
		    (n->regs_write & REGBIT(f)))
			return false;
	}
	return false;
}

int interface_make(struct mctx *c, size_t i, struct mutation *m)
{
	snprintf(m->what, sizeof(m->what), "argument load deleted");
	return patch_nops(c, i, m);
}

/* Allocation failure (Rio's "allocation" fault, Nooks' "malloc" returning
 * NULL): a call to a kmalloc-family function becomes `xor eax, eax` and
 * NOPs, so the driver sees the allocation fail without the allocator
 * running. */
bool alloc_site(struct mctx *c, size_t i)
{
	return named(call_site(c, i), alloc_fns);
}

int alloc_make(struct mctx *c, size_t i, struct mutation *m)
{
	static const uint8_t xor_eax[] = { 0x31, 0xc0 };

	snprintf(m->what, sizeof(m->what), "%s returns NULL", callee(c, i));
	return replace_call(c, i, m, xor_eax, sizeof(xor_eax));
}

/* Leak (Rio's "free" fault deleting the release): a call to a free-family
 * function becomes NOPs (a tail call becomes ret), the memory is never
 * given back. */
bool leak_site(struct mctx *c, size_t i)
{
	return named(call_site(c, i), free_fns);
}

int leak_make(struct mctx *c, size_t i, struct mutation *m)
{
	snprintf(m->what, sizeof(m->what), "call %s deleted", callee(c, i));
	return replace_call(c, i, m, NULL, 0);
}

/* Synchronization (Rio/Nooks "synchronization": a lock taken or released
 * is skipped): a call to a spin/mutex/raw_spin lock or unlock function is
 * deleted, with the value callers use kept honest: *_irqsave returns the
 * flags (`pushfq; pop rax`, interrupts stay as they were), *trylock returns
 * 1 ("acquired"), the rest return 0 (mutex_lock_interruptible: success). */
bool sync_site(struct mctx *c, size_t i)
{
	return lock_name(call_site(c, i));
}

int sync_make(struct mctx *c, size_t i, struct mutation *m)
{
	static const uint8_t flags[] = { 0x9c, 0x58 };
	static const uint8_t one[] = { 0x31, 0xc0, 0xff, 0xc0 };
	static const uint8_t zero[] = { 0x31, 0xc0 };
	const char *name = callee(c, i);

	snprintf(m->what, sizeof(m->what), "call %s deleted", name);
	if (strstr(name, "irqsave"))
		return replace_call(c, i, m, flags, sizeof(flags));
	if (strstr(name, "trylock"))
		return replace_call(c, i, m, one, sizeof(one));
	return replace_call(c, i, m, zero, sizeof(zero));
}

/* The instruction loading the copy length for the copy at i (rdx before a
 * call, rcx before rep movs/stos), if it is an immediate load or an lea
 * with a displacement; else -1. */
static long length_load(struct mctx *c, size_t i)
{
	const struct insn *in = &c->insn[i];
	int f;

	if (named(call_site(c, i), copy_fns) && !is_tail(c, i))
		f = REG_RDX;
	else if (insn_valid(c, i) && in->prefix0 == 0xf3 &&
		 (in->opcode[0] == 0xa4 || in->opcode[0] == 0xa5 ||
		  in->opcode[0] == 0xaa || in->opcode[0] == 0xab))
		f = REG_RCX;
	else
		return -1;
	for (size_t j = i; j-- > 0 && j + FAULT_WINDOW >= i;) {
		const struct insn *l = &c->insn[j];

		if (!(l->flags & INSN_VALID) || insn_flow(l))
			return -1;
		if (!(l->regs_write & REGBIT(f)))
			continue;
		if (l->nops != 2 || l->op[0].type != X86_OP_REG ||
		    reg_family(l->op[0].reg) != f)
			return -1;
		if ((l->id == X86_INS_MOV || l->id == X86_INS_MOVABS) &&
		    l->op[1].type == X86_OP_IMM && l->imm_size)
			return (long)j;
		if (l->id == X86_INS_LEA && l->disp_size)
			return (long)j;
		return -1;
	}
	return -1;
}

static int grow_length(struct mctx *c, size_t j, int64_t d, uint8_t *b)
{
	if (c->insn[j].id == X86_INS_LEA)
		return add_disp(c, j, 1, d, b);
	return add_imm(c, j, 1, d, b);
}

/* Copy overrun (Rio's "copy overrun": a bcopy/memcpy length too large):
 * the immediate (or lea displacement) that loads the length of a memcpy/
 * memset/memmove/copy_*_user call or of a rep movs/stos count grows by 1,
 * by 8, or doubles, so the copy runs past its buffer. */
bool copy_overrun_site(struct mctx *c, size_t i)
{
	uint8_t b[MUTATE_PATCH_MAX];
	long j = length_load(c, i);

	return j >= 0 && !grow_length(c, (size_t)j, 1, b);
}

int copy_overrun_make(struct mctx *c, size_t i, struct mutation *m)
{
	size_t j = (size_t)length_load(c, i);
	const struct insn *l = &c->insn[j];
	int64_t old = l->op[1].val, d[3] = { 1, 8, old > 0 ? old : 1 };
	uint8_t b[MUTATE_PATCH_MAX];
	unsigned int k = (unsigned int)mctx_below(c, 3), t;

	for (t = 0; t < 3 && grow_length(c, j, d[(k + t) % 3], b); t++)
		;
	if (t == 3)
		return -ENOENT;
	snprintf(m->what, sizeof(m->what), "copy length %+lld",
		 (long long)d[(k + t) % 3]);
	return mctx_patch(c, m, l->off, b, l->len);
}

static bool writes_memory(const struct insn *in)
{
	for (int k = 0; k < in->nops; k++)
		if (in->op[k].type == X86_OP_MEM &&
		    (in->op[k].access & CS_AC_WRITE))
			return true;
	return false;
}

static bool rip_relative(const struct insn *in)
{
	for (int k = 0; k < in->nops; k++)
		if (in->op[k].type == X86_OP_MEM && in->op[k].reg &&
		    reg_family(in->op[k].reg) < 0)
			return true;
	return false;
}

/* An argument load that may travel with the free call: writes rdi or rsi
 * from a callee-saved register, an lea, or a load through one (or rsp). */
static bool free_arg(const struct insn *in)
{
	int f = in->op[0].type == X86_OP_REG ? reg_family(in->op[0].reg) : -1;

	if (in->nops != 2 || (f != REG_RDI && f != REG_RSI) ||
	    (in->regs_read & ~(CALLEE_SAVED | REGBIT(REG_RSP))) ||
	    rip_relative(in))
		return false;
	return in->id == X86_INS_MOV || in->id == X86_INS_LEA;
}

static bool loads_memory(const struct insn *in)
{
	return in->id == X86_INS_MOV && in->op[1].type == X86_OP_MEM;
}

/* An instruction the free may be hoisted above: it neither reads a
 * register the call clobbers nor the flags, writes no argument source
 * (register, or memory when an argument is loaded from memory), moves no
 * stack pointer, and has nothing rip-relative. */
static bool movable(const struct mctx *c, size_t j, uint32_t arg_reads,
		    bool arg_mem)
{
	const struct insn *in = &c->insn[j];
	uint32_t rd_ok = CALLEE_SAVED | REGBIT(REG_RSP);
	uint32_t wr_ok = (CALLEE_SAVED | REGBIT(REG_FLAGS)) & ~arg_reads;

	if (!insn_valid(c, j) || insn_flow(in) || (in->regs_read & ~rd_ok) ||
	    (in->regs_write & ~wr_ok) || rip_relative(in))
		return false;
	return !(arg_mem && writes_memory(in));
}

struct hoist {
	size_t setup;		/* first argument load before the call */
	size_t first;		/* first instruction hoisted over */
};

/* Plan for the free call at i: which argument loads travel with it and how
 * far up; false if it cannot move. No direct branch may land inside the
 * rotated range (only on its start). */
static bool hoist_plan(struct mctx *c, size_t i, struct hoist *h)
{
	uint32_t arg_reads = 0, bytes;
	bool arg_mem = false;

	if (is_tail(c, i) || !named(call_site(c, i), free_fns))
		return false;
	h->setup = i;
	while (h->setup > 0 && i - h->setup < 2 &&
	       free_arg(&c->insn[h->setup - 1]) &&
	       !is_branch_target(c, c->insn[h->setup].addr)) {
		h->setup--;
		arg_reads |= c->insn[h->setup].regs_read;
		arg_mem |= loads_memory(&c->insn[h->setup]);
	}
	if (h->setup == i)
		return false;
	h->first = h->setup;
	bytes = c->insn[i].off + 5 - c->insn[h->setup].off;
	while (h->first > 0 && h->setup - h->first < FAULT_WINDOW &&
	       movable(c, h->first - 1, arg_reads, arg_mem) &&
	       bytes + c->insn[h->first - 1].len <= MUTATE_PATCH_MAX &&
	       !is_branch_target(c, c->insn[h->first].addr)) {
		h->first--;
		bytes += c->insn[h->first].len;
	}
	return h->first < h->setup;
}

/* Premature free (Rio's "free" fault releasing memory still in use). The
 * honest variant that fits in place: the call and its argument loads are
 * rotated up over the (up to 4) instructions before them that only touch
 * callee-saved registers and memory (no stores when an argument is loaded
 * from memory, which they might alias), so the object is freed a few
 * instructions early and those run after the free (use after free). The
 * call's rel32 is re-aimed for its new address. */
bool premature_free_site(struct mctx *c, size_t i)
{
	struct hoist h;

	return hoist_plan(c, i, &h);
}

int premature_free_make(struct mctx *c, size_t i, struct mutation *m)
{
	uint8_t b[MUTATE_PATCH_MAX];
	struct hoist h;
	uint32_t start, setup_len, moved_len;
	int64_t rel;
	int32_t rel32;

	if (!hoist_plan(c, i, &h))
		return -ENOENT;
	start = c->insn[h.first].off;
	moved_len = c->insn[h.setup].off - start;
	setup_len = c->insn[i].off - c->insn[h.setup].off;
	memcpy(b, insn_bytes(c, h.setup), setup_len);
	rel = (int64_t)(c->insn[i].target -
			(c->in->base + start + setup_len + 5));
	if (rel < INT32_MIN || rel > INT32_MAX)
		return -ERANGE;
	rel32 = (int32_t)rel;
	b[setup_len] = 0xe8;
	memcpy(b + setup_len + 1, &rel32, 4);
	memcpy(b + setup_len + 5, insn_bytes(c, h.first), moved_len);
	snprintf(m->what, sizeof(m->what), "%s hoisted over %zu instruction%s",
		 callee(c, i), h.setup - h.first,
		 h.setup - h.first > 1 ? "s" : "");
	return mctx_patch(c, m, start, b, setup_len + 5 + moved_len);
}
