// SPDX-License-Identifier: GPL-2.0
/*
 * alloc.c - grant what is allocated on a domain's behalf, revoke it when
 * it is freed.
 *
 * The kmem tracepoints kmalloc and kmem_cache_alloc, and kretprobes on
 * the other allocators' entry points (vmalloc, pages, DMA, per-CPU), see
 * every allocation.  One is made on a domain's behalf when the context
 * that makes it is inside the domain (its innermost entry, ctx.c), or,
 * outside every domain, when the allocator's caller is the domain's code
 * (the return address, or the caller the *_track_caller and vmalloc entry
 * points are given, so that devm_kzalloc(), kstrdup() and vzalloc() called
 * by a driver count as the driver's).  Only the outermost allocator call
 * of a context is granted: what vmalloc() allocates inside for itself is
 * its own.  The object is granted whole (kmalloc: ksize(); kmem_cache: the
 * cache's object size; vmalloc: its pages one by one; pages: PAGE_SIZE <<
 * order, and their struct pages; DMA: the size asked; per-CPU: every
 * CPU's copy), with its start address as cookie.
 *
 * Frees are the kmem tracepoints kfree, kmem_cache_free and mm_page_free
 * (every page freed, put_page()'s too), and kprobes on
 * kmem_cache_free_bulk, vfree(_atomic), dma_free_attrs and free_percpu: a
 * freed address that is in the set of cookies granted (a small hash set,
 * preallocated) is revoked by cookie; any other free posts nothing.  A
 * kprobe is skipped (counted missed) when it fires while another kprobe's
 * handler runs on that CPU (an interrupt allocating or freeing memory in
 * the middle of one of ours): an allocation missed so is a false alarm
 * later, a free missed leaves a grant behind, and the driver's own entry
 * probes miss more the more kprobes fire; so the frequent allocations and
 * frees use tracepoints, which have no such rule.  The kprobes on the
 * kmalloc family, kfree, kmem_cache_free, free_pages and __free_pages
 * stand in where a tracepoint is missing.
 *
 * ioremap() is not followed: MMIO is not guest RAM, so the VMM neither
 * traps nor judges writes there.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/dma-mapping.h>
#include <linux/gfp.h>
#include <linux/hash.h>
#include <linux/kallsyms.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/stacktrace.h>
#include <linux/tracepoint.h>
#include <linux/vmalloc.h>

#include "monitor.h"

#define MAXACTIVE	64
#define SET_BITS	12
#define SET_ENTRIES	16384

enum how {
	H_KMALLOC,	/* returns the object; ksize() */
	H_CACHE,	/* arg 0 is the cache */
	H_VMALLOC,	/* arg 0 is the size */
	H_PAGES,	/* returns a struct page *; arg 1 is the order */
	H_GFP,		/* returns an address; arg 1 is the order */
	H_DMA,		/* returns an address; arg 1 is the size */
	H_PERCPU,	/* returns a per-CPU pointer; arg 0 is the size */
};

struct alloc_probe {
	struct kretprobe rp;
	const char *sym;
	const char *tp;		/* the tracepoint that serves instead */
	u8 how;
	s8 caller;		/* the argument naming the caller, or -1 */
	bool registered;
};

struct alloc_data {
	unsigned long arg;
	struct chariot_ctx *ctx;
	unsigned int domain;
};

static struct alloc_probe allocs[] = {
#define KM(name, c) { .sym = name, .tp = "kmalloc", .how = H_KMALLOC, .caller = c }
#define KC(name) { .sym = name, .tp = "kmem_cache_alloc", .how = H_CACHE, \
		   .caller = -1 }
	KM("kmalloc_trace", -1),
	KM("kmalloc_node_trace", -1),
	KM("__kmalloc", -1),
	KM("__kmalloc_node", -1),
	KM("__kmalloc_node_track_caller", 3),
	KM("kmalloc_large", -1),
	KM("kmalloc_large_node", -1),
	KC("kmem_cache_alloc"),
	KC("kmem_cache_alloc_lru"),
	KC("kmem_cache_alloc_node"),
#undef KM
#undef KC
	{ .sym = "__vmalloc_node_range", .how = H_VMALLOC, .caller = 8 },
	{ .sym = "alloc_pages", .how = H_PAGES, .caller = -1 },
	{ .sym = "__get_free_pages", .how = H_GFP, .caller = -1 },
	{ .sym = "dma_alloc_attrs", .how = H_DMA, .caller = -1 },
	{ .sym = "__alloc_percpu", .how = H_PERCPU, .caller = -1 },
	{ .sym = "__alloc_percpu_gfp", .how = H_PERCPU, .caller = -1 },
};

#define K(kind)		(1u << CHARIOT_GRANT_##kind)

enum free_how {
	F_PTR,		/* the argument is the address */
	F_PAGE,		/* the argument is a struct page * */
	F_BULK,		/* kmem_cache_free_bulk(s, n, p[]) */
};

struct free_probe {
	struct kprobe kp;
	const char *sym;
	const char *tp;		/* the tracepoint that serves instead */
	u8 arg;
	u8 how;
	u16 kinds;		/* of the grants it revokes */
	bool registered;
};

static struct free_probe frees[] = {
	{ .sym = "kfree", .tp = "kfree", .arg = 0, .how = F_PTR,
	  .kinds = K(KMALLOC) },
	{ .sym = "kmem_cache_free", .tp = "kmem_cache_free", .arg = 1,
	  .how = F_PTR, .kinds = K(KMEM_CACHE) },
	{ .sym = "kmem_cache_free_bulk", .arg = 2, .how = F_BULK,
	  .kinds = K(KMEM_CACHE) },
	{ .sym = "vfree", .arg = 0, .how = F_PTR, .kinds = K(VMALLOC) },
	{ .sym = "vfree_atomic", .arg = 0, .how = F_PTR, .kinds = K(VMALLOC) },
	{ .sym = "free_pages", .tp = "mm_page_free", .arg = 0, .how = F_PTR,
	  .kinds = K(PAGES) },
	{ .sym = "__free_pages", .tp = "mm_page_free", .arg = 0,
	  .how = F_PAGE, .kinds = K(PAGES) },
	{ .sym = "dma_free_attrs", .arg = 2, .how = F_PTR, .kinds = K(DMA) },
	/* per-CPU grants are tagged KMALLOC (kind_of[H_PERCPU]) */
	{ .sym = "free_percpu", .arg = 0, .how = F_PTR, .kinds = K(KMALLOC) },
};

static void tp_kmalloc(void *data, unsigned long call_site, const void *ptr,
		       size_t bytes_req, size_t bytes_alloc, gfp_t gfp,
		       int node);
static void tp_cache_alloc(void *data, unsigned long call_site,
			   const void *ptr, struct kmem_cache *s, gfp_t gfp,
			   int node);
static void tp_kfree(void *data, unsigned long call_site, const void *ptr);
static void tp_cache_free(void *data, unsigned long call_site,
			  const void *ptr, const struct kmem_cache *s);
static void tp_page_free(void *data, struct page *page, unsigned int order);

struct mon_tp {
	const char *name;
	void *probe;
	struct tracepoint *tp;
	bool registered;
};

static struct mon_tp tps[] = {
	{ .name = "kmalloc", .probe = tp_kmalloc },
	{ .name = "kmem_cache_alloc", .probe = tp_cache_alloc },
	{ .name = "kfree", .probe = tp_kfree },
	{ .name = "kmem_cache_free", .probe = tp_cache_free },
	{ .name = "mm_page_free", .probe = tp_page_free },
};

static const u8 kind_of[] = {
	[H_KMALLOC] = CHARIOT_GRANT_KMALLOC,
	[H_CACHE] = CHARIOT_GRANT_KMEM_CACHE,
	[H_VMALLOC] = CHARIOT_GRANT_VMALLOC,
	[H_PAGES] = CHARIOT_GRANT_PAGES,
	[H_GFP] = CHARIOT_GRANT_PAGES,
	[H_DMA] = CHARIOT_GRANT_DMA,
	[H_PERCPU] = CHARIOT_GRANT_KMALLOC,
};

/* ---- the set of cookies granted ---- */

struct set_ent {
	u64 cookie;
	u16 domain;
	u8 kind;
	struct set_ent *next;
};

static const u8 *sysmap;	/* the VMM's system-page map (chariot_abi.h) */
static DEFINE_RAW_SPINLOCK(set_lock);
static struct set_ent *buckets[1 << SET_BITS];
static struct set_ent *pool, *free_ents;
static atomic_t set_count;
static bool started;

static struct set_ent **bucket(u64 cookie)
{
	return &buckets[hash_64(cookie, SET_BITS)];
}

/* Remember that cookie was granted to domain as kind. */
static void set_add(u64 cookie, unsigned int domain, u8 kind)
{
	struct set_ent **head = bucket(cookie), *e;
	unsigned long flags;

	raw_spin_lock_irqsave(&set_lock, flags);
	for (e = *head; e; e = e->next)
		if (e->cookie == cookie && e->domain == domain && e->kind == kind)
			goto out;
	e = free_ents;
	if (!e) {
		chariot_count(alloc_untracked);
		goto out;
	}
	free_ents = e->next;
	*e = (struct set_ent){ .cookie = cookie, .domain = domain, .kind = kind,
			       .next = *head };
	WRITE_ONCE(*head, e);
	atomic_inc(&set_count);
out:
	raw_spin_unlock_irqrestore(&set_lock, flags);
}

/* A freed address: revoke the grants made under it by the allocators of
 * the kinds in mask (the first kmalloc object of a slab page has the
 * page's address: a kfree must not take a grant of the page). */
static void set_revoke(u64 cookie, unsigned int mask)
{
	struct set_ent **head = bucket(cookie), **pp, *e;
	struct chariot_batch b;
	unsigned long flags;

	if (!READ_ONCE(*head))
		return;
	chariot_batch_init(&b);
	raw_spin_lock_irqsave(&set_lock, flags);
	for (pp = head; (e = *pp);) {
		if (e->cookie != cookie || !(mask & (1u << e->kind))) {
			pp = &e->next;
			continue;
		}
		*pp = e->next;
		chariot_post_revoke(&b, e->domain, e->kind, cookie);
		chariot_count(alloc_revokes);
		e->next = free_ents;
		free_ents = e;
		atomic_dec(&set_count);
	}
	raw_spin_unlock_irqrestore(&set_lock, flags);
	chariot_batch_flush(&b);
}

/**
 * chariot_alloc_forget() - drop a destroyed domain's grants from the set
 * @domain: its id
 */
void chariot_alloc_forget(unsigned int domain)
{
	struct set_ent **pp, *e;
	unsigned long flags;
	unsigned int i;

	if (!pool)
		return;
	raw_spin_lock_irqsave(&set_lock, flags);
	for (i = 0; i < ARRAY_SIZE(buckets); i++) {
		for (pp = &buckets[i]; (e = *pp);) {
			if (e->domain != domain) {
				pp = &e->next;
				continue;
			}
			*pp = e->next;
			e->next = free_ents;
			free_ents = e;
			atomic_dec(&set_count);
		}
	}
	raw_spin_unlock_irqrestore(&set_lock, flags);
}

/* ---- allocations ---- */

static struct alloc_probe *alloc_of(struct kretprobe_instance *ri)
{
	return container_of(get_kretprobe(ri), struct alloc_probe, rp);
}

/*
 * Is the caller of alloc_pages() the slab allocator taking a new slab page
 * (alloc_slab_page(), inlined into allocate_slab())?  Such a page holds
 * other objects beside the one asked for: granting it whole would let the
 * driver write over its neighbours (the kmalloc tracepoints, unlike the
 * kretprobes they replaced, leave no allocator depth to tell it by).
 * Asked only for allocations made inside a domain, so the symbol lookup
 * is rare.
 */
static bool slab_internal(unsigned long caller)
{
	static const char *const names[] = { "allocate_slab", "alloc_slab_page",
					     "new_slab", "___slab_alloc" };
	char sym[KSYM_SYMBOL_LEN];
	unsigned int i;

	sprint_symbol_no_offset(sym, caller);
	for (i = 0; i < ARRAY_SIZE(names); i++)
		if (!strncmp(sym, names[i], strlen(names[i])) &&
		    (!sym[strlen(names[i])] || sym[strlen(names[i])] == '.'))
			return true;
	return false;
}

/*
 * An allocation made while a context is inside a domain is the domain's
 * only when the domain's code is at most grant_depth calls up the stack
 * from the allocator's caller: what a helper the driver called allocates
 * for it (kstrdup(), alloc_netdev_mqs()'s net_device, a gendisk) is the
 * driver's, what the kernel allocates for itself deep under a
 * driver's call (device_add_disk()'s kobject names, kernfs nodes and
 * inodes) is not: granted, those made the neighbours of the driver's own
 * objects writable, and a stray write into them landed (chariot_buggy's
 * overflow).  0: every allocation made inside is the domain's.
 */
static unsigned int grant_depth = 3;
module_param(grant_depth, uint, 0644);
MODULE_PARM_DESC(grant_depth,
		 "calls between a driver and an allocation made for it (0: any)");

#define WALK_ENTRIES	32

/*
 * How many return addresses lie between caller's and the innermost one in
 * domain dom's code on this stack: -1 when caller is not on it (the walk
 * cannot tell), -2 when dom's code is not within WALK_ENTRIES of it.
 */
static int helper_depth(unsigned long caller, int dom)
{
	unsigned long ent[WALK_ENTRIES];
	unsigned int n, i, from;

	n = stack_trace_save(ent, ARRAY_SIZE(ent), 0);
	for (i = 0; i < n && ent[i] != caller; i++)
		;
	if (i == n)
		return -1;
	for (from = i; i < n; i++)
		if (chariot_domain_of_code(ent[i]) == dom)
			return i - from;
	return -2;
}

/* Is an allocation made inside domain dom, its allocator called from
 * caller, made on the domain's behalf (grant_depth above)? */
static bool on_behalf(unsigned long caller, int dom)
{
	int depth;

	if (!grant_depth || chariot_domain_of_code(caller) == dom)
		return true;
	depth = helper_depth(caller, dom);
	if (depth == -1) {
		chariot_count(alloc_walk_lost);	/* as if shallow */
		return true;
	}
	if (depth < 0 || depth > grant_depth) {
		chariot_count(alloc_deep);
		return false;
	}
	return true;
}

static int alloc_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct alloc_probe *ap = alloc_of(ri);
	struct alloc_data *a = (struct alloc_data *)ri->data;
	int level = chariot_probe_level(&ap->rp.kp), dom;
	struct chariot_ctx *c;
	unsigned long caller;

	if (level < 0 || !chariot_domain_count())
		return 1;
	c = chariot_ctx_current(level, false);
	if (c && c->alloc_depth)
		return 1;	/* the allocator's own */
	caller = ap->caller < 0 ? *(unsigned long *)regs->sp :
		 regs_get_kernel_argument(regs, ap->caller);
	if (c && c->nframes) {
		dom = c->frames[c->nframes - 1].domain;
		if (ap->how == H_PAGES && slab_internal(caller)) {
			chariot_count(alloc_slab_pages);
			return 1;
		}
		if (!on_behalf(caller, dom))
			return 1;
	} else {
		dom = chariot_domain_of_code(caller);
		if (dom < 0)
			return 1;
	}
	a->domain = dom;
	a->ctx = c;
	a->arg = ap->how == H_PAGES || ap->how == H_GFP || ap->how == H_DMA ?
		 regs->si : regs->di;
	if (c)
		c->alloc_depth++;
	return 0;
}

/* Grant what an allocator returned. */
static void grant_object(struct chariot_batch *b, unsigned int domain,
			 enum how how, unsigned long ret, unsigned long arg)
{
	u8 kind = kind_of[how];
	struct page *page = NULL;
	void *va = (void *)ret;
	unsigned int cpu;

	switch (how) {
	case H_KMALLOC:
		chariot_post_grant(b, domain, kind, ret, va, ksize(va));
		return;
	case H_CACHE:
		chariot_post_grant(b, domain, kind, ret, va,
				   kmem_cache_size((struct kmem_cache *)arg));
		return;
	case H_VMALLOC:
		chariot_post_grant(b, domain, kind, ret, va, PAGE_ALIGN(arg));
		return;
	case H_DMA:
		chariot_post_grant(b, domain, kind, ret, va, arg);
		return;
	case H_PERCPU:
		for_each_possible_cpu(cpu)
			chariot_post_grant(b, domain, kind, ret,
					   per_cpu_ptr((void __percpu *)ret, cpu),
					   arg);
		return;
	case H_PAGES:
		page = (struct page *)ret;
		va = page_address(page);
		break;
	case H_GFP:
		page = virt_to_page(va);
		break;
	}
	/* The pages, and their struct pages (drivers set ->private, ...). */
	chariot_post_grant(b, domain, kind, (unsigned long)va, va,
			   PAGE_SIZE << arg);
	chariot_post_grant(b, domain, kind, (unsigned long)va, page,
			   sizeof(*page) << arg);
}

/* The cookie a free will name: the address, for pages the mapped one. */
static unsigned long cookie_of(enum how how, unsigned long ret)
{
	return how == H_PAGES ? (unsigned long)page_address((struct page *)ret)
			      : ret;
}

static int alloc_return(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct alloc_probe *ap = alloc_of(ri);
	struct alloc_data *a = (struct alloc_data *)ri->data;
	unsigned long ret = regs_return_value(regs);
	struct chariot_batch b;
	unsigned long flags;

	if (a->ctx && a->ctx->alloc_depth)	/* an unwind zeroes it */
		a->ctx->alloc_depth--;
	if (ZERO_OR_NULL_PTR((void *)ret) || IS_ERR((void *)ret) ||
	    !cookie_of(ap->how, ret))
		return 0;
	local_irq_save(flags);
	chariot_batch_init(&b);
	grant_object(&b, a->domain, ap->how, ret, a->arg);
	chariot_batch_flush(&b);
	local_irq_restore(flags);
	set_add(cookie_of(ap->how, ret), a->domain, kind_of[ap->how]);
	chariot_count(alloc_grants);
	return 0;
}

/*
 * The kmalloc and kmem_cache_alloc tracepoints, at the end of every such
 * allocation, with the caller's address (track_caller's caller): the same
 * attribution as alloc_entry(), but no kprobe that an interrupt in the
 * middle of another kprobe's handler would make skip.  Allocations made
 * inside an allocator followed by a kretprobe (vmalloc's own) are that
 * allocator's.
 */
static void grant_traced(unsigned long call_site, const void *ptr,
			 enum how how, struct kmem_cache *s)
{
	int level = chariot_level(), dom;
	struct chariot_batch b;
	struct chariot_ctx *c;
	unsigned long flags;

	if (level < 0 || ZERO_OR_NULL_PTR(ptr) || !chariot_domain_count())
		return;
	c = chariot_ctx_current(level, false);
	if (c && c->alloc_depth)
		return;
	if (c && c->nframes) {
		dom = c->frames[c->nframes - 1].domain;
		if (!on_behalf(call_site, dom))
			return;
	} else {
		dom = chariot_domain_of_code(call_site);
		if (dom < 0)
			return;
	}
	local_irq_save(flags);
	chariot_batch_init(&b);
	grant_object(&b, dom, how, (unsigned long)ptr, (unsigned long)s);
	chariot_batch_flush(&b);
	local_irq_restore(flags);
	set_add((unsigned long)ptr, dom, kind_of[how]);
	chariot_count(alloc_grants);
}

static void tp_kmalloc(void *data, unsigned long call_site, const void *ptr,
		       size_t bytes_req, size_t bytes_alloc, gfp_t gfp,
		       int node)
{
	grant_traced(call_site, ptr, H_KMALLOC, NULL);
}

static void tp_cache_alloc(void *data, unsigned long call_site,
			   const void *ptr, struct kmem_cache *s, gfp_t gfp,
			   int node)
{
	grant_traced(call_site, ptr, H_CACHE, s);
}

/* ---- frees ---- */

static int free_pre(struct kprobe *p, struct pt_regs *regs)
{
	struct free_probe *fp = container_of(p, struct free_probe, kp);
	unsigned long arg;
	void **objs;
	size_t n, i;

	if (!atomic_read(&set_count) || chariot_probe_level(p) < 0)
		return 0;
	arg = regs_get_kernel_argument(regs, fp->arg);
	switch (fp->how) {
	case F_PTR:
		set_revoke(arg, fp->kinds);
		break;
	case F_PAGE:
		if (arg)
			set_revoke((unsigned long)page_address((struct page *)arg),
				   fp->kinds);
		break;
	case F_BULK:
		objs = (void **)arg;
		n = regs->si;
		for (i = 0; i < n; i++)
			set_revoke((unsigned long)objs[i], fp->kinds);
		break;
	}
	return 0;
}

static void tp_revoke(const void *ptr, unsigned int kinds)
{
	if (atomic_read(&set_count) && ptr && !in_nmi())
		set_revoke((unsigned long)ptr, kinds);
}

static void tp_kfree(void *data, unsigned long call_site, const void *ptr)
{
	tp_revoke(ptr, K(KMALLOC));
}

static void tp_cache_free(void *data, unsigned long call_site,
			  const void *ptr, const struct kmem_cache *s)
{
	tp_revoke(ptr, K(KMEM_CACHE));
}

/*
 * A freed page that the VMM keeps writable in the protected view for the
 * CPU's own writes (a page table, a stack: its bit is set in the
 * system-page map) must be closed before it is reused: posted, and the
 * doorbell rung.  The map is a hash, so now and then a page posted is
 * none; that costs an exit.
 */
static void post_if_system(struct page *page, unsigned int order)
{
	const u8 *map = READ_ONCE(sysmap);
	unsigned long pfn = page_to_pfn(page), i, bit;
	struct chariot_batch b;
	unsigned long flags;
	bool any = false;

	if (!map || in_nmi())
		return;
	local_irq_save(flags);
	chariot_batch_init(&b);
	for (i = 0; i < (1ul << order); i++) {
		bit = (pfn + i) % CHARIOT_SYSMAP_BITS;
		if (READ_ONCE(map[bit / 8]) & (1u << (bit % 8))) {
			chariot_post_page_freed(&b, PFN_PHYS(pfn + i),
						PAGE_SIZE);
			any = true;
		}
	}
	if (any) {
		chariot_batch_flush(&b);
		chariot_count(sys_pages_freed);
	}
	local_irq_restore(flags);
}

static void tp_page_free(void *data, struct page *page, unsigned int order)
{
	post_if_system(page, order);
	/* DMA memory comes back to the page allocator too. */
	tp_revoke(page_address(page), K(PAGES) | K(DMA));
}

static void find_tp(struct tracepoint *tp, void *priv)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(tps); i++)
		if (!strcmp(tp->name, tps[i].name))
			tps[i].tp = tp;
}

/* Is the tracepoint called name (NULL: none) followed? */
static bool tp_on(const char *name)
{
	unsigned int i;

	for (i = 0; name && i < ARRAY_SIZE(tps); i++)
		if (!strcmp(name, tps[i].name))
			return tps[i].registered;
	return false;
}

static void start_tracepoints(void)
{
	unsigned int i;

	for_each_kernel_tracepoint(find_tp, NULL);
	for (i = 0; i < ARRAY_SIZE(tps); i++)
		tps[i].registered = tps[i].tp &&
			!tracepoint_probe_register(tps[i].tp, tps[i].probe,
						   NULL);
}

/* ---- start, stop, show ---- */

static void stop_probes(void)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(tps); i++)
		if (tps[i].registered)
			tracepoint_probe_unregister(tps[i].tp, tps[i].probe,
						    NULL);
	for (i = 0; i < ARRAY_SIZE(tps); i++)
		tps[i].registered = false;
	tracepoint_synchronize_unregister();

	for (i = 0; i < ARRAY_SIZE(frees); i++)
		if (frees[i].registered)
			unregister_kprobe(&frees[i].kp);
	for (i = 0; i < ARRAY_SIZE(allocs); i++)
		if (allocs[i].registered)
			unregister_kretprobe(&allocs[i].rp);
	for (i = 0; i < ARRAY_SIZE(frees); i++)
		frees[i].registered = false;
	for (i = 0; i < ARRAY_SIZE(allocs); i++)
		allocs[i].registered = false;
}

/**
 * chariot_alloc_start() - follow allocations and frees
 *
 * May sleep.  Entry points this kernel lacks or kprobes refuses are
 * skipped (and shown in debugfs).
 *
 * Return: 0 or -ENOMEM.
 */
int chariot_alloc_start(void)
{
	unsigned int i, na = 0, nf = 0;

	pool = vzalloc(array_size(SET_ENTRIES, sizeof(*pool)));
	if (!pool)
		return -ENOMEM;
	for (i = 0; i < SET_ENTRIES; i++) {
		pool[i].next = free_ents;
		free_ents = &pool[i];
	}
	WRITE_ONCE(sysmap, chariot_channel_area(CHARIOT_SHM_SYSMAP_OFFSET,
						CHARIOT_SHM_SYSMAP_SIZE));
	start_tracepoints();
	for (i = 0; i < ARRAY_SIZE(frees); i++) {
		struct free_probe *fp = &frees[i];

		if (tp_on(fp->tp)) {
			nf++;
			continue;
		}
		fp->kp = (struct kprobe){ .symbol_name = fp->sym,
					  .pre_handler = free_pre };
		fp->registered = !register_kprobe(&fp->kp);
		nf += fp->registered;
	}
	for (i = 0; i < ARRAY_SIZE(allocs); i++) {
		struct alloc_probe *ap = &allocs[i];

		if (tp_on(ap->tp)) {
			na++;
			continue;
		}
		ap->rp = (struct kretprobe){
			.kp.symbol_name = ap->sym,
			.entry_handler = alloc_entry,
			.handler = alloc_return,
			.data_size = sizeof(struct alloc_data),
			.maxactive = MAXACTIVE,
		};
		ap->registered = !register_kretprobe(&ap->rp);
		na += ap->registered;
	}
	started = true;
	pr_info("allocations: %u of %zu allocators, %u of %zu frees probed\n",
		na, ARRAY_SIZE(allocs), nf, ARRAY_SIZE(frees));
	return 0;
}

/**
 * chariot_alloc_stop() - stop following allocations; forget the set
 *
 * May sleep.
 */
void chariot_alloc_stop(void)
{
	if (!started)
		return;
	stop_probes();
	WRITE_ONCE(sysmap, NULL);
	started = false;
	memset(buckets, 0, sizeof(buckets));
	free_ents = NULL;
	atomic_set(&set_count, 0);
	vfree(pool);
	pool = NULL;
}

/* One allocator or free: followed by a tracepoint, absent, or a probe
 * with how many hits it missed. */
static void show_probe(struct seq_file *m, const char *sym, const char *tp,
		       bool registered, unsigned long missed)
{
	if (tp_on(tp))
		seq_printf(m, " %s(tracepoint %s)", sym, tp);
	else if (!registered)
		seq_printf(m, " %s(absent)", sym);
	else if (missed)
		seq_printf(m, " %s(missed %lu)", sym, missed);
	else
		seq_printf(m, " %s", sym);
}

/**
 * chariot_alloc_show() - print the allocation probes and the set
 * @m: the seq_file
 */
void chariot_alloc_show(struct seq_file *m)
{
	unsigned int i;

	if (!started) {
		seq_puts(m, "allocations: not followed\n");
		return;
	}
	seq_printf(m, "allocations: %d granted now (of %d tracked at most)\nallocators (missed: no instance free or a probe running):",
		   atomic_read(&set_count), SET_ENTRIES);
	for (i = 0; i < ARRAY_SIZE(allocs); i++)
		show_probe(m, allocs[i].sym, allocs[i].tp, allocs[i].registered,
			   allocs[i].rp.nmissed + allocs[i].rp.kp.nmissed);
	seq_puts(m, "\nfrees:");
	for (i = 0; i < ARRAY_SIZE(frees); i++)
		show_probe(m, frees[i].sym, frees[i].tp, frees[i].registered,
			   frees[i].kp.nmissed);
	seq_puts(m, "\n");
}
