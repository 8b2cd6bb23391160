// SPDX-License-Identifier: GPL-2.0
/*
 * ctx.c - who is inside which domain.
 *
 * The VMM keeps, per vCPU, a stack of the domains entered (ENTER pushes,
 * LEAVE pops the innermost); the guest keeps the same per execution
 * context and makes the two agree:
 *  - a task's context lives in a slot of a small table keyed by its
 *    task_struct, claimed at its first entry and freed at its last exit;
 *    a preempt notifier posts LEAVE for all its entries (innermost first)
 *    when it is switched out and ENTER again (outermost first, same
 *    recovery frames) when it is switched in, on whatever CPU, so a
 *    driver that sleeps or migrates never leaves a stale entry on a vCPU;
 *  - the softirq and the hardirq level of each CPU are a context each:
 *    code there never sleeps and nests strictly inside what it
 *    interrupted, so its entries are pushed onto the vCPU's stack above
 *    the task's and popped before the task runs again.
 * No lock: a context is only changed from itself (the current task, or
 * the CPU at that level), with interrupts off in the kprobe handlers.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/hash.h>
#include <linux/kprobes.h>
#include <linux/percpu.h>
#include <linux/sched.h>
#include <linux/sched/task_stack.h>

#include "monitor.h"

#define TASK_SLOTS	512	/* a power of two */
#define WINDOW		16	/* slots probed from a task's hash */

static struct chariot_ctx tasks[TASK_SLOTS];
static DEFINE_PER_CPU(struct chariot_ctx, irq_ctx[2]);
static atomic_t in_domains;		/* task contexts with entries */
static unsigned long irq_stack_off;	/* its per-CPU offset, or 0 */
static unsigned long current_kprobe_off;	/* the same, or 0 */
static bool started;

static void ctx_sched_out(struct preempt_notifier *pn,
			  struct task_struct *next);
static void ctx_sched_in(struct preempt_notifier *pn, int cpu);

static struct preempt_ops ops = {
	.sched_out = ctx_sched_out,
	.sched_in = ctx_sched_in,
};

/**
 * chariot_ctx_start() - get ready to track contexts
 *
 * Enables the preempt notifiers and finds the per-CPU IRQ stacks.  May
 * sleep.
 *
 * Return: 0.
 */
int chariot_ctx_start(void)
{
	irq_stack_off = chariot_lookup_name("hardirq_stack_ptr");
	current_kprobe_off = chariot_lookup_name("current_kprobe");
	if (!irq_stack_off)
		pr_warn("IRQ stacks unknown: driver code in interrupts gets no stack grant\n");
	preempt_notifier_inc();
	started = true;
	return 0;
}

/**
 * chariot_ctx_stop() - stop tracking contexts
 *
 * No task may be inside a domain any more (each such task holds a
 * reference on this module, so unloading waits for them).
 */
void chariot_ctx_stop(void)
{
	if (started)
		preempt_notifier_dec();
	started = false;
}

static struct chariot_ctx *task_ctx(bool create)
{
	unsigned int h = hash_ptr(current, ilog2(TASK_SLOTS)), i;
	struct chariot_ctx *c;

	for (i = 0; i < WINDOW; i++) {
		c = &tasks[(h + i) & (TASK_SLOTS - 1)];
		if (READ_ONCE(c->task) == current)
			return c;
	}
	if (!create)
		return NULL;
	for (i = 0; i < WINDOW; i++) {
		c = &tasks[(h + i) & (TASK_SLOTS - 1)];
		if (!READ_ONCE(c->task) && !cmpxchg(&c->task, NULL, current)) {
			c->level = 0;
			c->nframes = 0;
			c->alloc_depth = 0;
			return c;
		}
	}
	chariot_count(ctx_full);
	return NULL;
}

/*
 * Is the kprobe running on this CPU a jump-optimized one (its handlers
 * called from a detour, not from the int3 handler)?  current_kprobe is
 * not exported: its per-CPU offset is looked up at start.
 */
static bool running_optimized(void)
{
	void __percpu *off = (void __percpu *)current_kprobe_off;
	struct kprobe *cur;

	if (!off)
		return false;
	cur = *(struct kprobe **)raw_cpu_ptr(off);
	return cur && (cur->flags & KPROBE_FLAG_OPTIMIZED);
}

static int level_of(unsigned long pc)
{
	if (pc & NMI_MASK)
		return -1;
	if (pc & HARDIRQ_MASK)
		return 2;
	return pc & SOFTIRQ_OFFSET ? 1 : 0;
}

/**
 * chariot_probe_level() - the interrupt level of the code a kprobe hit
 * @p: the kprobe (a kretprobe's kp)
 *
 * A kprobe placed with int3 (on a function ftrace cannot hook: a notrace
 * or "static inline" one called through a pointer) runs its handler as
 * an NMI (irqentry_nmi_enter() adds NMI_OFFSET + HARDIRQ_OFFSET), so
 * in_nmi() says nothing of the probed code there: take that off first.
 * ftrace-based and jump-optimized probes run in the probed code's own
 * context.
 *
 * Return: 0 task, 1 softirq, 2 hardirq; -1 for an NMI.
 */
int chariot_probe_level(struct kprobe *p)
{
	unsigned long pc = preempt_count();

	if ((pc & NMI_MASK) && !kprobe_ftrace(p) && !running_optimized())
		pc -= NMI_OFFSET + HARDIRQ_OFFSET;
	return level_of(pc);
}

/**
 * chariot_level() - the interrupt level of the running code (a tracepoint
 * probe runs in the traced code's own context)
 *
 * Return: 0 task, 1 softirq, 2 hardirq; -1 for an NMI.
 */
int chariot_level(void)
{
	return level_of(preempt_count());
}

/**
 * chariot_ctx_current() - the context the probed code runs in
 * @level:  its level, from chariot_probe_level() (not -1)
 * @create: for a task with no context yet, claim a slot
 *
 * Call with preemption off.  A task slot claimed here and left with no
 * entry must be given back with chariot_ctx_put().
 *
 * Return: the context; NULL for a task outside every domain when not
 * @create, or when the task table is full.
 */
struct chariot_ctx *chariot_ctx_current(int level, bool create)
{
	struct chariot_ctx *c;

	if (level > 0) {
		c = this_cpu_ptr(&irq_ctx[level - 1]);
		c->level = level;
		return c;
	}
	if (!create && !atomic_read(&in_domains))
		return NULL;
	return task_ctx(create);
}

/**
 * chariot_ctx_put() - give a task's slot back if it holds nothing
 * @c: the context from chariot_ctx_current()
 */
void chariot_ctx_put(struct chariot_ctx *c)
{
	if (!c->level && !c->nframes && !c->alloc_depth)
		smp_store_release(&c->task, NULL);
}

/**
 * chariot_ctx_first() - the context's first entry was pushed
 * @c: the context
 *
 * For a task: follow its context switches from now on, and keep this
 * module loaded while it is inside.
 */
void chariot_ctx_first(struct chariot_ctx *c)
{
	if (c->level)
		return;
	preempt_notifier_init(&c->pn, &ops);
	preempt_notifier_register(&c->pn);
	__module_get(THIS_MODULE);
	atomic_inc(&in_domains);
}

/**
 * chariot_ctx_last() - the context's last entry was popped
 * @c: the context
 *
 * Undoes chariot_ctx_first() and frees a task's slot.
 */
void chariot_ctx_last(struct chariot_ctx *c)
{
	if (c->level)
		return;
	preempt_notifier_unregister(&c->pn);
	atomic_dec(&in_domains);
	module_put(THIS_MODULE);
	chariot_ctx_put(c);
}

/**
 * chariot_ctx_tasks() - tasks inside a domain now
 *
 * Return: how many.
 */
int chariot_ctx_tasks(void)
{
	return atomic_read(&in_domains);
}

/**
 * chariot_ctx_stack() - the stack the CPU runs on, to grant
 * @c:      the current context
 * @base:   set to its lowest address
 * @size:   set to its size
 * @cookie: set to the grant's cookie: the base, plus the context level so
 *          that a hardirq granting the IRQ stack a softirq already holds
 *          does not take the softirq's grant away when it leaves
 *
 * Return: false when the stack pointer is on no stack known here (an
 * exception stack).
 */
bool chariot_ctx_stack(struct chariot_ctx *c, unsigned long *base,
		       unsigned long *size, u64 *cookie)
{
	unsigned long sp = current_stack_pointer, b, top;

	b = (unsigned long)task_stack_page(current);
	if (sp >= b && sp < b + THREAD_SIZE) {
		*size = THREAD_SIZE;
		goto found;
	}
	if (irq_stack_off) {
		/* It points at the IRQ stack's top word. */
		top = *(unsigned long *)per_cpu_ptr((void __percpu *)
						    irq_stack_off,
						    smp_processor_id()) + 8;
		b = top - IRQ_STACK_SIZE;
		if (sp >= b && sp < top) {
			*size = IRQ_STACK_SIZE;
			goto found;
		}
	}
	chariot_count(no_stack);
	return false;

found:
	*base = b;
	*cookie = b | c->level;
	return true;
}

/* Switched out: the vCPU leaves every domain the task is in. */
static void ctx_sched_out(struct preempt_notifier *pn,
			  struct task_struct *next)
{
	struct chariot_ctx *c = container_of(pn, struct chariot_ctx, pn);
	unsigned int cpu = smp_processor_id(), i;
	bool dead = READ_ONCE(current->__state) == TASK_DEAD;
	struct chariot_batch b;

	chariot_batch_init(&b);
	for (i = c->nframes; i--;) {
		struct chariot_ctx_frame *f = &c->frames[i];

		if (dead && (f->entry->flags & CHARIOT_ENTRY_STACK)) {
			chariot_post_revoke(&b, f->domain, CHARIOT_GRANT_STACK,
					    f->entry->stack);
			chariot_count(stack_revokes);
		}
		chariot_post_leave(&b, f->domain, cpu);
		chariot_count(switch_leaves);
	}
	chariot_batch_flush(&b);
	if (!dead || !c->nframes)
		return;
	/*
	 * It died inside (do_exit from driver code): it never runs again, so
	 * its notifier stays on its list (which is being walked) and only the
	 * slot and the counts are given back.
	 */
	chariot_count(dead_tasks);
	c->nframes = 0;
	c->alloc_depth = 0;
	atomic_dec(&in_domains);
	module_put(THIS_MODULE);
	smp_store_release(&c->task, NULL);
}

/* Switched in: the vCPU enters them again, outermost first. */
static void ctx_sched_in(struct preempt_notifier *pn, int cpu)
{
	struct chariot_ctx *c = container_of(pn, struct chariot_ctx, pn);
	struct chariot_batch b;
	unsigned int i;

	chariot_batch_init(&b);
	for (i = 0; i < c->nframes; i++) {
		struct chariot_ctx_frame *f = &c->frames[i];

		chariot_post_enter(&b, f->domain, cpu, &f->entry->frame,
				   f->entry->on_stack);
		chariot_count(switch_enters);
	}
	chariot_batch_flush(&b);
}
