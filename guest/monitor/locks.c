// SPDX-License-Identifier: GPL-2.0
/*
 * locks.c - the spin locks a driver's call takes, so that unwinding the
 * call lets them go.
 *
 * A call unwound by recovery never reaches its unlocks.  give_back()
 * (recover.c) returns what the lock calls changed outside the lock (the
 * preempt count, interrupts, bottom halves); the lock words are released
 * here, or the next taker (the driver's own exit in the teardown, or the
 * kernel, for a lock of its own the driver took) spins forever.
 *
 * The kernel's spin lock and unlock functions (out of line in this
 * kernel: UNINLINE_SPIN_UNLOCK) each get one kprobe, ftrace-based, for
 * the monitor's life: a call whose return address is in a domain's code
 * notes the lock (RDI) in the calling context's outermost entry into that
 * domain; an unlock call forgets it.  The lock is noted before it is
 * taken: recovery unwinds a context only from the domain's own code,
 * never from inside the kernel's lock function, so a noted lock is held.
 * An unwound entry's locks are released last taken first, the lock word
 * only (do_raw_spin_unlock()).  (Probing each lock call site in a
 * driver's code instead cost 0.1-0.5 s per site at every module load in
 * the test host, 13.5 s for virtio_net's 26.)
 *
 * Not followed: trylocks (taken or not is known only after the call),
 * read/write locks, mutexes and semaphores, an unlock the driver makes by
 * tail jump from an entry nested in another (its return address is the
 * kernel's), and more than CHARIOT_LOCKS_MAX at once in one entry
 * (counted).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kprobes.h>
#include <linux/slab.h>
#include <linux/spinlock.h>

#include "monitor.h"

struct lock_probe {
	struct kprobe kp;
	const char *sym;
	bool release;
	bool registered;
};

/* The kernel's out-of-line spin lock functions. */
static struct lock_probe probes[] = {
	{ .sym = "_raw_spin_lock" },
	{ .sym = "_raw_spin_lock_irqsave" },
	{ .sym = "_raw_spin_lock_irq" },
	{ .sym = "_raw_spin_lock_bh" },
	{ .sym = "_raw_spin_unlock", .release = true },
	{ .sym = "_raw_spin_unlock_irqrestore", .release = true },
	{ .sym = "_raw_spin_unlock_irq", .release = true },
	{ .sym = "_raw_spin_unlock_bh", .release = true },
};

static void note(struct chariot_entry *e, void *lock)
{
	if (e->nlocks == CHARIOT_LOCKS_MAX) {
		chariot_count(locks_untracked);
		return;
	}
	e->locks[e->nlocks++] = lock;
}

static void forget(struct chariot_entry *e, void *lock)
{
	int i;

	for (i = e->nlocks - 1; i >= 0; i--) {
		if (e->locks[i] != lock)
			continue;
		memmove(&e->locks[i], &e->locks[i + 1],
			(e->nlocks - i - 1) * sizeof(e->locks[0]));
		e->nlocks--;
		return;
	}
}

static int lock_pre(struct kprobe *p, struct pt_regs *regs)
{
	struct lock_probe *lp = container_of(p, struct lock_probe, kp);
	/* At the function's entry: [sp] is the return address. */
	unsigned long ret = *(unsigned long *)kernel_stack_pointer(regs);
	struct chariot_entry *e;
	unsigned long flags;
	int level, dom;

	if (ret < MODULES_VADDR || ret >= MODULES_END ||
	    !chariot_domain_count())
		return 0;
	dom = chariot_domain_of_code(ret);
	level = chariot_probe_level(p);
	if (dom < 0 || level < 0)
		return 0;
	local_irq_save(flags);
	e = chariot_ctx_outermost(chariot_ctx_current(level, false), dom);
	if (e && lp->release)
		forget(e, (void *)regs->di);
	else if (e)
		note(e, (void *)regs->di);
	local_irq_restore(flags);
	return 0;
}

/**
 * chariot_locks_release() - let go of the spin locks an unwound entry took
 * @e: the entry
 *
 * Return: how many were released.
 */
unsigned int chariot_locks_release(struct chariot_entry *e)
{
	unsigned int n = e->nlocks;

	while (e->nlocks) {
		raw_spinlock_t *lock = e->locks[--e->nlocks];

		/* Taken by this context (noted at its lock call), so still
		 * locked; the check guards against a lock word the driver
		 * itself overwrote. */
		if (raw_spin_is_locked(lock))
			do_raw_spin_unlock(lock);
	}
	return n;
}

/**
 * chariot_locks_start() - follow the spin lock calls domains make
 *
 * May sleep.  A function kprobes refuses is skipped (the count says).
 */
void chariot_locks_start(void)
{
	unsigned int i, n = 0;

	for (i = 0; i < ARRAY_SIZE(probes); i++) {
		probes[i].kp = (struct kprobe){ .symbol_name = probes[i].sym,
						.pre_handler = lock_pre };
		probes[i].registered = !register_kprobe(&probes[i].kp);
		n += probes[i].registered;
	}
	pr_info("locks: %u of %zu spin lock functions followed\n", n,
		ARRAY_SIZE(probes));
}

void chariot_locks_stop(void)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(probes); i++)
		if (probes[i].registered)
			unregister_kprobe(&probes[i].kp);
	for (i = 0; i < ARRAY_SIZE(probes); i++)
		probes[i].registered = false;
}
