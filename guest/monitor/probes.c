// SPDX-License-Identifier: GPL-2.0
/*
 * probes.c - see an isolated module's functions entered and left.
 *
 * A kretprobe goes on every function of the module's text that can be
 * entered from outside it (its symbol table: STT_FUNC symbols in core or
 * init text, ".cold" parts left out; reach.c tells which are only called
 * by the module itself, chariot_monitor.probe_all=1 probes those too),
 * placed when the module comes (before its init function runs) or when
 * the monitor attaches to a module already loaded.  On a module's
 * functions kprobes are ftrace-based, so an entry costs no trap.
 *
 * Nesting rule: a context (ctx.c) enters a domain when one of its
 * functions is called while the context is not already in that domain as
 * its innermost: that pushes a frame, grants the stack the CPU runs on to
 * the domain (unless an outer frame of the same context already granted
 * it to the same domain), with the few fields of the current task inline
 * kernel code writes, and posts ENTER; the matching return revokes that
 * stack grant and posts LEAVE.  Calls made while the domain is
 * already the innermost (driver -> driver, or driver -> kernel -> driver)
 * are counted once: their return is not even hooked.  So a task's stack
 * is writable by a domain exactly while the task has a frame in it.
 *
 * Interface functions (iface.c) also grant the objects they are handed
 * on every entry, nested or not, and revoke them at their return.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bitmap.h>
#include <linux/kallsyms.h>
#include <linux/module.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "monitor.h"

/* Concurrent calls of one function each probe can follow. */
#define MAXACTIVE	32

/* Probe every function, also those only the module itself calls. */
static bool probe_all;
module_param(probe_all, bool, 0444);
MODULE_PARM_DESC(probe_all, "probe every function of an isolated module, not only those entered from outside it");

/* The VMM's recovery reads it: keep the layout. */
static_assert(sizeof(struct chariot_recovery_frame) == 80);
static_assert(offsetof(struct chariot_recovery_frame, sp) == 8);
static_assert(offsetof(struct chariot_recovery_frame, rbx) == 32);

struct chariot_fn_probe {
	struct kretprobe rp;
	struct chariot_domain *dom;
	unsigned long fn;
	u8 role;		/* enum chariot_role */
	bool init;		/* in init text */
	bool reach;		/* may be entered from outside (reach.c) */
	bool registered;
	kprobe_pre_handler_t kretprobe_pre;	/* kretprobes' own */
	atomic_long_t calls;	/* entries seen */
	atomic_long_t enters;	/* of those, entries into the domain */
};

/**
 * struct chariot_probes - the probes of one domain
 * @n:          functions found
 * @registered: probes placed
 * @failed:     probes refused by kprobes
 * @init:       of those placed, on init text
 * @roles:      interface functions among those placed
 * @internal:   functions only the module's own code calls: not probed
 * @fp:         the probes
 */
struct chariot_probes {
	unsigned int n, registered, failed, init, roles, internal;
	struct chariot_fn_probe fp[];
};

static struct chariot_fn_probe *probe_of(struct kretprobe_instance *ri)
{
	return container_of(get_kretprobe(ri), struct chariot_fn_probe, rp);
}

static void fill_frame(struct chariot_recovery_frame *f, unsigned int domain,
		       unsigned long fn, const struct pt_regs *regs)
{
	f->magic = CHARIOT_FRAME_MAGIC;
	f->domain = domain;
	f->sp = regs->sp;
	f->ret = *(unsigned long *)regs->sp;	/* not hooked yet */
	f->fn = fn;
	f->rbx = regs->bx;
	f->rbp = regs->bp;
	f->r12 = regs->r12;
	f->r13 = regs->r13;
	f->r14 = regs->r14;
	f->r15 = regs->r15;
}

static bool stack_granted(const struct chariot_ctx *c, unsigned int domain)
{
	unsigned int i;

	for (i = 0; i < c->nframes; i++)
		if (c->frames[i].domain == domain &&
		    (c->frames[i].entry->flags & CHARIOT_ENTRY_STACK))
			return true;
	return false;
}

/*
 * The fields of the current task that inline kernel code compiled into a
 * driver writes: set_current_state(), memalloc_*_save(), kmap_atomic()'s
 * pagefault_disable().  They go with the stack grant (same cookie).
 */
static void grant_task_fields(struct chariot_batch *b, unsigned int id,
			      u64 cookie)
{
	chariot_post_grant(b, id, CHARIOT_GRANT_STACK, cookie, &current->__state,
			   sizeof(current->__state));
	chariot_post_grant(b, id, CHARIOT_GRANT_STACK, cookie, &current->flags,
			   sizeof(current->flags));
	chariot_post_grant(b, id, CHARIOT_GRANT_STACK, cookie,
			   &current->pagefault_disabled,
			   sizeof(current->pagefault_disabled));
}

/* Open a frame of fp's domain in c: stack grant, ENTER (added last). */
static bool push(struct chariot_ctx *c, struct chariot_fn_probe *fp,
		 struct chariot_entry *e, struct pt_regs *regs,
		 struct chariot_batch *b)
{
	unsigned int id = fp->dom->id;
	unsigned long base, size;
	bool known;

	if (c->nframes == CHARIOT_CTX_FRAMES) {
		chariot_count(nest_overflow);
		return false;
	}
	fill_frame(&e->frame, id, fp->fn, regs);
	chariot_recover_hold(&e->held, &fp->rp.kp);
	known = chariot_ctx_stack(c, &base, &size, &e->stack);
	e->on_stack = known ? CHARIOT_ENTER_STACK(base, size) : 0;
	if (known && !stack_granted(c, id) &&
	    !chariot_post_grant(b, id, CHARIOT_GRANT_STACK, e->stack,
				(void *)base, size)) {
		grant_task_fields(b, id, e->stack);
		e->flags |= CHARIOT_ENTRY_STACK;
		chariot_count(stack_grants);
	}
	c->frames[c->nframes].entry = e;
	c->frames[c->nframes].domain = id;
	if (!c->nframes++)
		chariot_ctx_first(c);
	e->flags |= CHARIOT_ENTRY_PUSHED;
	return true;
}

static int fn_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct chariot_fn_probe *fp = probe_of(ri);
	struct chariot_entry *e = (struct chariot_entry *)ri->data;
	unsigned int id = fp->dom->id;
	struct chariot_batch b;
	struct chariot_ctx *c;
	unsigned long flags;
	bool inside, nested;
	int level = chariot_probe_level(&fp->rp.kp), ret = 1;

	if (level < 0 || !READ_ONCE(fp->dom->live))
		return 1;
	atomic_long_inc(&fp->calls);
	local_irq_save(flags);
	c = chariot_ctx_current(level, true);
	if (!c)
		goto out;
	inside = c->nframes && c->frames[c->nframes - 1].domain == id;
	/* A call from the kernel into the domain it is in already (driver ->
	 * kernel -> driver) is hooked with a frame: a fault under it is
	 * unwound to it, so that the kernel code between finishes (it holds
	 * locks, a queue reference: the driver's init scanning its disk's
	 * partitions).  A call from the driver's own code is not. */
	nested = inside && chariot_domain_of_code(*(unsigned long *)regs->sp)
			   != (int)id;
	if (inside && !fp->role && !nested)
		goto put;
	e->ctx = c;
	e->frame.magic = 0;
	e->flags = 0;
	e->ncookies = 0;
	e->obj = NULL;
	e->role = fp->role;
	e->eflags = regs->flags;
	chariot_batch_init(&b);
	if (!inside && !push(c, fp, e, regs, &b))
		goto put;
	if (nested) {
		fill_frame(&e->frame, id, fp->fn, regs);
		chariot_recover_hold(&e->held, &fp->rp.kp);
		e->flags |= CHARIOT_ENTRY_NESTED;
		chariot_count(nested_entries);
	}
	if (fp->role)
		chariot_iface_grant(fp->role, fp->fn, regs, id, e, &b);
	if (e->flags & CHARIOT_ENTRY_PUSHED) {
		chariot_post_enter(&b, id, smp_processor_id(), &e->frame,
				   e->on_stack);
		atomic64_inc(&fp->dom->enters);
		atomic_long_inc(&fp->enters);
	}
	chariot_batch_flush(&b);
	ret = (e->flags & (CHARIOT_ENTRY_PUSHED | CHARIOT_ENTRY_NESTED)) ||
	      e->ncookies ? 0 : 1;
put:
	chariot_ctx_put(c);
out:
	local_irq_restore(flags);
	return ret;
}

/* Pop c's frames down to and including e's, innermost first. */
static void pop(struct chariot_ctx *c, struct chariot_entry *e,
		struct chariot_batch *b)
{
	unsigned int cpu = smp_processor_id(), i = c->nframes;

	while (i && c->frames[i - 1].entry != e)
		i--;
	if (!i) {
		/* Not ours: popped already (a dead task, a lost frame). */
		chariot_count(frame_mismatch);
		return;
	}
	if (i != c->nframes)
		chariot_count(frame_mismatch);
	while (c->nframes >= i) {	/* down to index i - 1 */
		struct chariot_ctx_frame *f = &c->frames[--c->nframes];
		struct chariot_domain *d = chariot_domain_get(f->domain);

		if (f->entry->flags & CHARIOT_ENTRY_STACK) {
			chariot_post_revoke(b, f->domain, CHARIOT_GRANT_STACK,
					    f->entry->stack);
			chariot_count(stack_revokes);
		}
		chariot_post_leave(b, f->domain, cpu);
		if (d)
			atomic64_inc(&d->leaves);
	}
	if (!c->nframes)
		chariot_ctx_last(c);
}

static int fn_return(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct chariot_entry *e = (struct chariot_entry *)ri->data;
	struct chariot_fn_probe *fp = probe_of(ri);
	struct chariot_batch b;
	unsigned long flags;
	unsigned int i;

	local_irq_save(flags);
	chariot_batch_init(&b);
	for (i = 0; i < e->ncookies; i++) {
		chariot_post_revoke(&b, fp->dom->id, CHARIOT_GRANT_IFACE,
				    e->cookies[i]);
		chariot_count(iface_revokes);
	}
	if (e->flags & CHARIOT_ENTRY_PUSHED)
		pop(e->ctx, e, &b);
	chariot_batch_flush(&b);
	local_irq_restore(flags);
	/* A call nested in it was unwound: it fails as well. */
	if ((e->flags & (CHARIOT_ENTRY_DOOMED | CHARIOT_ENTRY_UNWOUND)) ==
	    CHARIOT_ENTRY_DOOMED)
		regs->ax = chariot_recover_error(e->role);
	/* The outermost call into the domain: back with what it took? */
	if ((e->flags & (CHARIOT_ENTRY_PUSHED | CHARIOT_ENTRY_UNWOUND)) ==
	    CHARIOT_ENTRY_PUSHED)
		chariot_recover_returned(&e->held, e->eflags, regs,
					 fp->dom->id, fp->fn);
	if ((e->flags & CHARIOT_ENTRY_UNWOUND) && e->obj)
		chariot_iface_abandon(fp->dom, e->role, fp->fn, e->obj, true);
	else if (e->obj)
		chariot_iface_returned(e->role, fp->fn, e->obj, fp->dom->id,
				       regs);
	return 0;
}

/* The entry whose instance rh is if it is one of d's function probes'. */
static struct chariot_entry *entry_of(struct chariot_domain *d,
				      struct rethook_node *rh)
{
	struct chariot_probes *p = d->probes;
	unsigned long rp = (unsigned long)rh->rethook->data;
	unsigned long first = (unsigned long)&p->fp[0].rp;
	struct kretprobe_instance *ri;

	/* Compared, not dereferenced: other return hooks' data is no
	 * kretprobe at all (fprobes). */
	if (rp < first || rp >= (unsigned long)&p->fp[p->n].rp ||
	    (rp - first) % sizeof(p->fp[0]))
		return NULL;
	ri = container_of(rh, struct kretprobe_instance, node);
	return (struct chariot_entry *)ri->data;
}

/**
 * chariot_probes_innermost() - where a fault in a domain is unwound to
 * @outer: the running context's outermost entry into the domain
 * @d:     the domain
 *
 * Called with interrupts off, in the faulting context.
 *
 * Return: the innermost entry of that context into @d from the kernel
 * (a NESTED one) with the return hooks above it, or @outer.
 */
struct chariot_entry *chariot_probes_innermost(struct chariot_entry *outer,
					       struct chariot_domain *d)
{
	struct llist_node *n;
	struct chariot_entry *e;

	if (!d->probes)
		return outer;
	for (n = current->rethooks.first; n; n = n->next) {
		e = entry_of(d, container_of(n, struct rethook_node, llist));
		if (e == outer)
			break;
		if (e && e->ctx == outer->ctx &&
		    (e->flags & CHARIOT_ENTRY_NESTED) &&
		    e->frame.magic == CHARIOT_FRAME_MAGIC)
			return e;
	}
	return outer;
}

/*
 * Fail fast: the kprobe's pre-handler in front of kretprobes' own.  A
 * call into a domain that failed (recover.c) is not run: it returns at
 * once with an error for its role (chariot_skip_ret is a bare return, the
 * stack untouched: the kprobe sits on the function's first instruction).
 */
static int fn_pre(struct kprobe *p, struct pt_regs *regs)
{
	struct chariot_fn_probe *fp = container_of(p, struct chariot_fn_probe,
						   rp.kp);

	if (unlikely(READ_ONCE(fp->dom->failed)) &&
	    chariot_recover_refuse(fp->dom, fp->role)) {
		regs->ax = chariot_recover_error(fp->role);
		instruction_pointer_set(regs, (unsigned long)chariot_skip_ret);
		chariot_count(fail_fast);
		chariot_iface_abandon(fp->dom, fp->role, fp->fn,
				      (void *)regs->di, false);
		return 1;
	}
	return fp->kretprobe_pre(p, regs);
}

static bool within(unsigned long a, const unsigned long r[2])
{
	return a >= r[0] && a < r[1];
}

/* Count the module's functions; with p, fill in at most max of them. */
static unsigned int for_each_fn(struct chariot_domain *d, struct module *mod,
				struct chariot_probes *p, unsigned int max)
{
	struct mod_kallsyms *ks;
	unsigned int i, n = 0;

	rcu_read_lock();
	ks = rcu_dereference(mod->kallsyms);
	for (i = 1; i < ks->num_symtab; i++) {
		const Elf_Sym *sym = &ks->symtab[i];
		const char *name = ks->strtab + sym->st_name;
		unsigned long a = sym->st_value;
		bool init = within(a, d->init);
		struct chariot_fn_probe *fp;

		if (ELF_ST_TYPE(sym->st_info) != STT_FUNC ||
		    (!init && !within(a, d->text)) || strstr(name, ".cold"))
			continue;
		if (p) {
			if (n == max)
				break;
			fp = &p->fp[n];
			fp->fn = a;
			fp->init = init;
			fp->role = chariot_iface_role(name);
		}
		n++;
	}
	rcu_read_unlock();
	return n;
}

/*
 * Which functions reach.c finds enterable from outside; all of them if
 * it cannot tell, or if the module is live already: its init code, gone
 * now, may have handed the kernel a function no remaining byte names
 * (request_irq(irq, handler) in init).
 */
static void mark_reach(struct module *mod, struct chariot_probes *p,
		       bool coming)
{
	unsigned long *fn = NULL, *taken = NULL;
	unsigned int i;
	bool all = !coming;

	if (!all) {
		fn = kvmalloc_array(p->n, sizeof(*fn), GFP_KERNEL);
		taken = bitmap_zalloc(p->n, GFP_KERNEL);
		all = !fn || !taken;
	}
	for (i = 0; !all && i < p->n; i++)
		fn[i] = p->fp[i].fn;
	if (!all)
		all = chariot_reach_scan(mod, fn, p->n, taken) != 0;
	for (i = 0; i < p->n; i++)
		p->fp[i].reach = all || test_bit(i, taken);
	kvfree(fn);
	bitmap_free(taken);
}

static void place(struct chariot_domain *d, struct chariot_probes *p)
{
	unsigned int i, j;

	for (i = 0; i < p->n; i++) {
		struct chariot_fn_probe *fp = &p->fp[i];

		for (j = 0; j < i && p->fp[j].fn != fp->fn; j++)
			;
		if (j < i)	/* an alias */
			continue;
		if (!fp->reach && !fp->role && !probe_all) {
			p->internal++;
			continue;
		}
		fp->dom = d;
		fp->rp.kp.addr = (kprobe_opcode_t *)fp->fn;
		fp->rp.entry_handler = fn_entry;
		fp->rp.handler = fn_return;
		fp->rp.data_size = sizeof(struct chariot_entry);
		fp->rp.maxactive = MAXACTIVE;
		if (register_kretprobe(&fp->rp)) {
			p->failed++;
			continue;
		}
		/* kretprobes keep no other reference to it. */
		fp->kretprobe_pre = fp->rp.kp.pre_handler;
		WRITE_ONCE(fp->rp.kp.pre_handler, fn_pre);
		fp->registered = true;
		p->registered++;
		p->init += fp->init;
		p->roles += fp->role != CHARIOT_ROLE_NONE;
	}
}

/**
 * chariot_probes_attach() - probe every function of a module
 * @d:      its domain: live, or not yet posted for a coming module
 * @mod:    the module, coming or live (held by the caller)
 * @coming: it is coming: its init text is probed too
 *
 * May sleep.  Functions kprobes refuses are skipped and counted.
 *
 * Return: 0 or -ENOMEM.
 */
int chariot_probes_attach(struct chariot_domain *d, struct module *mod,
			  bool coming)
{
	struct chariot_probes *p;
	unsigned int n;

	n = for_each_fn(d, mod, NULL, 0);
	p = kvzalloc(struct_size(p, fp, n), GFP_KERNEL);
	if (!p)
		return -ENOMEM;
	p->n = for_each_fn(d, mod, p, n);
	mark_reach(mod, p, coming);
	place(d, p);
	d->probes = p;
	pr_info("%s: %u of %u functions probed (%u init, %u interface, %u refused, %u internal)\n",
		d->name, p->registered, p->n, p->init, p->roles, p->failed,
		p->internal);
	return 0;
}

static void unregister(struct chariot_probes *p, bool init_only)
{
	struct kretprobe **rps;
	unsigned int i, n = 0;

	rps = kvcalloc(p->n, sizeof(*rps), GFP_KERNEL);
	for (i = 0; i < p->n; i++) {
		struct chariot_fn_probe *fp = &p->fp[i];

		if (!fp->registered || (init_only && !fp->init))
			continue;
		fp->registered = false;
		if (rps)
			rps[n++] = &fp->rp;
		else
			unregister_kretprobe(&fp->rp);
	}
	/* One batch: a single RCU grace period for all of them. */
	if (rps && n)
		unregister_kretprobes(rps, n);
	kvfree(rps);
}

/**
 * chariot_probes_drop_init() - remove the probes of a module's init text
 * @d: its domain, whose module just went live (init text about to go)
 *
 * May sleep.
 */
void chariot_probes_drop_init(struct chariot_domain *d)
{
	if (d->probes)
		unregister(d->probes, true);
}

/**
 * chariot_probes_detach() - remove all of a domain's probes
 * @d: the domain
 *
 * May sleep.  On return no handler of them runs any more.
 */
void chariot_probes_detach(struct chariot_domain *d)
{
	if (!d->probes)
		return;
	unregister(d->probes, false);
	kvfree(d->probes);
	d->probes = NULL;
}

/**
 * chariot_probes_show() - print a domain's probe counts
 * @m: the seq_file
 * @d: the domain
 */
void chariot_probes_show(struct seq_file *m, struct chariot_domain *d)
{
	struct chariot_probes *p = d->probes;
	unsigned long missed = 0;
	unsigned int i, live = 0;

	if (!p) {
		seq_puts(m, " probes none");
		return;
	}
	for (i = 0; i < p->n; i++) {
		if (!p->fp[i].registered)
			continue;
		live++;
		missed += p->fp[i].rp.nmissed + p->fp[i].rp.kp.nmissed;
	}
	seq_printf(m, " functions %u probes %u (init %u, interface %u, refused %u, internal %u) now %u missed %lu",
		   p->n, p->registered, p->init, p->roles, p->failed,
		   p->internal, live, missed);
}

/**
 * chariot_probes_show_functions() - one line per probed function
 * @m: the seq_file
 * @d: its domain
 *
 * Name, interface role, calls seen, entries into the domain from it,
 * calls kprobes missed (no instance free, or a kprobe already running on
 * that CPU: an interrupt that came during another probe's handler).
 */
void chariot_probes_show_functions(struct seq_file *m, struct chariot_domain *d)
{
	struct chariot_probes *p = d->probes;
	unsigned int i;

	for (i = 0; p && i < p->n; i++) {
		struct chariot_fn_probe *fp = &p->fp[i];

		if (!fp->registered)
			continue;
		seq_printf(m, "%s %ps %s%s calls %ld enters %ld missed %lu\n",
			   d->name, (void *)fp->fn, chariot_role_name(fp->role),
			   kprobe_ftrace(&fp->rp.kp) ? "" : " (int3)",
			   atomic_long_read(&fp->calls),
			   atomic_long_read(&fp->enters),
			   fp->rp.nmissed + fp->rp.kp.nmissed);
	}
}
