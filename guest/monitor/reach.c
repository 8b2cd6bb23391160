// SPDX-License-Identifier: GPL-2.0
/*
 * reach.c - which of a module's functions can be entered from outside it.
 *
 * Probing a function only the module's own code calls buys nothing (the
 * call is nested in an entry already seen) and costs much: every probe
 * hit is an exit of the driver's code to the probe's handler and back,
 * in the protected view two view switches (null_blk's sector loop: 4 of
 * its 7 probe hits a sector were __null_lookup_page.isra.0, 2 more
 * null_insert_page).
 *
 * A function can be entered from outside only if its address escapes the
 * module's code other than as the target of a direct call or jump, or it
 * is exported.  So, conservatively, a function is reachable when:
 *  - it is exported (mod->syms, mod->gpl_syms), or is mod->init/exit;
 *  - its address appears as 8 bytes anywhere in the module's memory or
 *    its per-CPU data (function pointers in ops structures, movabs), the
 *    symbol tables and ftrace's call-site list excepted (they name every
 *    function);
 *  - its address appears as a sign-extended 32-bit immediate in its code
 *    (mov $fn, %rdi);
 *  - a non-zero 32-bit displacement in its code points at it from
 *    anything but a call (e8), jmp (e9) or jcc (0f 8x): lea fn(%rip),
 *    %rsi.
 * Every byte offset is tried, not only instruction boundaries: a
 * coincidence can only make a function reachable (probed), never hide
 * one.  What this cannot see is an address computed at run time from
 * another (fn + k), which compilers do not emit for function pointers,
 * or one handed to the kernel by code no longer there (init text, once
 * the module is live: probes.c probes everything then).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bsearch.h>
#include <linux/module.h>
#include <linux/percpu.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <asm/unaligned.h>

#include "monitor.h"

struct reach {
	unsigned long *fn;	/* sorted */
	unsigned int n;
	unsigned long lo, hi;	/* [fn[0], fn[n - 1]] */
	unsigned long *taken;	/* bitmap over fn[] */
	/* Ranges not scanned: the symbol tables, ftrace's call sites. */
	unsigned long skip[3][2];
};

static int cmp_ulong(const void *a, const void *b)
{
	unsigned long x = *(const unsigned long *)a;
	unsigned long y = *(const unsigned long *)b;

	return x < y ? -1 : x > y;
}

static void mark(struct reach *r, unsigned long addr)
{
	unsigned long *hit;

	if (addr < r->lo || addr > r->hi)
		return;
	hit = bsearch(&addr, r->fn, r->n, sizeof(*r->fn), cmp_ulong);
	if (hit)
		__set_bit(hit - r->fn, r->taken);
}

static bool skipped(const struct reach *r, unsigned long a)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(r->skip); i++)
		if (a >= r->skip[i][0] && a < r->skip[i][1])
			return true;
	return false;
}

/* Addresses as 8 bytes at any offset of [start, end). */
static void scan_words(struct reach *r, unsigned long start,
		       unsigned long end)
{
	unsigned long a;

	for (a = start; a + 8 <= end; a++)
		if (!skipped(r, a))
			mark(r, get_unaligned((u64 *)a));
}

/* Code: imm32 and rel32 references besides calls and jumps. */
static void scan_code(struct reach *r, unsigned long start,
		      unsigned long end)
{
	const u8 *b = (const u8 *)start;
	unsigned long i, len = end - start;

	for (i = 0; i + 4 <= len; i++) {
		s32 v = (s32)get_unaligned((u32 *)(b + i));
		unsigned long rel = start + i + 4 + (long)v;
		bool branch = i >= 1 && (b[i - 1] == 0xe8 || b[i - 1] == 0xe9);

		branch |= i >= 2 && b[i - 2] == 0x0f && (b[i - 1] & 0xf0) == 0x80;
		/*
		 * A displacement of 0 right before a function is the padding
		 * nop in front of it (66 2e 0f 1f 84 00 00 00 00 00), not a
		 * reference: no function ends in the lea of the next one.
		 */
		if (!branch && v)
			mark(r, rel);
		mark(r, (unsigned long)(long)v);
	}
	scan_words(r, start, end);
}

static void mark_exports(struct reach *r, const struct kernel_symbol *s,
			 unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		mark(r, (unsigned long)offset_to_ptr(&s[i].value_offset));
}

static void skip_syms(unsigned long skip[2], const struct mod_kallsyms *ks)
{
	if (!ks || !ks->symtab)
		return;
	skip[0] = (unsigned long)ks->symtab;
	skip[1] = skip[0] + ks->num_symtab * sizeof(*ks->symtab);
}

/**
 * chariot_reach_scan() - find the functions entered from outside a module
 * @mod:   the module, coming or live (its memory in place)
 * @fn:    its functions' addresses
 * @n:     how many
 * @taken: out: bit i set when fn[i] may be entered from outside
 *
 * May sleep.
 *
 * Return: 0, or -ENOMEM (then every bit is set).
 */
int chariot_reach_scan(struct module *mod, const unsigned long *fn,
		       unsigned int n, unsigned long *taken)
{
	const struct module_layout *core = &mod->core_layout;
	const struct module_layout *init = &mod->init_layout;
	unsigned long cb = (unsigned long)core->base;
	unsigned long ib = (unsigned long)init->base;
	struct reach r = { .n = n, .taken = NULL };
	unsigned long *bits;
	unsigned int i;

	bitmap_zero(taken, n);
	if (!n)
		return 0;
	r.fn = kmemdup(fn, n * sizeof(*fn), GFP_KERNEL);
	bits = bitmap_zalloc(n, GFP_KERNEL);
	if (!r.fn || !bits) {
		kfree(r.fn);
		bitmap_free(bits);
		bitmap_fill(taken, n);
		return -ENOMEM;
	}
	sort(r.fn, n, sizeof(*r.fn), cmp_ulong, NULL);
	r.lo = r.fn[0];
	r.hi = r.fn[n - 1];
	r.taken = bits;
	rcu_read_lock();
	skip_syms(r.skip[0], rcu_dereference(mod->kallsyms));
	rcu_read_unlock();
	skip_syms(r.skip[1], &mod->core_kallsyms);
#ifdef CONFIG_FTRACE_MCOUNT_RECORD
	r.skip[2][0] = (unsigned long)mod->ftrace_callsites;
	r.skip[2][1] = r.skip[2][0] +
		       mod->num_ftrace_callsites * sizeof(unsigned long);
#endif
	mark(&r, (unsigned long)mod->init);
#ifdef CONFIG_MODULE_UNLOAD
	mark(&r, (unsigned long)mod->exit);
#endif
	mark_exports(&r, mod->syms, mod->num_syms);
	mark_exports(&r, mod->gpl_syms, mod->num_gpl_syms);
	scan_code(&r, cb, cb + core->text_size);
	scan_words(&r, cb + core->text_size, cb + core->size);
	if (ib && init->size) {
		scan_code(&r, ib, ib + init->text_size);
		scan_words(&r, ib + init->text_size, ib + init->size);
	}
	/* Per-CPU data lives apart from the module's memory; its initial
	 * values may hold function pointers too. */
	if (mod->percpu && mod->percpu_size) {
		int cpu;

		for_each_possible_cpu(cpu) {
			unsigned long a = (unsigned long)per_cpu_ptr(mod->percpu,
								     cpu);

			scan_words(&r, a, a + mod->percpu_size);
		}
	}
	/* Back to the caller's order. */
	for (i = 0; i < n; i++) {
		unsigned long *hit = bsearch(&fn[i], r.fn, n, sizeof(*r.fn),
					     cmp_ulong);

		if (hit && test_bit(hit - r.fn, bits))
			__set_bit(i, taken);
	}
	kfree(r.fn);
	bitmap_free(bits);
	return 0;
}
