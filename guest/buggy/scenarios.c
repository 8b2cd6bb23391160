// SPDX-License-Identifier: GPL-2.0
/*
 * scenarios.c - the deliberate bugs of chariot_buggy.
 *
 * Each scenario is its own noinline function named buggy_<scenario>, so a
 * trapped write's RIP names the scenario that made it (tests map the RIPs
 * of a run report to these symbols through /proc/kallsyms).  Every store
 * that matters is a plain mov in this module's code (WRITE_ONCE through a
 * pointer, in poke*() inlined into the scenario), never memset or memcpy,
 * which are kernel code.  Each illegal-write scenario logs one line
 *
 *	chariot_buggy: <scenario> landed=<0|1>
 *
 * landed=1 when the value read back after the store is the value stored;
 * "ok" logs "chariot_buggy: ok done run=N sum=S landed=<0|1>" (landed=1:
 * all its legal stores read back, S is the same on every run).
 * An illegal store that landed is undone at once (a second store of the
 * old value, itself illegal), so learn mode and an unisolated run leave
 * the guest as it was; dropped stores (enforce) need no undoing.
 *
 * The illegal targets, none of them ever granted to this module:
 *  wild_write     the u32 at init_task.comm[12..15]: the idle task's name
 *                 is "swapper/0" (9 characters and a NUL), so these bytes
 *                 are past its end, read by nothing; init_task is kernel
 *                 .data (exported), plainly not the driver's.
 *  wild_atomic    the same u32 through locked read-modify-writes (lock
 *                 inc and lock xadd as a get/put pair, lock cmpxchg,
 *                 xchg, lock or); it also logs "wild_atomic: inc=N dec=N
 *                 cmpxchg=N xchg=N set_bit=N returns=right|wrong" (each
 *                 one's landing, and whether what they returned matched
 *                 the word the guest saw).
 *  overflow       the first 8 bytes past a kmalloc(64) object: the start
 *                 of its neighbour in the same kmalloc-64 slab page, an
 *                 object just freed (SLUB keeps a free object's link at
 *                 offset 32).
 *                 It also logs "overflow: neighbour at PA" (the physical
 *                 address, to match against the VMM's CHARIOT_DEBUG_DUMP).
 *  uaf_write      the first 8 bytes of a kmalloc(64) object this module
 *                 has just freed (the grant is revoked by the free).
 *  foreign_write  brd's module parameter rd_size (brd.ko's .data), found
 *                 with kallsyms_lookup_name("brd:rd_size"); brd reads it
 *                 only when it creates a disk.  Needs brd loaded.
 *  pt_write       an empty entry of the page table that maps the stack
 *                 of the writing process's parent (its user half): the
 *                 value stored has the present bit clear, so even landed
 *                 it maps nothing, and it is undone under the table's
 *                 lock.  The parent's, not the writer's own: the CPU's
 *                 own page-table writes open a table in the protected
 *                 view while needed (the VMM opens the user half for a
 *                 walk that stalls there), and the writer's tables are
 *                 walked inside this very call (the trigger's
 *                 copy_from_user), so a store to them may go untrapped
 *                 by design (seen once in test_isolation's learn run);
 *                 the parent waits meanwhile and its tables are not
 *                 walked.
 *  null_deref     a store to address 0: an oops, the writer is killed.
 *  hang           a busy loop with interrupts on that never returns nor
 *                 yields (soft lockup).
 *  stack_smash    32 bytes past the end of a 16-byte array on its own
 *                 stack: writes it may make (its stack), but over its
 *                 stack canary, so __stack_chk_fail() panics at its end.
 *  kernel_oops    a user address handed to the kernel as an object
 *                 (kobject_get()): the page fault is in kernel code, no
 *                 fixup covers it, the driver's call is on the stack.
 *  deadlock       takes this module's spinlock twice: the second
 *                 spin_lock() spins in the kernel's lock code for ever,
 *                 preemption off, the driver's own code never runs again
 *                 (a hang outside the driver's instructions, inside its
 *                 call).
 *  warn           WARN_ON() on a condition that holds: the driver's own
 *                 check says its state is wrong; the kernel prints the
 *                 warning and would go on past it.
 *  warn_io        arms a WARN_ON() in ->queue_rq() (blk.c): the next request
 *                 to /dev/chariot_buggy0 warns in the very function blk-mq
 *                 called, not in one below it.
 *  nested_warn    reads its own disk from the trigger's call (bio,
 *                 submit_bio_wait()) with warn_io armed: the WARN is in
 *                 ->queue_rq() called by blk-mq inside this module's call,
 *                 under the kernel's I/O path (its queue reference).
 *  timeout_fault  the next request to /dev/chariot_buggy0 is lost (never
 *                 ended by ->queue_rq()); when blk-mq times it out, the
 *                 driver's ->timeout() dereferences NULL (blk.c).
 *  lost_request   the next request to /dev/chariot_buggy0 is lost, and
 *                 ->timeout() asks blk-mq for more time for it each time
 *                 it times out (a dropped completion): the I/O never ends.
 *                 Loaded with timeout_op=0 (no ->timeout, as virtio_blk),
 *                 blk-mq itself re-arms its timer each time.
 *  dropped_request  the same, but ->timeout() takes the request over
 *                 (BLK_EH_DONE) and never ends it: blk-mq does not ask
 *                 again.
 *  lock_leak      takes this module's spinlock and returns without
 *                 releasing it (a deleted spin_unlock()): the call returns
 *                 normally, with the preempt count raised, to a kernel
 *                 that sleeps later ("scheduling while atomic").
 *  locked_fault   null_deref with this module's spinlock held (interrupts
 *                 off), bottom halves disabled, an RCU read lock and page
 *                 faults disabled: what the calls it skips would have given
 *                 back (the preempt count, the task's RCU nesting) must be
 *                 given back when the call is unwound, or the kernel goes
 *                 on "atomic" (scheduling while atomic, RCU stalls).
 * The race left: another CPU using the neighbour or the freed object in
 * the few instructions between the store and its undoing.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/bitops.h>
#include <linux/compiler.h>
#include <linux/io.h>
#include <linux/kfence.h>
#include <linux/kobject.h>
#include <linux/kprobes.h>
#include <linux/mm.h>
#include <linux/mmap_lock.h>
#include <linux/module.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "buggy.h"

#define BUGGY_PATTERN	0xc4a210bad0c0ffeeULL
#define OBJ_SIZE	64
#define BATCH		128	/* two kmalloc-64 slab pages' worth */

/* Module data: the "ok" scenario's legal static store. */
static u64 buggy_ok_runs;

/*
 * Store v at p, read it back, undo it if it landed.  old == v would make
 * "landed" meaningless: store ~v then.  Returns whether it landed.
 */
static __always_inline bool poke64(u64 *p, u64 v)
{
	u64 old = READ_ONCE(*p);
	bool landed;

	if (old == v)
		v = ~v;
	WRITE_ONCE(*p, v);
	landed = READ_ONCE(*p) == v;
	if (landed)
		WRITE_ONCE(*p, old);
	return landed;
}

static __always_inline bool poke32(u32 *p, u32 v)
{
	u32 old = READ_ONCE(*p);
	bool landed;

	if (old == v)
		v = ~v;
	WRITE_ONCE(*p, v);
	landed = READ_ONCE(*p) == v;
	if (landed)
		WRITE_ONCE(*p, old);
	return landed;
}

static void report(const char *name, bool landed)
{
	pr_info("%s landed=%d\n", name, landed);
}

/* Legal stores only: a kmalloc'd buffer, the stack, module data. */
static noinline int buggy_ok(void)
{
	volatile u64 stack[16];
	u64 *buf, sum = 0;
	bool good = true;
	int i;

	buf = kmalloc(32 * sizeof(*buf), GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	for (i = 0; i < 32; i++)
		WRITE_ONCE(buf[i], BUGGY_PATTERN * (i + 1));
	for (i = 0; i < 16; i++)
		stack[i] = BUGGY_PATTERN ^ i;
	WRITE_ONCE(buggy_ok_runs, READ_ONCE(buggy_ok_runs) + 1);
	for (i = 0; i < 32; i++) {
		good &= READ_ONCE(buf[i]) == BUGGY_PATTERN * (i + 1);
		sum += READ_ONCE(buf[i]);
	}
	for (i = 0; i < 16; i++) {
		good &= stack[i] == (BUGGY_PATTERN ^ i);
		sum ^= stack[i];
	}
	kfree(buf);
	pr_info("ok done run=%llu sum=%#llx landed=%d\n",
		READ_ONCE(buggy_ok_runs), sum, good);
	return 0;
}

static noinline int buggy_wild_write(void)
{
	char *comm = init_task.comm;

	BUILD_BUG_ON(sizeof(init_task.comm) != 16);
	if (strnlen(comm, sizeof(init_task.comm)) >= 12 ||
	    memchr_inv(comm + 12, 0, 4)) {
		pr_info("wild_write: init_task.comm \"%.16s\" leaves no room\n",
			comm);
		return -EBUSY;
	}
	report("wild_write", poke32((u32 *)(comm + 12), (u32)BUGGY_PATTERN));
	return 0;
}

/*
 * The locked read-modify-writes a driver inlines, on wild_write's word:
 * an increment and a decrement paired as get/put_task_struct() pair
 * theirs (lock inc, lock xadd), lock cmpxchg, xchg and set_bit (lock or).
 * The VMM emulates each through KVM and its own atomic redo (atomic.c),
 * not as a plain store, and must drop each as it drops one; a pair half
 * dropped would unbalance a foreign count (a put landing frees a live
 * object).  Each is checked by reading the word back, and undone if it
 * landed.  The values the instructions return must be the word's as the
 * guest saw it, dropped or not: fetch_sub's the word after the increment,
 * cmpxchg's and xchg's the word before.
 */
static noinline int buggy_wild_atomic(void)
{
	u32 *word = (u32 *)(init_task.comm + 12);
	atomic_t *a = (atomic_t *)word;
	u32 before = READ_ONCE(*word), mid, after;
	bool inc, dec, cas, xchg, bit, rets;

	if (before || strnlen(init_task.comm, sizeof(init_task.comm)) >= 12) {
		pr_info("wild_atomic: init_task.comm leaves no room\n");
		return -EBUSY;
	}
	atomic_inc(a);
	mid = READ_ONCE(*word);
	rets = (u32)atomic_fetch_sub(1, a) == mid;
	after = READ_ONCE(*word);
	inc = mid == before + 1;
	dec = after == mid - 1;
	if (after != before)
		WRITE_ONCE(*word, before);
	rets &= (u32)atomic_cmpxchg(a, before, (u32)BUGGY_PATTERN) == before;
	cas = READ_ONCE(*word) == (u32)BUGGY_PATTERN;
	if (cas)
		WRITE_ONCE(*word, before);
	rets &= (u32)atomic_xchg(a, (u32)BUGGY_PATTERN) == before;
	xchg = READ_ONCE(*word) == (u32)BUGGY_PATTERN;
	if (xchg)
		WRITE_ONCE(*word, before);
	set_bit(0, (unsigned long *)word);
	bit = READ_ONCE(*word) & 1;
	if (bit)
		WRITE_ONCE(*word, before);
	pr_info("wild_atomic: inc=%d dec=%d cmpxchg=%d xchg=%d set_bit=%d returns=%s\n",
		inc, dec, cas, xchg, bit, rets ? "right" : "wrong");
	report("wild_atomic", inc || dec || cas || xchg || bit);
	return 0;
}

/*
 * A kmalloc(OBJ_SIZE) object whose neighbour in the same page is a free
 * object: of a batch allocated here, one whose neighbour is in the batch
 * too (neither a KFENCE object) is kept, and all the others, that
 * neighbour included, are freed.  So the neighbour is no object of this
 * module's (its grant went with the free), whatever this module holds
 * elsewhere in kmalloc-64: taking the next object whatever it was, the
 * neighbour was now and then one of its own live objects, and the
 * overflow a legal write.  The batch is chained through the objects'
 * first word (no stack array: it would be zeroed with rep stos).
 */
static u8 *alloc_with_neighbour(void)
{
	void **batch = NULL, **p, **q, **next;
	u8 *obj = NULL;
	int i;

	for (i = 0; i < BATCH; i++) {
		p = kmalloc(OBJ_SIZE, GFP_KERNEL);
		if (!p)
			break;
		WRITE_ONCE(*p, batch);
		batch = p;
	}
	for (p = batch; p && !obj; p = *p) {
		if (is_kfence_address(p) ||
		    offset_in_page(p) + 2 * OBJ_SIZE > PAGE_SIZE)
			continue;
		for (q = batch; q && !obj; q = *q)
			if ((u8 *)q == (u8 *)p + OBJ_SIZE)
				obj = (u8 *)p;
	}
	for (p = batch; p; p = next) {
		next = *p;
		if ((u8 *)p != obj)
			kfree(p);
	}
	return obj;
}

static noinline int buggy_overflow(void)
{
	u8 *obj = alloc_with_neighbour();
	bool landed;

	if (!obj)
		return -ENOMEM;
	landed = poke64((u64 *)(obj + OBJ_SIZE), BUGGY_PATTERN);
	pr_info("overflow: neighbour at %pa\n",
		 &(phys_addr_t){ virt_to_phys(obj + OBJ_SIZE) });
	kfree(obj);
	report("overflow", landed);
	return 0;
}

static noinline int buggy_uaf_write(void)
{
	u64 *obj = kmalloc(OBJ_SIZE, GFP_KERNEL);

	if (!obj)
		return -ENOMEM;
	kfree(obj);
	report("uaf_write", poke64(obj, BUGGY_PATTERN));
	return 0;
}

/*
 * kallsyms_lookup_name() is not exported in 6.1, but kprobes resolve it:
 * a probe placed on it tells its address.  Returns 0 when that fails.
 */
static unsigned long lookup_name(const char *name)
{
	struct kprobe kp = { .symbol_name = "kallsyms_lookup_name" };
	unsigned long (*lookup)(const char *name);

	if (register_kprobe(&kp) < 0)
		return 0;
	lookup = (unsigned long (*)(const char *))kp.addr;
	unregister_kprobe(&kp);
	return lookup ? lookup(name) : 0;
}

static noinline int buggy_foreign_write(void)
{
	u64 *rd_size = (u64 *)lookup_name("brd:rd_size");

	if (!rd_size) {
		pr_info("foreign_write: no brd:rd_size (is brd loaded?)\n");
		return -ENOENT;
	}
	report("foreign_write", poke64(rd_size, BUGGY_PATTERN));
	return 0;
}

/* The page-table page mapping addr in mm, locked; NULL if there is none
 * (not mapped, or by a huge page). */
static pte_t *pte_table(struct mm_struct *mm, unsigned long addr,
			spinlock_t **ptl)
{
	pgd_t *pgd = pgd_offset(mm, addr);
	p4d_t *p4d;
	pud_t *pud;
	pmd_t *pmd;

	if (pgd_none(*pgd) || pgd_bad(*pgd))
		return NULL;
	p4d = p4d_offset(pgd, addr);
	if (p4d_none(*p4d) || p4d_bad(*p4d))
		return NULL;
	pud = pud_offset(p4d, addr);
	if (pud_none(*pud) || pud_bad(*pud))
		return NULL;
	pmd = pmd_offset(pud, addr);
	if (pmd_none(*pmd) || pmd_bad(*pmd) || pmd_trans_huge(*pmd))
		return NULL;
	return pte_offset_map_lock(mm, pmd, addr, ptl);
}

/* The writing process's parent's memory (held: mmput()), or NULL.  Only
 * kernel functions write here: get_task_struct() inline in this module
 * would be a store to the parent's task the VMM denies (dropped), and the
 * matching put_task_struct()'s decrement, dropped too, still returns the
 * count it read (1): the module then frees the live task (seen). */
static struct mm_struct *parent_mm(void)
{
	struct mm_struct *mm;

	rcu_read_lock();
	mm = get_task_mm(rcu_dereference(current->real_parent));
	rcu_read_unlock();
	return mm;
}

static noinline int buggy_pt_write(void)
{
	struct mm_struct *mm = parent_mm();
	unsigned long addr;
	spinlock_t *ptl;
	pte_t *pte, *table;
	u64 *slot = NULL;
	bool landed;
	int i;

	BUILD_BUG_ON(BUGGY_PATTERN & _PAGE_PRESENT);
	if (!mm)
		return -EINVAL;
	mmap_read_lock(mm);
	addr = mm->start_stack;
	pte = pte_table(mm, addr, &ptl);
	if (!pte) {
		mmap_read_unlock(mm);
		mmput(mm);
		pr_info("pt_write: no page table maps the stack\n");
		return -EBUSY;
	}
	table = pte - pte_index(addr);
	for (i = 0; i < PTRS_PER_PTE && !slot; i++)
		if (pte_none(table[i]))
			slot = (u64 *)&table[i];
	landed = slot && poke64(slot, BUGGY_PATTERN);
	pte_unmap_unlock(pte, ptl);
	mmap_read_unlock(mm);
	mmput(mm);
	if (!slot) {
		pr_info("pt_write: no empty entry\n");
		return -EBUSY;
	}
	report("pt_write", landed);
	return 0;
}

static noinline int buggy_null_deref(void)
{
	u64 *p = NULL;

	OPTIMIZER_HIDE_VAR(p);	/* a real store, not a trap the compiler made */
	pr_info("null_deref: storing to NULL\n");
	WRITE_ONCE(*p, BUGGY_PATTERN);	/* no read first: the fault is a write */
	report("null_deref", READ_ONCE(*p) == BUGGY_PATTERN);
	return 0;
}

static noinline int buggy_stack_smash(void)
{
	char buf[16];
	size_t i, n = sizeof(buf) + 32;

	OPTIMIZER_HIDE_VAR(n);	/* no compile-time bound to check */
	pr_info("stack_smash: %zu bytes into a %zu-byte array\n", n,
		sizeof(buf));
	for (i = 0; i < n; i++)
		((volatile char *)buf)[i] = (char)i;
	report("stack_smash", buf[0] == 0);
	return 0;
}

static noinline int buggy_kernel_oops(void)
{
	struct kobject *bad = (struct kobject *)0x5000;

	OPTIMIZER_HIDE_VAR(bad);
	pr_info("kernel_oops: kobject_get(%px)\n", bad);
	kobject_get(bad);
	report("kernel_oops", false);
	return 0;
}

static DEFINE_SPINLOCK(buggy_lock);

static noinline int buggy_locked_fault(void)
{
	unsigned long flags;
	u64 *p = NULL;

	OPTIMIZER_HIDE_VAR(p);
	pr_info("locked_fault: storing to NULL with a lock held\n");
	local_bh_disable();
	rcu_read_lock();
	spin_lock_irqsave(&buggy_lock, flags);
	pagefault_disable();
	WRITE_ONCE(*p, BUGGY_PATTERN);
	pagefault_enable();
	spin_unlock_irqrestore(&buggy_lock, flags);
	rcu_read_unlock();
	local_bh_enable();
	report("locked_fault", false);
	return 0;
}

static noinline int buggy_deadlock(void)
{
	pr_info("deadlock: taking a spinlock held by this very task\n");
	spin_lock(&buggy_lock);
	spin_lock(&buggy_lock);
	spin_unlock(&buggy_lock);
	spin_unlock(&buggy_lock);
	report("deadlock", false);
	return 0;
}

static noinline int buggy_warn(void)
{
	int broken = 1;

	OPTIMIZER_HIDE_VAR(broken);
	pr_info("warn: a check of its own fails\n");
	if (WARN_ON(broken))
		return -EINVAL;
	return 0;
}

static noinline int buggy_warn_io(void)
{
	pr_info("warn_io: the next request warns in queue_rq\n");
	return buggy_blk_warn_next();
}

static noinline int buggy_nested_warn(void)
{
	pr_info("nested_warn: reading its own disk, queue_rq warns\n");
	return buggy_blk_nested_warn();
}

static noinline int buggy_timeout_fault(void)
{
	pr_info("timeout_fault: the next request is lost\n");
	return buggy_blk_lose_next(BUGGY_LOST_FAULT);
}

static noinline int buggy_lost_request(void)
{
	pr_info("lost_request: the next request is lost for good\n");
	return buggy_blk_lose_next(BUGGY_LOST_WAIT);
}

static noinline int buggy_dropped_request(void)
{
	pr_info("dropped_request: the next request is lost, taken over\n");
	return buggy_blk_lose_next(BUGGY_LOST_DROP);
}

static noinline int buggy_lock_leak(void)
{
	pr_info("lock_leak: returning with a spinlock held\n");
	spin_lock(&buggy_lock);
	return 0;
}

static noinline int buggy_hang(void)
{
	pr_info("hang: spinning forever\n");
	for (;;)
		cpu_relax();
	return 0;
}

static const struct {
	const char *name;
	int (*run)(void);
} scenarios[] = {
	{ "ok", buggy_ok },
	{ "wild_write", buggy_wild_write },
	{ "wild_atomic", buggy_wild_atomic },
	{ "overflow", buggy_overflow },
	{ "uaf_write", buggy_uaf_write },
	{ "foreign_write", buggy_foreign_write },
	{ "pt_write", buggy_pt_write },
	{ "null_deref", buggy_null_deref },
	{ "hang", buggy_hang },
	{ "locked_fault", buggy_locked_fault },
	{ "stack_smash", buggy_stack_smash },
	{ "kernel_oops", buggy_kernel_oops },
	{ "deadlock", buggy_deadlock },
	{ "lock_leak", buggy_lock_leak },
	{ "warn", buggy_warn },
	{ "warn_io", buggy_warn_io },
	{ "nested_warn", buggy_nested_warn },
	{ "timeout_fault", buggy_timeout_fault },
	{ "lost_request", buggy_lost_request },
	{ "dropped_request", buggy_dropped_request },
};

/**
 * buggy_scenario_run() - run the scenario called name
 * @name: "ok", "wild_write", ...
 *
 * Return: the scenario's result (0 or -errno), -EINVAL for an unknown name.
 */
int buggy_scenario_run(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(scenarios); i++)
		if (!strcmp(name, scenarios[i].name))
			return scenarios[i].run();
	pr_info("unknown scenario \"%s\"\n", name);
	return -EINVAL;
}
