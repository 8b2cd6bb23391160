// SPDX-License-Identifier: GPL-2.0
/*
 * recover.c - a faulty isolated driver: its call unwound, the driver torn
 * down and loaded again (recover=reload|unload|off).
 *
 * Detect.  An exception raised by the driver's own code (page fault, #GP,
 * #UD, BUG(), divide error...) reaches the kernel's oops path through one
 * of two functions, both probed here before they oops: page_fault_oops()
 * (a page fault no fixup covers; with SMAP a kernel access to a user
 * address goes there directly) and fixup_exception() (every other trap
 * taken in kernel mode).  A fault the VMM sees (a write it denied and
 * dropped, a hang) is brought to the same place: the VMM sends the vCPU to
 * chariot_recover_entry (published in the shared area, chariot_abi.h),
 * whose ud2 raises #UD with the domain, the driver's RIP and the reason in
 * rdi, rsi, rdx.  So one function, unwind(), handles every fault.  Two
 * more come that way: the stack protector's panic for a driver function
 * whose canary its own overflow broke (panic() probed when
 * __stack_chk_fail() calls it for driver code: the driver's frame is
 * garbage, its outermost entry is not), and an exception in kernel code
 * the driver called (a bad pointer it passed), when no fixup covers it:
 * the task is inside the driver's call, whose entry it goes back to.
 *
 * Unwind.  The context's outermost entry into the failed domain has a
 * recovery frame (probes.c): the stack pointer at the function's first
 * instruction, whose slot holds the return hook's trampoline, and the
 * callee-saved registers.  The exception returns there, as if the function
 * had returned with an error for its role (chariot_recover_error()): the
 * trampoline runs the monitor's return handler, which pops the context's
 * frames and posts LEAVE, and goes back into the kernel caller.  Where
 * the kernel called the driver again inside that call (driver -> kernel
 * -> driver: an init whose add_disk() reads the disk), the innermost such
 * entry is the one unwound: the kernel code between goes on to its end
 * (the locks and references it holds are released: unwinding past it
 * left brd's exit waiting on its disk for ever), and the outermost call
 * returns an error when it returns (CHARIOT_ENTRY_DOOMED).  The
 * probed oops function itself is skipped (fixup_exception() returns 1:
 * "fixed up").  Interrupts are as they were at entry, and so is what the
 * driver's lock calls changed outside the locks (give_back()): the
 * preempt count (spin locks, disabled bottom halves), the task's RCU
 * nesting and pagefault_disable() depth, or the kernel would go on
 * "atomic".  The lock words themselves are not tracked: a lock in the
 * driver's own memory goes with the driver; one in the kernel's stays
 * taken (a known limit).
 *
 * Fail fast, tear down, reload.  The domain is marked failed: every call
 * into it returns an error at once (probes.c's fn_pre) except from the
 * task tearing it down.  A work item then runs the module's exit function
 * (it unregisters what it registered: no path into its code is left),
 * waits for the references to drain and unloads it through the kernel's
 * own path (unload()), and, with recover=reload, loads it
 * again with the parameters it had (insmod from /lib/modules/chariot, else
 * modprobe); the service is restored when what the module served before
 * the teardown is served again (service.c).  recover_limit faults of one
 * module within recover_window seconds leave it unloaded: the fault is
 * deterministic.  What was done is
 * written to the shared area's fault records for the VMM's report.  A
 * fault in init is torn down with the module the kernel frees
 * (chariot_recover_module()), then reloaded the same way.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kprobes.h>
#include <linux/configfs.h>
#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/extable.h>
#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/umh.h>
#include <linux/workqueue.h>

#include <asm/bug.h>
#include <asm/linkage.h>
#include <asm/ptrace.h>

#include "monitor.h"

#define LIMIT_MAX	16
#define CMD_LEN		512
#define UNLOAD_MS	5000	/* a module in use is forced out after it */
#define RELOAD_TRIES	5
#define RELOAD_RETRY_MS	200
#define LOAD_WAIT_MS	30000
#define SERVICE_WAIT_MS	5000	/* then what it served before is back, or not */
#define CONFIGFS_NAME	(CONFIGFS_ITEM_NAME_LEN * 4)	/* longer: left */
#define CONFIGFS_DIRS	8	/* a user's directories removed per subsystem */

enum { RECOVER_OFF, RECOVER_UNLOAD, RECOVER_RELOAD };

/*
 * The VMM's way in (chariot_recovery.entry): a #UD the catchers know.
 * Before it, chariot_recover_warn, never run (a ud2 only so that nothing
 * falls through): a WARN() trap sent to the entry (warn_ret()) returns
 * LEN_UD2 bytes past where its registers say, as handle_bug() steps over
 * the ud2 it believes it returns to.
 */
asm(".pushsection .text, \"ax\"\n"
    ".type chariot_recover_warn, @function\n"
    "chariot_recover_warn:\n"
    "	ud2\n"
    ".size chariot_recover_warn, . - chariot_recover_warn\n"
    ".globl chariot_recover_entry\n"
    ".type chariot_recover_entry, @function\n"
    "chariot_recover_entry:\n"
    "	ud2\n"
    ".size chariot_recover_entry, . - chariot_recover_entry\n"
    ".popsection\n");
void chariot_recover_entry(void);
void chariot_recover_warn(void);
static_assert(LEN_UD2 == 2);	/* chariot_recover_warn's size */

/* A skipped function's return: the stack is as at its first instruction. */
asm(".pushsection .text, \"ax\"\n"
    ".globl chariot_skip_ret\n"
    ".type chariot_skip_ret, @function\n"
    "chariot_skip_ret:\n"
    "	" ASM_RET
    ".size chariot_skip_ret, . - chariot_skip_ret\n"
    ".popsection\n");

/**
 * struct recovery - one domain's recovery state
 * @work:   the teardown and reload
 * @queued: @work is queued or running
 * @slot:   the fault record of the fault being recovered from, or -1
 * @t0:     when it was detected
 * @times:  when its last faults (those that started a recovery) were seen
 * @nfault: how many there were in all
 */
struct recovery {
	struct work_struct work;
	atomic_t queued;
	bool exit_at_going;	/* a fault in init: its exit runs at GOING */
	bool queue_at_gone;	/* and the recovery work after that */
	atomic_t init_faults;	/* faults in init so far (a reload's) */
	char *args;		/* the parameters of a module gone at GOING */
	int slot;
	ktime_t t0;
	ktime_t times[LIMIT_MAX];
	unsigned int nfault;
};

static struct recovery rec[CHARIOT_RING_MAX_DOMAINS];
static struct chariot_recovery *area;	/* in the shared area */
static atomic_t nslots;
static struct workqueue_struct *wq;
static int mode = RECOVER_OFF;
static unsigned int limit = 3, window_s = 60;
static unsigned long trampoline;	/* where return hooks return to */
static struct kprobe catch_pf = { .symbol_name = "page_fault_oops" };
static struct kprobe catch_fixup = { .symbol_name = "fixup_exception" };
static struct kprobe catch_panic = { .symbol_name = "panic" };
static int warn_entry(struct kretprobe_instance *ri, struct pt_regs *regs);
static int warn_ret(struct kretprobe_instance *ri, struct pt_regs *regs);
static struct kretprobe catch_warn = {
	.kp.symbol_name = "__warn",
	.entry_handler = warn_entry,
	.handler = warn_ret,
	.data_size = sizeof(struct pt_regs *),
	.maxactive = 16,
};
static struct kprobe catch_configfs;	/* set up by chariot_recover_coming() */
static bool pf_on, fixup_on, panic_on, warn_on, configfs_on;
static unsigned long stack_chk_fail;	/* __stack_chk_fail() */
/* search_exception_tables(): has kernel code a fixup at ip? */
static const struct exception_table_entry *(*search_fixup)(unsigned long ip);

/**
 * chariot_recover_error() - what a failed call into a driver returns
 * @role: the function's interface role
 *
 * Return: the error value the kernel caller of such a function handles.
 */
long chariot_recover_error(enum chariot_role role)
{
	switch (role) {
	case CHARIOT_ROLE_QUEUE_RQ:
	case CHARIOT_ROLE_QUEUE_RQS:
		return 10;	/* BLK_STS_IOERR: blk-mq ends the request */
	case CHARIOT_ROLE_START_XMIT:
	case CHARIOT_ROLE_POLL:
		return 0;	/* NETDEV_TX_OK (the packet is lost); no work */
	case CHARIOT_ROLE_TIMEOUT:
		return 0;	/* BLK_EH_DONE: the monitor ended it */
	case CHARIOT_ROLE_QUERY:
		/* "Not supported": rtnetlink then leaves the attribute out.
		 * Any other error fails the whole link message as if it had
		 * outgrown if_nlmsg_size() (a WARNING for each notification
		 * about the failed driver's netdevs, "Buffer too small" for
		 * a dump). */
		return -EOPNOTSUPP;
	default:
		return -EIO;
	}
}

/**
 * chariot_recover_refuse() - must a call into a failed domain fail?
 * @d:    the domain, failed
 * @role: the function's interface role
 *
 * Return: true, except for the task tearing it down (its exit function),
 * which is still refused I/O: the writeback of a disk's dirty pages that
 * del_gendisk() makes runs the failed driver's submit_bio in that task,
 * and a lock the fault left taken (a missing unlock) would hold it there
 * for ever.  A failed disk fails its writeback, as a dead one does.
 */
bool chariot_recover_refuse(struct chariot_domain *d, enum chariot_role role)
{
	switch (role) {
	case CHARIOT_ROLE_QUEUE_RQ:
	case CHARIOT_ROLE_QUEUE_RQS:
	case CHARIOT_ROLE_SUBMIT_BIO:
	case CHARIOT_ROLE_RW_PAGE:
	case CHARIOT_ROLE_START_XMIT:
	case CHARIOT_ROLE_POLL:
		return true;
	default:
		return READ_ONCE(d->reaper) != current;
	}
}

/* A fault record in the shared area, or -1 when they are all used. */
static int record(unsigned int id, u8 why, u64 rip, u8 flags)
{
	struct chariot_fault *f;
	int slot;

	if (!area)
		return -1;
	slot = atomic_inc_return(&nslots) - 1;
	if (slot >= CHARIOT_FAULTS_MAX)
		return -1;
	f = &area->fault[slot];
	f->domain = id;
	f->detected_by = why;
	f->flags = flags;
	f->recovery_us = 0;
	f->rip = rip;
	if (rip)
		snprintf(f->symbol, sizeof(f->symbol), "%pS", (void *)rip);
	else
		f->symbol[0] = '\0';
	/* Records fill in order: the count follows the slowest writer. */
	smp_store_release(&area->nfaults,
			  max_t(u32, READ_ONCE(area->nfaults), slot + 1));
	return slot;
}

static void set_flags(int slot, u8 flags)
{
	if (area && slot >= 0)
		WRITE_ONCE(area->fault[slot].flags,
			   READ_ONCE(area->fault[slot].flags) | flags);
}

/* The kretprobe instance whose data an entry is. */
static struct llist_node *instance_of(struct chariot_entry *e)
{
	struct kretprobe_instance *ri = container_of((void *)e,
		struct kretprobe_instance, data);

	return &ri->node.llist;
}

/* The preempt count's parts a lock call changes. */
#define HELD_MASK	(PREEMPT_MASK | SOFTIRQ_MASK)

/**
 * chariot_recover_hold() - note the lock state a call enters with
 * @held: the call's entry's
 * @p:    the probe whose handler runs (its own share of the preempt count
 *        is in the figure: give_back() compares like with like)
 */
void chariot_recover_hold(struct chariot_held *held, struct kprobe *p)
{
	held->preempt = preempt_count() & HELD_MASK;
	held->rcu = rcu_preempt_depth();
	held->pagefault = current->pagefault_disabled;
	held->ftrace = kprobe_ftrace(p);
}

/*
 * Give the context back the lock state of its entry: the unlocks the
 * driver would have made never run.  comparable: the preempt count now
 * holds the same share of a probe handler as the entry's figure (else the
 * count is left).  Return: whether anything was given back.
 */
static bool give_back(const struct chariot_held *h, bool comparable,
		      unsigned int id)
{
	unsigned int now = preempt_count() & HELD_MASK, pc = 0;
	int rcu = 0, pf = 0;

	if (comparable && now > h->preempt)
		pc = now - h->preempt;
	if (pc)
		preempt_count_sub(pc);
	/* Bounded: the depth cannot grow while this runs. */
	while (rcu_preempt_depth() > h->rcu && rcu++ < 64)
		rcu_read_unlock();
	if (current->pagefault_disabled > h->pagefault) {
		pf = current->pagefault_disabled - h->pagefault;
		current->pagefault_disabled = h->pagefault;
	}
	if (!pc && !rcu && !pf)
		return false;
	pr_info("a call into domain %u: gave back preempt count 0x%x, %d RCU read lock(s), %d pagefault_disable()\n",
		id, pc, rcu, pf);
	return true;
}

/*
 * The other way: a call that released more than it took (an unlock whose
 * lock call never ran) gets back what it lost, as the caller counts on.
 * Return: whether anything was missing.
 */
static bool take_back(const struct chariot_held *h, bool comparable,
		      unsigned int id)
{
	unsigned int now = preempt_count() & HELD_MASK, pc = 0;
	int rcu = 0, pf = 0;

	if (comparable && now < h->preempt) {
		pc = h->preempt - now;
		preempt_count_add(pc);
	}
	while (rcu_preempt_depth() < h->rcu && rcu++ < 64)
		rcu_read_lock();
	if (current->pagefault_disabled < h->pagefault) {
		pf = h->pagefault - current->pagefault_disabled;
		current->pagefault_disabled = h->pagefault;
	}
	if (!pc && !rcu && !pf)
		return false;
	pr_info("a call into domain %u: took back preempt count 0x%x, %d RCU read lock(s), %d pagefault_disable()\n",
		id, pc, rcu, pf);
	return true;
}

/*
 * The return hooks of calls made inside the one unwound and not returned
 * (the driver's interface function entered again through the kernel, an
 * allocator it called) sit above its own on the task's list.  The hooks'
 * trampoline returns to the topmost real return address and runs a hook
 * only for the frame it returns from (rethook_trampoline_handler(): a
 * WARN and a return into the nested call's caller, on the unwound stack:
 * seen in brd's init, unwound from brd_submit_bio under add_disk()).  So
 * the nested hooks are made hooks of the unwound call's frame that return
 * through the trampoline (as the hook of a function called from a hooked
 * one's tail): its handler runs them all, innermost first, then this
 * call's, and returns where this call returns.  Return: false if e's own
 * hook is not on the list (nothing changed).
 */
static bool fold_nested(struct chariot_entry *e)
{
	struct llist_node *mine = instance_of(e), *n;
	struct rethook_node *rh;

	for (n = current->rethooks.first; n && n != mine; n = n->next)
		;
	if (!n)
		return false;
	if (current->rethooks.first != mine)
		chariot_count(unwind_nested);
	for (n = current->rethooks.first; n != mine; n = n->next) {
		rh = container_of(n, struct rethook_node, llist);
		rh->frame = container_of(mine, struct rethook_node,
					 llist)->frame;
		rh->ret_addr = trampoline;
	}
	return true;
}

/* The running context's outermost entry into domain id with a recovery
 * frame, or NULL.  Preemption off. */
static struct chariot_entry *outermost(int level, unsigned int id)
{
	struct chariot_ctx *c = chariot_ctx_current(level, false);
	unsigned int i;

	for (i = 0; c && i < c->nframes; i++)
		if (c->frames[i].domain == id)
			return c->frames[i].entry->frame.magic ==
			       CHARIOT_FRAME_MAGIC ? c->frames[i].entry : NULL;
	return NULL;
}

/*
 * Resume the faulting context at its entry into domain id (the outermost,
 * or the innermost one from the kernel inside it), as if that call
 * returned an error.  Interrupts off (a context is only
 * changed from itself).  Return: whether regs now go there.
 */
static bool unwind(struct pt_regs *regs, struct kprobe *p, int level,
		   unsigned int id)
{
	struct chariot_entry *e = outermost(level, id), *outer = e;
	struct chariot_domain *d = chariot_domain_get(id);
	const struct chariot_recovery_frame *f;
	struct chariot_ctx *c;
	unsigned long ret;
	bool comparable;

	if (!e)
		return false;
	c = e->ctx;
	/* Not past kernel code that called the driver again: the innermost
	 * such call fails, the kernel under it finishes, and the outermost
	 * returns an error when it returns. */
	if (d)
		e = chariot_probes_innermost(outer, d);
	if (e != outer) {
		outer->flags |= CHARIOT_ENTRY_DOOMED;
		chariot_count(unwind_inner);
	}
	f = &e->frame;
	/* Through the trampoline, so the return hooks stay in step; the
	 * frames above are popped by its handler (probes.c's pop()). */
	ret = *(unsigned long *)f->sp;
	if (ret != trampoline || !fold_nested(e)) {
		ret = f->ret;
		c->alloc_depth = 0;	/* no allocator's hook runs */
	}
	regs->ip = ret;
	regs->sp = f->sp + 8;
	regs->bx = f->rbx;
	regs->bp = f->rbp;
	regs->r12 = f->r12;
	regs->r13 = f->r13;
	regs->r14 = f->r14;
	regs->r15 = f->r15;
	regs->ax = chariot_recover_error(e->role);
	regs->flags = (regs->flags & ~X86_EFLAGS_IF) |
		      (e->eflags & X86_EFLAGS_IF);
	e->flags |= CHARIOT_ENTRY_UNWOUND;	/* its return finishes its object */
	comparable = e->held.ftrace == kprobe_ftrace(p);
	if (!comparable)
		chariot_count(unwind_held_unknown);
	if (give_back(&e->held, comparable, id))
		chariot_count(unwind_released);
	return true;
}

/* Faults within the window, this one included; remembers this one. */
static unsigned int count_fault(struct recovery *r, ktime_t now)
{
	unsigned int i, n = 0, lim = min_t(unsigned int, limit, LIMIT_MAX);

	r->times[r->nfault++ % LIMIT_MAX] = now;
	for (i = 0; i < min(r->nfault, lim); i++)
		if (ktime_ms_delta(now, r->times[(r->nfault - 1 - i) %
						 LIMIT_MAX]) <=
		    (s64)window_s * MSEC_PER_SEC)
			n++;
	return n;
}

/* A fault in domain id was unwound (or not): record it, start recovery. */
static void failed(unsigned int id, u8 why, u64 rip, bool unwound)
{
	struct chariot_domain *d = chariot_domain_get(id);
	struct recovery *r = &rec[id];
	u8 flags = unwound ? CHARIOT_FAULT_UNWOUND : 0;
	bool in_init;
	int slot;

	chariot_count(faults);
	if (unwound)
		chariot_count(unwound);
	/* In init: the kernel frees the module itself once init returns the
	 * error; the teardown goes with that (chariot_recover_module()). */
	in_init = d && d->mod && d->mod->state == MODULE_STATE_COMING;
	if (in_init) {
		atomic_inc(&r->init_faults);
		WRITE_ONCE(r->exit_at_going, true);
	}
	if (!d || READ_ONCE(d->failed) || atomic_xchg(&r->queued, 1)) {
		record(id, why, rip, flags | CHARIOT_FAULT_FOLLOWUP |
		       CHARIOT_FAULT_DONE);
		/* A reload's init faulted: its calls fail fast until the
		 * kernel frees it.  (Any other follow-up leaves the domain as
		 * it is: nothing would recover it.) */
		if (in_init)
			WRITE_ONCE(d->failed, true);
		return;
	}
	slot = record(id, why, rip, flags);
	WRITE_ONCE(d->failed, true);
	r->slot = slot;
	r->t0 = ktime_get();
	WRITE_ONCE(r->queue_at_gone, in_init);
	if (!in_init)
		queue_work(wq, &r->work);
}

/**
 * chariot_recover_returned() - a call into a domain has returned: as it
 * entered?
 * @held:   the lock state it entered with
 * @eflags: the flags it entered with
 * @regs:   the return's registers (their flags are the ones returned to)
 * @id:     the domain
 * @fn:     the driver's function
 *
 * A call that returns holding a lock (a spin_unlock() that never ran
 * leaves the preempt count raised; bottom halves or interrupts left off,
 * an RCU read lock, pagefault_disable()), or with less than it entered
 * with, is a faulty driver: the kernel's own check comes far later and
 * elsewhere ("scheduling while atomic" in the next task to sleep) or never,
 * and the next call spins on the lock.  The caller gets back the state it
 * called with, and the domain is recovered as after any other fault; the
 * call itself is not unwound (it has returned).  Runs in the return
 * hook, whose own preempt_disable() matches an ftrace-based entry
 * probe's: the preempt count is compared for those only.
 */
void chariot_recover_returned(const struct chariot_held *held,
			      unsigned long eflags, struct pt_regs *regs,
			      unsigned int id, unsigned long fn)
{
	bool more, less, irq_off;

	if (mode == RECOVER_OFF)
		return;
	irq_off = (eflags & X86_EFLAGS_IF) && !(regs->flags & X86_EFLAGS_IF);
	if (irq_off)
		regs->flags |= X86_EFLAGS_IF;
	more = give_back(held, held->ftrace, id);
	less = take_back(held, held->ftrace, id);
	if (!more && !less && !irq_off)
		return;
	chariot_count(returned_held);
	if (irq_off)
		pr_info("a call into domain %u returned with interrupts off: turned on\n",
			id);
	failed(id, CHARIOT_FAULT_LOCK, fn, false);
}

/**
 * chariot_recover_lost() - a driver lost a request for good (iface.c)
 * @id: the domain
 * @fn: its function that said so (its ->timeout)
 *
 * A hang with no call to unwind: recovered as after any other fault.
 *
 * Return: whether recovery is on (the caller then ends the request).
 */
bool chariot_recover_lost(unsigned int id, unsigned long fn)
{
	if (mode == RECOVER_OFF)
		return false;
	pr_info("domain %u: a timed-out request left undone a period on: lost\n",
		id);
	failed(id, CHARIOT_FAULT_HANG, fn, false);
	return true;
}

/*
 * The parameters mod runs with, as an insmod command line: "name=value"
 * for each, read back through its ops (mod->args cannot serve: the kernel
 * parsed it in place, cutting it at the first '=').  NULL if there is no
 * memory; "" for none.
 */
static char *module_args(struct module *mod)
{
	char *out = kzalloc(CMD_LEN / 2, GFP_KERNEL);
	char *val = (char *)__get_free_page(GFP_KERNEL);
	size_t used = 0;
	unsigned int i;
	int n;

	if (!out || !val)
		goto fail;
	kernel_param_lock(mod);
	for (i = 0; i < mod->num_kp; i++) {
		const struct kernel_param *kp = &mod->kp[i];

		if (!kp->ops->get)
			continue;
		n = kp->ops->get(val, kp);
		if (n <= 0 || n >= PAGE_SIZE)
			continue;
		val[n] = 0;
		strim(val);
		n = snprintf(out + used, CMD_LEN / 2 - used, "%s%s=\"%s\"",
			     used ? " " : "", kp->name, val);
		if (n >= CMD_LEN / 2 - used) {
			out[used] = 0;	/* what does not fit is left out */
			break;
		}
		used += n;
	}
	kernel_param_unlock(mod);
	free_page((unsigned long)val);
	return out;
fail:
	free_page((unsigned long)val);
	kfree(out);
	return NULL;
}

/**
 * chariot_recover_module() - a failed domain's module changes state
 * @d:     the domain (domain.c's lock held), its module @mod
 * @mod:   the module
 * @state: MODULE_STATE_LIVE or MODULE_STATE_GOING
 *
 * A fault in a module's init was unwound: init returns an error and the
 * kernel frees the module (GOING) without its exit function, which would
 * leave what init registered before the fault (disks, files) pointing into
 * freed code.  So at GOING its exit function runs first, by this task (let
 * into the failed domain); exit functions of the kernel's drivers undo a
 * partial init as well (brd's deletes the disks its list holds); one
 * that faults on what init never made (null_blk's exit unregisters a
 * configfs subsystem its init registers last) is unwound as any call
 * into the failed domain.  Called first in the GOING chain (domain.c's
 * module_going()), while the module's probes are intact.  The
 * recovery work (reload) is queued after: call again with @mod NULL once
 * the domain is destroyed.  If the module went LIVE after all (the fault
 * was in another context), recovery goes as for a live module.
 */
void chariot_recover_module(struct chariot_domain *d, struct module *mod,
			    unsigned long state)
{
	struct recovery *r = &rec[d->id];
	void (*exit)(void);

	if (!wq)
		return;
	if (mod && state == MODULE_STATE_GOING) {
		if (!xchg(&r->exit_at_going, false))
			return;
		/* The recovery work comes after the module is freed. */
		if (READ_ONCE(r->queue_at_gone))
			kfree(xchg(&r->args, module_args(mod)));
		exit = xchg(&mod->exit, NULL);
		if (exit) {
			pr_warn("%s: recovery: init failed: its exit undoes it\n",
				d->name);
			WRITE_ONCE(d->reaper, current);
			exit();
			WRITE_ONCE(d->reaper, NULL);
		}
		return;
	}
	WRITE_ONCE(r->exit_at_going, false);	/* it went LIVE after all */
	if (xchg(&r->queue_at_gone, false))
		queue_work(wq, &r->work);
}

/* Has the driver's instruction at ip a fixup of its own (a uaccess)? */
static bool has_fixup(int id, unsigned long ip)
{
	struct chariot_domain *d = chariot_domain_get(id);
	struct module *mod = d ? READ_ONCE(d->mod) : NULL;
	unsigned int i;

	for (i = 0; mod && i < mod->num_exentries; i++) {
		const struct exception_table_entry *x = &mod->extable[i];

		if ((unsigned long)&x->insn + x->insn == ip)
			return true;
	}
	return false;
}

/* The domain whose call the context at level is in (the innermost, when
 * a driver calls the kernel that calls another), or -1.  Kernel code
 * that faults with no fixup there does so with what the driver gave it.
 * An interrupt's handler is at another level: not the driver's. */
static int calling_domain(int level)
{
	struct chariot_ctx *c = chariot_ctx_current(level, false);

	return c && c->nframes ? (int)c->frames[c->nframes - 1].domain : -1;
}

/* Nothing to unwind: back to where the VMM took the vCPU from, with the
 * registers it overwrote, when it saved them on the stack (chariot_abi.h,
 * CHARIOT_REDIRECT_SAVED).  A WARN sent here (warn_ret()) saves none: it
 * is sent only with a call to unwind. */
static void go_on(struct pt_regs *regs, u64 resume, bool saved)
{
	const unsigned long *s = (const unsigned long *)regs->sp;

	if (saved) {
		regs->di = s[0];
		regs->si = s[1];
		regs->dx = s[2];
		regs->cx = s[3];
		regs->sp += 4 * sizeof(*s);
	}
	regs->ip = resume;
}

/* The exception at regs, in the context of the probe p that caught it: a
 * driver's fault?  Then unwind it.  Return: whether regs were changed. */
static bool caught(struct kprobe *p, struct pt_regs *regs)
{
	unsigned long flags;
	u64 rip = regs->ip, resume = 0, src;
	u8 why = CHARIOT_FAULT_EXCEPTION;
	int id, level = chariot_probe_level(p);
	bool done, saved = false;

	if (level < 0)
		return false;
	if (rip == (unsigned long)chariot_recover_entry) {
		id = regs->di < CHARIOT_RING_MAX_DOMAINS ? (int)regs->di : -1;
		rip = regs->si;
		saved = regs->dx & CHARIOT_REDIRECT_SAVED;
		src = regs->dx & ~(u64)CHARIOT_REDIRECT_SAVED;
		why = src == CHARIOT_FAULT_HANG ||
		      src == CHARIOT_FAULT_EXCEPTION ? src : CHARIOT_FAULT_WRITE;
		resume = regs->cx;
	} else {
		id = chariot_domain_of_code(rip);
		if (id < 0 && (p == &catch_pf ||
			       (search_fixup && !search_fixup(rip))))
			id = calling_domain(level);
		if (id < 0 || mode == RECOVER_OFF || has_fixup(id, rip))
			return false;
	}
	local_irq_save(flags);
	done = id >= 0 && mode != RECOVER_OFF && unwind(regs, p, level, id);
	local_irq_restore(flags);
	if (!done && !resume)
		return false;	/* the kernel's own course: an oops */
	if (!done)
		go_on(regs, resume, saved);	/* nothing to unwind */
	if (id >= 0)
		failed(id, why, rip, done);
	return true;
}

/* page_fault_oops(regs, error_code, address): skipped when caught. */
static int pf_pre(struct kprobe *p, struct pt_regs *regs)
{
	if (!caught(p, (struct pt_regs *)regs->di))
		return 0;
	instruction_pointer_set(regs, (unsigned long)chariot_skip_ret);
	return 1;
}

/* fixup_exception(regs, trapnr, ...): returns 1 ("fixed") when caught. */
static int fixup_pre(struct kprobe *p, struct pt_regs *regs)
{
	if (!caught(p, (struct pt_regs *)regs->di))
		return 0;
	regs->ax = 1;
	instruction_pointer_set(regs, (unsigned long)chariot_skip_ret);
	return 1;
}

/*
 * panic(fmt, ...) from __stack_chk_fail() (its second argument: the
 * return address in the function whose canary broke): when that is a
 * driver's, go to chariot_recover_entry instead, as the VMM sends a
 * vCPU, and its #UD unwinds the driver's call.
 */
static int panic_pre(struct kprobe *p, struct pt_regs *regs)
{
	unsigned long from = *(unsigned long *)regs->sp;
	int id;

	if (!stack_chk_fail || from - stack_chk_fail > 64 ||
	    mode == RECOVER_OFF)
		return 0;
	id = chariot_domain_of_code(regs->si);
	if (id < 0)
		return 0;
	/* The fault's RIP: the driver's call of __stack_chk_fail() (it does
	 * not return: the address after it is often the next function). */
	if (*(u8 *)(regs->si - 5) == 0xe8)
		regs->si -= 5;
	regs->di = (unsigned long)id;
	regs->dx = CHARIOT_FAULT_EXCEPTION;
	regs->cx = 0;	/* no call to unwind: the #UD oopses instead */
	instruction_pointer_set(regs, (unsigned long)chariot_recover_entry);
	return 1;
}

/*
 * __warn(file, line, caller, taint, regs, args): a WARN*() trapped (its
 * ud2) in a driver's code is the driver's fault like an exception: once
 * the warning is printed, the trap returns to chariot_recover_entry
 * instead of past the ud2, and that #UD unwinds the call (or, with nothing
 * to unwind, goes on past the WARN as it would).  Not a WARN in kernel
 * code inside the driver's call: among those is the return hooks' own
 * check (rethook_trampoline_handler()) when an unwind passes the hooks of
 * nested calls, and taking that one unwinds again, and again (seen in a
 * brd campaign).  A WARN with no trap registers, or with no call into
 * the domain to unwind (nothing a resume could give its registers back
 * from), is left alone.
 */
static int warn_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	*(struct pt_regs **)ri->data = (struct pt_regs *)regs->r8;
	return mode == RECOVER_OFF || !regs->r8;	/* 1: no return hook */
}

static int warn_ret(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct pt_regs *trap = *(struct pt_regs **)ri->data;
	int id;

	if (chariot_level() < 0 || !trap)
		return 0;
	id = chariot_domain_of_code(trap->ip);
	if (id < 0)
		return 0;
	/* Only with a call to unwind, as the VMM sends a vCPU: the #UD's
	 * "go on" resumes with the four registers below overwritten. */
	if (!outermost(chariot_level(), id)) {
		chariot_count(warn_unentered);
		return 0;
	}
	chariot_count(warnings);
	trap->di = (unsigned long)id;
	trap->si = trap->ip;
	trap->dx = CHARIOT_FAULT_EXCEPTION;
	trap->cx = trap->ip + LEN_UD2;
	trap->ip = (unsigned long)chariot_recover_warn;
	return 0;
}

/*
 * /sys/kernel/debug/chariot/fail: writing an isolated module's name
 * recovers it as after a fault (tear down, reload): an operator's way to
 * restart a driver, and the tests' way to fail one in the middle of its
 * work.  Nothing is unwound: no call of it is interrupted.
 */
static ssize_t fail_write(struct file *file, const char __user *ubuf,
			  size_t len, loff_t *ppos)
{
	char name[MODULE_NAME_LEN];
	struct chariot_domain *d;
	size_t n = min(len, sizeof(name) - 1);
	unsigned int i;

	if (copy_from_user(name, ubuf, n))
		return -EFAULT;
	name[n] = '\0';
	strim(name);
	for (i = 0; (d = chariot_domain_get(i)); i++) {
		if (strcmp(d->name, name))
			continue;
		if (!READ_ONCE(d->mod))
			return -ENODEV;
		failed(i, CHARIOT_FAULT_OPERATOR, 0, false);
		return len;
	}
	return -ENOENT;
}

static const struct file_operations fail_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.write = fail_write,
	.llseek = no_llseek,
};

/**
 * chariot_recover_debugfs() - add the "fail" file
 * @dir: the monitor's debugfs directory
 */
void chariot_recover_debugfs(struct dentry *dir)
{
	if (mode != RECOVER_OFF)
		debugfs_create_file("fail", 0200, dir, NULL, &fail_fops);
}

/* The init callback of a helper: the task that may enter failed d. */
static int let_in(struct subprocess_info *info, struct cred *new)
{
	struct chariot_domain *d = info->data;

	WRITE_ONCE(d->reaper, current);
	return 0;
}

static int run_sh(struct chariot_domain *d, const char *cmd)
{
	char *argv[] = { "/bin/sh", "-c", (char *)cmd, NULL };
	static char *envp[] = { "HOME=/", "PATH=/sbin:/bin:/usr/sbin:/usr/bin",
				NULL };
	struct subprocess_info *info;

	pr_info("%s: recovery: %s\n", d->name, cmd);
	info = call_usermodehelper_setup(argv[0], argv, envp, GFP_KERNEL,
					 let_in, NULL, d);
	if (!info)
		return -ENOMEM;
	return call_usermodehelper_exec(info, UMH_WAIT_PROC);
}

/*
 * configfs_register_subsystem() called from a driver's code: the
 * subsystem is remembered for its teardown (release_configfs()).  Its
 * registrations come from its init and probe, one at a time.
 */
static int configfs_pre(struct kprobe *p, struct pt_regs *regs)
{
	struct chariot_domain *d;
	unsigned long ret;
	int id;

	if (get_kernel_nofault(ret, (unsigned long *)regs->sp))
		return 0;
	id = chariot_domain_of_code(ret);
	d = id >= 0 ? chariot_domain_get(id) : NULL;
	if (d && d->nconfigfs < CHARIOT_CONFIGFS_MAX)
		d->configfs[d->nconfigfs++] = (void *)regs->di;
	return 0;
}

/**
 * chariot_recover_coming() - an isolated module is coming: follow its
 * configfs registrations
 *
 * configfs is a module loaded as the driver's dependency, so it is probed
 * when the first driver comes (again, if it was unloaded and loaded since).
 * May sleep.
 */
void chariot_recover_coming(void)
{
	if (mode == RECOVER_OFF)
		return;
	if (configfs_on && kprobe_gone(&catch_configfs)) {
		unregister_kprobe(&catch_configfs);
		configfs_on = false;
	}
	if (configfs_on)
		return;
	memset(&catch_configfs, 0, sizeof(catch_configfs));
	catch_configfs.symbol_name = "configfs_register_subsystem";
	catch_configfs.pre_handler = configfs_pre;
	configfs_on = !register_kprobe(&catch_configfs);
}

/* A configfs name that is safe in a shell command. */
static bool plain_name(const char *s)
{
	size_t n = s ? strnlen(s, CONFIGFS_NAME) : 0;

	return n && n < CONFIGFS_NAME && strcmp(s, ".") &&
	       strcmp(s, "..") && strspn(s, "abcdefghijklmnopqrstuvwxyz"
					"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-:")
	       == n;
}

/*
 * Directories a user made in the driver's configfs subsystems (null_blk's
 * devices: mkdir /sys/kernel/config/nullb/X) each hold a reference to the
 * module, and configfs_unregister_subsystem() in its exit refuses a
 * subsystem that still has them ("Tried to unregister non-empty
 * subsystem"): the module stayed, failed, for ever (null_blk's campaign).
 * They are removed first, as a user would before an rmmod, each by an
 * rmdir helper let into the failed driver (an item's drop runs the
 * driver's code: null_blk powers the device off).  One level: a user's
 * directory with its own subdirectories stays (configfs says ENOTEMPTY),
 * and default groups refuse (EPERM).  configfs must be mounted where the
 * kernel puts it, /sys/kernel/config.
 */
static void release_configfs(struct chariot_domain *d, char *cmd)
{
	char (*names)[CONFIGFS_NAME];
	struct config_item *item;
	unsigned int i, j, n;

	names = kmalloc_array(CONFIGFS_DIRS, sizeof(*names), GFP_KERNEL);
	if (!names)
		return;
	for (i = 0; i < d->nconfigfs; i++) {
		struct configfs_subsystem *s = d->configfs[i];
		const char *sub = config_item_name(&s->su_group.cg_item);

		if (!plain_name(sub))
			continue;
		n = 0;
		mutex_lock(&s->su_mutex);
		list_for_each_entry(item, &s->su_group.cg_children, ci_entry)
			if (n < CONFIGFS_DIRS &&
			    plain_name(config_item_name(item)))
				strscpy(names[n++], config_item_name(item),
					sizeof(names[0]));
		mutex_unlock(&s->su_mutex);
		for (j = 0; j < n; j++) {
			snprintf(cmd, CMD_LEN,
				 "exec rmdir /sys/kernel/config/%s/%s", sub,
				 names[j]);
			run_sh(d, cmd);
		}
	}
	kfree(names);
}

/*
 * Unload d's module, cutting every path into it first (DESIGN.md: code
 * still reachable after a forced unload oopses).  A user's directories
 * in its configfs subsystems go first (release_configfs()), then what its
 * unfinished probes made (chariot_iface_release()).  Its own exit
 * function unregisters what it registered (its devices, files, handlers); run here
 * first, by this task (let into the failed domain), it leaves no way in,
 * so the references of the unwound callers and of files still open drain
 * (new callers fail fast meanwhile).  Then the kernel's unload path frees
 * it: rmmod -f, since its exit function is taken away so that it does not
 * run twice (a module with an init and no exit needs the force flag; it is
 * a real force only if something still holds it after UNLOAD_MS).  The
 * helper's command is exec'd by its own task.  Return: whether it is gone.
 */
static bool unload(struct chariot_domain *d, char *cmd)
{
	unsigned long end = jiffies + msecs_to_jiffies(UNLOAD_MS);
	struct module *mod = READ_ONCE(d->mod);
	void (*exit)(void);

	if (!mod)
		return true;
	release_configfs(d, cmd);
	WRITE_ONCE(d->reaper, current);
	chariot_iface_release(d);
	exit = xchg(&mod->exit, NULL);
	if (exit)
		exit();
	WRITE_ONCE(d->reaper, NULL);
	while (module_refcount(mod) > 0 && time_before(jiffies, end))
		msleep(CHARIOT_POLL_MS);
	if (module_refcount(mod) > 0)
		pr_warn("%s: recovery: still held after %d ms: forced out\n",
			d->name, UNLOAD_MS);
	snprintf(cmd, CMD_LEN, "exec rmmod -f %s", d->name);
	run_sh(d, cmd);
	return !READ_ONCE(d->mod);
}

/* Load d's module again with its parameters: from /lib/modules/chariot,
 * else by modprobe; retried a few times (the last references to the old
 * instance's objects, a block device's kobject, may go late). */
static void reload(struct chariot_domain *d, struct recovery *r, char *cmd,
		   const char *args)
{
	int faults = atomic_read(&r->init_faults);
	unsigned int i;

	for (i = 0; i < RELOAD_TRIES && !READ_ONCE(d->mod); i++) {
		if (i)
			msleep(RELOAD_RETRY_MS);
		snprintf(cmd, CMD_LEN, "exec insmod /lib/modules/chariot/%s.ko %s",
			 d->name, args ?: "");
		if (!run_sh(d, cmd) || READ_ONCE(d->mod) ||
		    atomic_read(&r->init_faults) != faults)
			break;
		snprintf(cmd, CMD_LEN, "exec modprobe %s %s", d->name, args ?: "");
		run_sh(d, cmd);
		if (atomic_read(&r->init_faults) != faults)
			break;
	}
}

/*
 * Whether d's module, loaded again, came up: its init ran to the end.  The
 * load may be another's, under way when ours found the name taken (the
 * kernel's own autoload of brd when /dev/ram0 is opened: seen), so it is
 * waited for, LOAD_WAIT_MS at most (inits that trap every write are slow).
 */
static bool live_after_load(struct chariot_domain *d)
{
	unsigned long end = jiffies + msecs_to_jiffies(LOAD_WAIT_MS);
	struct module *mod;

	for (;;) {
		mod = READ_ONCE(d->mod);
		if (!mod)
			return false;
		if (mod->state == MODULE_STATE_LIVE)
			return true;
		if (time_after(jiffies, end))
			return false;
		msleep(CHARIOT_POLL_MS);
	}
}

/* Tear domain r's module down; with reload, load it again. */
static void recover_work(struct work_struct *w)
{
	struct recovery *r = container_of(w, struct recovery, work);
	unsigned int id = r - rec;
	struct chariot_domain *d = chariot_domain_get(id);
	bool deterministic, reloaded = false;
	struct chariot_service *svc;
	char *cmd, *args = NULL;
	int slot = r->slot, faults;

	cmd = kmalloc(CMD_LEN, GFP_KERNEL);
	svc = kzalloc(sizeof(*svc), GFP_KERNEL);
	deterministic = count_fault(r, r->t0) >= limit;
	args = xchg(&r->args, NULL);	/* a module gone with its init */
	if (!args && d->mod)
		args = module_args(d->mod);
	if (!cmd || !svc)
		goto out;
	chariot_service_note(d, svc);
	if (!unload(d, cmd)) {
		pr_err("%s: recovery: unload failed: left failed\n", d->name);
		goto out;
	}
	set_flags(slot, CHARIOT_FAULT_UNLOADED);
	if (deterministic || mode != RECOVER_RELOAD) {
		if (deterministic)
			set_flags(slot, CHARIOT_FAULT_DETERMINISTIC);
		pr_warn("%s: recovery: unloaded%s\n", d->name, deterministic ?
			" for good: deterministic fault rule" : "");
		goto out;
	}
	faults = atomic_read(&r->init_faults);
	reload(d, r, cmd, args);
	reloaded = READ_ONCE(d->mod) != NULL;
	if (!reloaded && atomic_read(&r->init_faults) != faults) {
		/* Its init faulted again: nothing a reload changes. */
		set_flags(slot, CHARIOT_FAULT_DETERMINISTIC);
		pr_warn("%s: recovery: unloaded for good: init faulted again\n",
			d->name);
		goto out;
	}
	if (reloaded) {
		set_flags(slot, CHARIOT_FAULT_RELOADED);
		if (live_after_load(d) &&
		    chariot_service_back(d, svc, SERVICE_WAIT_MS))
			set_flags(slot, CHARIOT_FAULT_RESTORED);
	}
	pr_info("%s: recovery: %s in %lld ms\n", d->name,
		reloaded ? "reloaded" : "reload failed",
		ktime_ms_delta(ktime_get(), r->t0));
out:
	if (area && slot >= 0)
		WRITE_ONCE(area->fault[slot].recovery_us,
			   ktime_us_delta(ktime_get(), r->t0));
	set_flags(slot, CHARIOT_FAULT_DONE);
	if (svc)
		chariot_service_drop(svc);
	kfree(svc);
	kfree(args);
	kfree(cmd);
	atomic_set(&r->queued, 0);
}

static int parse_mode(const char *s)
{
	if (!strcmp(s, "reload"))
		return RECOVER_RELOAD;
	if (!strcmp(s, "unload"))
		return RECOVER_UNLOAD;
	if (!strcmp(s, "off") || !*s)
		return RECOVER_OFF;
	return -EINVAL;
}

static bool catch_on(struct kprobe *kp, kprobe_pre_handler_t pre)
{
	int err;

	kp->pre_handler = pre;
	err = register_kprobe(kp);
	if (err)
		pr_warn("recovery: cannot probe %s (%d): those faults oops\n",
			kp->symbol_name, err);
	return !err;
}

/**
 * chariot_recover_start() - catch the isolated drivers' faults
 * @how:    "reload", "unload" or "off"
 * @lim:    faults within @win seconds that leave a module unloaded
 * @win:    the window
 *
 * Isolation must be on.  May sleep.
 *
 * Return: 0 or -errno (recovery stays off).
 */
int chariot_recover_start(const char *how, unsigned int lim, unsigned int win)
{
	unsigned int i;
	int m = parse_mode(how);

	if (m < 0) {
		pr_err("recover=%s: reload, unload or off\n", how);
		return m;
	}
	if (m == RECOVER_OFF)
		return 0;
	limit = clamp(lim, 1u, (unsigned int)LIMIT_MAX);
	window_s = win;
	trampoline = chariot_lookup_name("arch_rethook_trampoline");
	wq = alloc_ordered_workqueue("chariot_recover", 0);
	if (!wq)
		return -ENOMEM;
	for (i = 0; i < CHARIOT_RING_MAX_DOMAINS; i++)
		INIT_WORK(&rec[i].work, recover_work);
	area = chariot_channel_area(CHARIOT_SHM_RECOVERY_OFFSET,
				    sizeof(*area));
	mode = m;
	search_fixup = (void *)chariot_lookup_name("search_exception_tables");
	stack_chk_fail = chariot_lookup_name("__stack_chk_fail");
	pf_on = catch_on(&catch_pf, pf_pre);
	fixup_on = catch_on(&catch_fixup, fixup_pre);
	panic_on = stack_chk_fail && catch_on(&catch_panic, panic_pre);
	warn_on = !register_kretprobe(&catch_warn);
	if (!warn_on)
		pr_warn("recovery: cannot probe __warn: a driver's WARN is only printed\n");
	if (area) {
		WRITE_ONCE(area->entry, (unsigned long)chariot_recover_entry);
		smp_store_release(&area->magic, CHARIOT_RECOVERY_MAGIC);
	}
	pr_info("recovery: %s, %u faults in %u s leave a module unloaded\n",
		how, limit, window_s);
	return 0;
}

/**
 * chariot_recover_stop() - stop catching faults
 *
 * May sleep.
 */
void chariot_recover_stop(void)
{
	unsigned int i;

	if (mode == RECOVER_OFF)
		return;
	if (area)
		WRITE_ONCE(area->magic, 0);
	if (pf_on)
		unregister_kprobe(&catch_pf);
	if (fixup_on)
		unregister_kprobe(&catch_fixup);
	if (panic_on)
		unregister_kprobe(&catch_panic);
	if (warn_on)
		unregister_kretprobe(&catch_warn);
	if (configfs_on)
		unregister_kprobe(&catch_configfs);
	pf_on = fixup_on = panic_on = warn_on = configfs_on = false;
	destroy_workqueue(wq);
	wq = NULL;
	for (i = 0; i < ARRAY_SIZE(rec); i++) {
		kfree(rec[i].args);
		rec[i].args = NULL;
	}
	mode = RECOVER_OFF;
}

/**
 * chariot_recover_show() - the recovery counters
 * @m: the seq_file
 */
void chariot_recover_show(struct seq_file *m)
{
	static const char *const names[] = { "off", "unload", "reload" };

	seq_printf(m, "recovery: %s faults %lld unwound %lld fail_fast %lld abandoned %lld unwind_nested %lld released %lld held_unknown %lld returned_held %lld lost_requests %lld devices_reset %lld warnings %lld warn_unentered %lld nested_entries %lld unwind_inner %lld records %d\n",
		   names[mode], atomic64_read(&chariot_stats.faults),
		   atomic64_read(&chariot_stats.unwound),
		   atomic64_read(&chariot_stats.fail_fast),
		   atomic64_read(&chariot_stats.abandoned),
		   atomic64_read(&chariot_stats.unwind_nested),
		   atomic64_read(&chariot_stats.unwind_released),
		   atomic64_read(&chariot_stats.unwind_held_unknown),
		   atomic64_read(&chariot_stats.returned_held),
		   atomic64_read(&chariot_stats.lost_requests),
		   atomic64_read(&chariot_stats.devices_reset),
		   atomic64_read(&chariot_stats.warnings),
		   atomic64_read(&chariot_stats.warn_unentered),
		   atomic64_read(&chariot_stats.nested_entries),
		   atomic64_read(&chariot_stats.unwind_inner),
		   atomic_read(&nslots));
}
