/* SPDX-License-Identifier: GPL-2.0 */
/*
 * monitor.h - what the parts of the Chariot guest monitor module share.
 *
 * main.c loads and unloads the module; channel.c owns the VMM's I/O ports
 * and the shared-memory area; announce.c says who we are; panic.c reports
 * a kernel panic.
 *
 * The driver monitor: ring.c posts isolation updates to the VMM
 * (chariot_ring.h) and post.c builds them (grant_va.c translating a
 * guest-virtual grant); domain.c turns isolated modules
 * into domains (module notifier); probes.c sees their functions entered
 * and left (kretprobes), ctx.c keeps who is inside which domain; alloc.c
 * grants what is allocated on a domain's behalf and revokes it when freed;
 * iface.c grants the objects the kernel hands a driver; debugfs.c shows
 * the counters of stats.c.
 */
#ifndef CHARIOT_MONITOR_H
#define CHARIOT_MONITOR_H

#include <linux/atomic.h>
#include <linux/kprobes.h>
#include <linux/module.h>
#include <linux/preempt.h>
#include <linux/types.h>

#include "chariot_abi.h"
#include "chariot_ring.h"

struct dentry;
struct seq_file;

/* ---- channel.c, announce.c, panic.c, poweroff.c ---- */

int chariot_channel_open(void);
void chariot_channel_close(void);
void chariot_channel_announce(const struct chariot_announce *a);
void chariot_channel_panic(const char *msg);
void *chariot_channel_area(u32 offset, u32 len);
void chariot_channel_doorbell(enum chariot_cmd cmd);

unsigned long chariot_lookup_name(const char *name);
int chariot_announce(void);

int chariot_panic_register(void);
void chariot_panic_unregister(void);

void chariot_channel_poweroff(void);
int chariot_poweroff_register(void);
void chariot_poweroff_unregister(void);

/* ---- ring.c: the producer side of the update ring ---- */

/* Why a batch is posted: the doorbell rules of chariot_ring.h. */
#define CHARIOT_WHY_ENTER	0x1u	/* it holds an ENTER: always ring */
#define CHARIOT_WHY_LEAVE	0x2u	/* it holds a LEAVE: always ring */
#define CHARIOT_WHY_REVOKE	0x4u	/* it holds a REVOKE: always ring */
#define CHARIOT_WHY_MORE	0x8u	/* a part: the rest of the event follows */
#define CHARIOT_WHY_OPENED	0x10u	/* an earlier part found the ring empty */
#define CHARIOT_WHY_FREED	0x20u	/* it holds a PAGE_FREED: always ring */

enum chariot_doorbell_reason {
	CHARIOT_DB_ENTER,
	CHARIOT_DB_LEAVE,
	CHARIOT_DB_REVOKE,
	CHARIOT_DB_EMPTY,	/* the post made the ring non-empty */
	CHARIOT_DB_KICK,	/* the ring is at the kick level */
	CHARIOT_DB_FULL,	/* full: ring, then retry */
	CHARIOT_DB_FREED,	/* a system page was freed */
	CHARIOT_DB_REASONS
};

int chariot_ring_open(void);
void chariot_ring_close(void);
bool chariot_ring_active(void);
bool chariot_ring_post(struct chariot_ring_rec *recs, unsigned int n,
		       unsigned int why);
void chariot_ring_show(struct seq_file *m);

/* ---- post.c: records gathered into batches ---- */

#define CHARIOT_BATCH	8

/**
 * struct chariot_batch - records built on the stack, posted together
 * @n:   records held
 * @why: CHARIOT_WHY_* of the records added since the last post
 * @rec: the records
 *
 * A batch holds the records of one event (an entry, a return, an
 * allocation...), which count as one post for the doorbell rules.  A full
 * batch is posted as a part (CHARIOT_WHY_MORE: it rings only if the ring
 * is at the kick level or full), so a batch never loses records, and the
 * flush that ends the event rings once for all of it.
 */
struct chariot_batch {
	unsigned int n;
	unsigned int why;
	struct chariot_ring_rec rec[CHARIOT_BATCH];
};

static inline void chariot_batch_init(struct chariot_batch *b)
{
	b->n = 0;
	b->why = 0;
}

void chariot_batch_flush(struct chariot_batch *b);
void chariot_post_create(struct chariot_batch *b, unsigned int domain,
			 unsigned long code, unsigned long len, u64 name_id);
void chariot_post_code(struct chariot_batch *b, unsigned int domain,
		       unsigned long code, unsigned long len);
void chariot_post_uncode(struct chariot_batch *b, unsigned int domain,
			 unsigned long code, unsigned long len);
void chariot_post_destroy(struct chariot_batch *b, unsigned int domain);
void chariot_post_trusted(struct chariot_batch *b, unsigned long code,
			  unsigned long len);
void chariot_post_trusted_gone(struct chariot_batch *b, unsigned long code,
			       unsigned long len);
void chariot_post_thunk(struct chariot_batch *b, unsigned long code,
			unsigned long len);
void chariot_post_page_freed(struct chariot_batch *b, phys_addr_t pa,
			     unsigned long len);
int chariot_post_grant(struct chariot_batch *b, unsigned int domain,
		       enum chariot_grant_kind kind, u64 cookie,
		       const void *va, unsigned long len);
void chariot_post_grant_phys(struct chariot_batch *b, unsigned int domain,
			     enum chariot_grant_kind kind, u64 cookie,
			     phys_addr_t pa, unsigned long len);
void chariot_post_revoke(struct chariot_batch *b, unsigned int domain,
			 enum chariot_grant_kind kind, u64 cookie);
void chariot_post_enter(struct chariot_batch *b, unsigned int domain,
			unsigned int cpu, const void *frame, u64 stack);
void chariot_post_leave(struct chariot_batch *b, unsigned int domain,
			unsigned int cpu);

/* ---- domain.c: one domain per isolated module ---- */

/**
 * struct chariot_domain - an isolated module, as the guest sees it
 * @id:       domain id posted to the VMM: the module's place in @isolate
 * @name:     the module's name
 * @live:     posted to the VMM and not destroyed (read without the lock)
 * @mod:      the module while it is loaded
 * @text:     its core text [text[0], text[1])
 * @init:     its init text while it exists, else 0..0
 * @probes:   its function probes (probes.c)
 * @enters:   ENTERs posted for it (first entries and re-entries after a
 *            context switch)
 * @leaves:   LEAVEs posted for it
 * @ifaces:   interface objects granted to it
 * @module_grants: its MODULE_DATA grants outstanding (by cookie)
 * @late:     attached after it had loaded (its init and earlier
 *            allocations were not seen)
 * @failed:   it faulted (recover.c): calls into it fail fast until it is
 *            unloaded; a new load starts clean
 * @reaper:   the task tearing it down, let in despite @failed
 */
#define CHARIOT_WAITED	8
#define CHARIOT_CONFIGFS_MAX	4
#define CHARIOT_UNPROBED_MAX	4

struct virtio_device;

struct chariot_domain {
	unsigned int id;
	char name[MODULE_NAME_LEN];
	bool live;
	struct module *mod;
	unsigned long text[2];
	unsigned long init[2];
	struct chariot_probes *probes;
	atomic64_t enters;
	atomic64_t leaves;
	atomic64_t ifaces;
	unsigned int module_grants;
	bool late;
	bool failed;
	struct task_struct *reaper;
	/* requests its ->timeout asked more time for, and requests it took
	 * over (BLK_EH_DONE) but left in flight (iface.c) */
	struct chariot_waited {
		void *rq;
		u64 start;	/* its start_time_ns and sector: a new I/O */
		u64 pos;	/* in the same (reused) request is not it */
		unsigned long fn;	/* the ->timeout */
		unsigned long due;	/* taken over: jiffies to look again */
		struct module *mod;	/* the instance it was taken by */
	} waited[CHARIOT_WAITED], taken[CHARIOT_WAITED];
	unsigned int nwaited, ntaken;
	/* configfs subsystems its code registered (recover.c) */
	void *configfs[CHARIOT_CONFIGFS_MAX];
	unsigned int nconfigfs;
	/* virtio devices whose probe it never finished, held, and its
	 * remove for them (iface.c) */
	struct chariot_unprobed {
		struct virtio_device *vdev;
		unsigned long remove;
	} unprobed[CHARIOT_UNPROBED_MAX];
	unsigned int nunprobed;
};

int chariot_domains_start(const char *isolate);
int chariot_module_list_next(const char **s, char name[MODULE_NAME_LEN],
			     const char *what);
void chariot_domains_stop(void);
int chariot_domain_of_code(unsigned long addr);
unsigned int chariot_domain_count(void);
struct chariot_domain *chariot_domain_get(unsigned int id);
void chariot_domains_show(struct seq_file *m);
void chariot_domains_show_functions(struct seq_file *m);

/* ---- probes.c's entry data, ctx.c: who is inside which domain ---- */

#define CHARIOT_FRAME_MAGIC	0x4d415246u	/* "FRAM" */

/**
 * struct chariot_recovery_frame - where recovery unwinds an entry to
 * @magic:  CHARIOT_FRAME_MAGIC
 * @domain: the domain entered
 * @sp:     the stack pointer at the function's first instruction: it
 *          points at the return address slot (which then holds the
 *          kretprobe trampoline)
 * @ret:    the original return address, into the caller
 * @fn:     the function entered
 * @rbx: @rbp: @r12: @r13: @r14: @r15: the callee-saved registers at entry
 *
 * Its guest-virtual address is the ENTER record's addr.  It lives in the
 * kretprobe instance of the entry and stays valid until that entry
 * returns.  Resuming at [sp]'s current content (the trampoline) with
 * rsp = sp + 8 and these registers lets kretprobes unwind their own
 * shadow stack (and the monitor post the LEAVE); resuming at @ret skips
 * that.
 */
struct chariot_recovery_frame {
	u32 magic;
	u32 domain;
	u64 sp;
	u64 ret;
	u64 fn;
	u64 rbx, rbp, r12, r13, r14, r15;
};

#define CHARIOT_IFACE_MAX	3

#define CHARIOT_ENTRY_PUSHED	0x1u	/* this entry opened a frame */
#define CHARIOT_ENTRY_STACK	0x2u	/* and granted its stack */
#define CHARIOT_ENTRY_UNWOUND	0x4u	/* a fault unwound it (recover.c) */
#define CHARIOT_ENTRY_NESTED	0x8u	/* from the kernel, the domain entered
					 * already: a frame, not pushed */
#define CHARIOT_ENTRY_DOOMED	0x10u	/* a call nested in it was unwound:
					 * it returns an error */

struct chariot_ctx;

/**
 * struct chariot_held - the state the kernel's lock calls change outside
 * the lock itself, as it was at a call's entry (recover.c gives it back
 * to an unwound call: the unlocks it skipped will never run)
 * @preempt:   the preempt count's preemption and bottom-half parts (spin
 *             locks, local_bh_disable()), less the entry probe's own
 * @rcu:       the task's RCU read-side nesting (preemptible RCU)
 * @pagefault: the task's pagefault_disable() depth
 * @ftrace:    the entry probe is ftrace-based (its handler's own share of
 *             @preempt matches only a probe of the same kind)
 */
struct chariot_held {
	unsigned int preempt;
	int rcu;
	int pagefault;
	bool ftrace;
};

/**
 * struct chariot_entry - kretprobe instance data of one function entry
 * @frame:    the recovery frame (posted with ENTER when @flags has PUSHED)
 * @ctx:      the context it was entered in
 * @stack:    the STACK grant's cookie
 * @on_stack: the stack it runs on, posted with ENTER (chariot_ring.h)
 * @cookies:  interface objects granted for this call
 * @ncookies: how many
 * @flags:    CHARIOT_ENTRY_*
 * @role:     the function's interface role (enum chariot_role): what an
 *            unwound call returns
 * @eflags:   the flags register at entry (an unwound call gets its IF back)
 * @held:     the lock state at entry (an unwound call gets it back)
 * @obj:      the object the call must finish, if any (a bio): an unwound
 *            call's is finished with an error (chariot_iface_abandon())
 */
struct chariot_entry {
	struct chariot_recovery_frame frame;
	struct chariot_ctx *ctx;
	u64 stack;
	u64 on_stack;
	u64 cookies[CHARIOT_IFACE_MAX];
	u8 ncookies;
	u8 flags;
	u8 role;
	unsigned long eflags;
	struct chariot_held held;
	void *obj;
};

#define CHARIOT_CTX_FRAMES	8

struct chariot_ctx_frame {
	struct chariot_entry *entry;
	unsigned int domain;
};

/**
 * struct chariot_ctx - one execution context's stack of domain entries
 * @task:        task contexts: the task (NULL: the slot is free)
 * @level:       0 task, 1 softirq, 2 hardirq
 * @nframes:     entries into a domain not yet left, outermost first
 * @alloc_depth: tracked allocator calls in progress (nested ones are the
 *               allocator's own business and are not granted)
 * @frames:      the entries
 * @pn:          task contexts: sees the task switched out and in
 *
 * A context is a task (in process context) or, per CPU, the softirq or
 * the hardirq level: code at one level never sleeps and nests strictly,
 * so every context's entries are left in the reverse order.
 */
struct chariot_ctx {
	struct task_struct *task;
	unsigned int level;
	unsigned int nframes;
	unsigned int alloc_depth;
	struct chariot_ctx_frame frames[CHARIOT_CTX_FRAMES];
	struct preempt_notifier pn;
};

int chariot_ctx_start(void);
void chariot_ctx_stop(void);
int chariot_probe_level(struct kprobe *p);
int chariot_level(void);
struct chariot_ctx *chariot_ctx_current(int level, bool create);
void chariot_ctx_put(struct chariot_ctx *c);
void chariot_ctx_first(struct chariot_ctx *c);
void chariot_ctx_last(struct chariot_ctx *c);
bool chariot_ctx_stack(struct chariot_ctx *c, unsigned long *base,
		       unsigned long *size, u64 *cookie);
int chariot_ctx_tasks(void);

/* ---- probes.c: entries into and exits from a domain ---- */

int chariot_probes_attach(struct chariot_domain *d, struct module *mod,
			  bool coming);
void chariot_probes_drop_init(struct chariot_domain *d);
void chariot_probes_detach(struct chariot_domain *d);
struct chariot_entry *chariot_probes_innermost(struct chariot_entry *outer,
					       struct chariot_domain *d);
void chariot_probes_show(struct seq_file *m, struct chariot_domain *d);
void chariot_probes_show_functions(struct seq_file *m,
				   struct chariot_domain *d);

/* ---- reach.c: functions entered from outside a module ---- */

int chariot_reach_scan(struct module *mod, const unsigned long *fn,
		       unsigned int n, unsigned long *taken);

/* ---- iface.c: objects handed to a driver ---- */

enum chariot_role {
	CHARIOT_ROLE_NONE,
	CHARIOT_ROLE_QUEUE_RQ,
	CHARIOT_ROLE_QUEUE_RQS,
	CHARIOT_ROLE_COMPLETE,
	CHARIOT_ROLE_SUBMIT_BIO,
	CHARIOT_ROLE_RW_PAGE,
	CHARIOT_ROLE_START_XMIT,
	CHARIOT_ROLE_GET_STATS,
	CHARIOT_ROLE_POLL,
	CHARIOT_ROLE_PROBE,
	CHARIOT_ROLE_REMOVE,
	CHARIOT_ROLE_OPEN,
	CHARIOT_ROLE_RELEASE,
	CHARIOT_ROLE_GETGEO,
	CHARIOT_ROLE_IOCTL,
	CHARIOT_ROLE_STOP,
	CHARIOT_ROLE_INIT_HCTX,
	CHARIOT_ROLE_EXIT_HCTX,
	CHARIOT_ROLE_QUERY,
	CHARIOT_ROLE_TIMEOUT,
	CHARIOT_ROLES
};

enum chariot_role chariot_iface_role(const char *name);
void chariot_iface_grant(enum chariot_role role, unsigned long fn,
			 struct pt_regs *regs, unsigned int domain,
			 struct chariot_entry *e, struct chariot_batch *b);
const char *chariot_role_name(enum chariot_role role);
void chariot_iface_abandon(struct chariot_domain *d, enum chariot_role role,
			   unsigned long fn,
			   void *obj, bool ran);
void chariot_iface_returned(enum chariot_role role, unsigned long fn,
			    void *obj, unsigned int domain,
			    struct pt_regs *regs);
void chariot_iface_forget(struct chariot_domain *d);
void chariot_iface_release(struct chariot_domain *d);
unsigned int chariot_iface_unprobed(struct chariot_domain *d,
				    struct device **devs, unsigned int max);

/* How often the recovery looks again at what it waits for (a module's
 * references, its load, its service). */
#define CHARIOT_POLL_MS	20

/* What a driver serves (service.c): noted before its teardown, waited for
 * after its reload. */
#define CHARIOT_SERVED_MAX	8
enum { CHARIOT_SERVED_DISK, CHARIOT_SERVED_NETDEV };

struct chariot_service {
	struct chariot_served {
		u8 kind;		/* CHARIOT_SERVED_* */
		char name[32];		/* DISK_NAME_LEN, IFNAMSIZ: both fit */
	} names[CHARIOT_SERVED_MAX];
	unsigned int nnames;
	struct device *devs[CHARIOT_UNPROBED_MAX];	/* held */
	unsigned int ndevs;
};

void chariot_service_note(struct chariot_domain *d, struct chariot_service *s);
bool chariot_service_back(struct chariot_domain *d, struct chariot_service *s,
			  unsigned int wait_ms);
void chariot_service_drop(struct chariot_service *s);
void chariot_iface_start(void);
void chariot_iface_stop(void);

/* ---- recover.c: faults in a domain, unwound, torn down, reloaded ---- */

int chariot_recover_start(const char *mode, unsigned int limit,
			  unsigned int window_s);
void chariot_recover_stop(void);
bool chariot_recover_refuse(struct chariot_domain *d, enum chariot_role role);
void chariot_recover_module(struct chariot_domain *d, struct module *mod,
			    unsigned long state);
void chariot_recover_coming(void);
long chariot_recover_error(enum chariot_role role);
void chariot_recover_hold(struct chariot_held *held, struct kprobe *p);
void chariot_recover_returned(const struct chariot_held *held,
			      unsigned long eflags, struct pt_regs *regs,
			      unsigned int id, unsigned long fn);
bool chariot_recover_lost(unsigned int id, unsigned long fn);
void chariot_skip_ret(void);
void chariot_recover_show(struct seq_file *m);
void chariot_recover_debugfs(struct dentry *dir);

/* ---- alloc.c: allocations on a domain's behalf ---- */

int chariot_alloc_start(void);
void chariot_alloc_stop(void);
void chariot_alloc_forget(unsigned int domain);
void chariot_alloc_show(struct seq_file *m);

/* ---- stats.c, debugfs.c ---- */

/**
 * struct chariot_stats - the monitor's counters (debugfs "stats")
 */
struct chariot_stats {
	atomic64_t records[CHARIOT_REC_TYPES];
	atomic64_t grants[CHARIOT_GRANT_KINDS];		/* GRANT records */
	atomic64_t revokes[CHARIOT_GRANT_KINDS];	/* REVOKE records */
	atomic64_t doorbells[CHARIOT_DB_REASONS];
	atomic64_t full_waits;		/* doorbells rung because full */
	atomic64_t dropped;		/* records lost: the VMM never drained */
	atomic64_t untranslatable;	/* ranges with no physical page */
	atomic64_t ctx_full;		/* no task slot free: entry unseen */
	atomic64_t nest_overflow;	/* CHARIOT_CTX_FRAMES exceeded */
	atomic64_t frame_mismatch;	/* a return found frames above it */
	atomic64_t no_stack;		/* stack not found: not granted */
	atomic64_t switch_leaves;	/* LEAVEs posted at a switch-out */
	atomic64_t switch_enters;	/* ENTERs posted at a switch-in */
	atomic64_t dead_tasks;		/* tasks that died inside a domain */
	atomic64_t stack_grants;	/* STACK grants (by cookie) made */
	atomic64_t stack_revokes;
	atomic64_t iface_grants;	/* interface objects granted */
	atomic64_t iface_revokes;
	atomic64_t iface_rejected;	/* named like one, ops did not match */
	atomic64_t alloc_grants;	/* allocations granted */
	atomic64_t alloc_revokes;	/* of those, revoked when freed */
	atomic64_t alloc_untracked;	/* granted, the set full: never revoked */
	atomic64_t sys_pages_freed;	/* frees that posted PAGE_FREED */
	atomic64_t alloc_slab_pages;	/* new slab pages not granted */
	atomic64_t alloc_deep;		/* made deep under a driver: not its */
	atomic64_t alloc_walk_lost;	/* caller not on the stack: granted */
	atomic64_t module_grants;	/* module data, percpu, init data */
	atomic64_t module_revokes;
	atomic64_t trusted;		/* TRUSTED_RANGE records */
	atomic64_t faults;		/* faults in a domain seen */
	atomic64_t unwound;		/* of those, calls unwound */
	atomic64_t unwind_nested;	/* unwound past other return hooks */
	atomic64_t nested_entries;	/* kernel -> domain calls inside it */
	atomic64_t unwind_inner;	/* unwound to a NESTED entry */
	atomic64_t unwind_released;	/* of those, with lock state given back */
	atomic64_t unwind_held_unknown;	/* preempt count not comparable */
	atomic64_t warnings;		/* WARNs of a driver sent to recovery */
	atomic64_t warn_unentered;	/* its WARNs outside a call: left */
	atomic64_t returned_held;	/* calls that returned holding a lock
					 * (or with fewer than at entry) */
	atomic64_t lost_requests;	/* timed out twice, ended (iface.c) */
	atomic64_t fail_fast;		/* calls into a failed domain refused */
	atomic64_t abandoned;		/* their bios ended, skbs freed */
	atomic64_t devices_reset;	/* virtio devices of unfinished probes */
};

extern struct chariot_stats chariot_stats;

#define chariot_count(field)		atomic64_inc(&chariot_stats.field)
#define chariot_count_n(field, n)	atomic64_add(n, &chariot_stats.field)

int chariot_debugfs_start(void);
void chariot_debugfs_stop(void);

#endif /* CHARIOT_MONITOR_H */
