/* engine.h - the isolation engine of one VM: the isolation state
 * (domain.h), the update ring (ring.h), the write protection (protect.h)
 * and what was seen (per-module counters, violations with symbols), behind
 * one mutex, driven by the vCPU threads at their exits.
 *
 * The hooks, all on the thread of the vCPU that took the exit:
 *  - engine_port_write(): the CHARIOT_CMD_RING doorbell;
 *  - engine_ram_write(): a write trapped in guest RAM (KVM_EXIT_MMIO at a
 *    RAM address), judged, performed or dropped, maybe opening its page;
 *  - engine_run_begin()/engine_run_end() around KVM_RUN.
 * Each one that takes the lock first drains the ring, then brings the
 * protection of the exiting vCPU in line with the isolation state: on
 * while a domain is active on it (iso_active()), off otherwise.  A drain
 * that changes another vCPU's state (its records reached the VMM through
 * someone else's exit) counts a mismatch and, if it must now be protected,
 * kicks it out of KVM_RUN to switch.
 *
 * The protected view is shared by the vCPUs in it, so it holds the open
 * pages of one domain at a time (the owner): when another domain becomes
 * active on a vCPU or opens a page, the other domains' open pages are
 * closed first.  Precision is kept; two isolated drivers running at once
 * on two vCPUs take turns at having pages open.
 *
 * Pages the CPU itself writes stay writable in the view ("system pages",
 * at most ENGINE_SYS_PAGES, the oldest closed first; a driver's writes to
 * them are not trapped):
 *  - guest page tables: a walk that sets an accessed or dirty bit writes
 *    them, and QEMU's emulated nested paging (the test host) asks for
 *    write access to every table on every walk.  On a read-only table the
 *    vCPU stalls inside KVM.  When a vCPU switches into the view, the
 *    tables of the kernel half reachable from its CR3 are found
 *    (cfg.table_pages; once per CR3), and its root; a driver's own code
 *    seldom walks the user half, so those tables are opened only for a
 *    stall nothing else explains;
 *  - interrupt and exception frames: the stack a frame is pushed to may
 *    be read-only (the entry stack under user mode, an IST or IRQ stack, a
 *    stack page not written yet).  KVM 6.1 then emulates the interrupted
 *    instruction instead, re-injects, and faults again (newer KVMs exit
 *    with KVM_INTERNAL_ERROR_DELIVERY_EV): the event is late, and an
 *    instruction it should have preceded (a spin_lock's cmpxchg) has run,
 *    which can deadlock the handler.  So the stacks a frame can go to are
 *    opened when a vCPU switches into the view (cfg.stack_pages: TSS RSP0,
 *    the IST stacks, the kernel stack it is on), and as soon as trusted
 *    code pushes to another (an IRQ stack); one found blocked later is
 *    opened then.
 *  A system page may be freed (a process exits: its page tables, its
 *  task's stack) and come back as anything, a slab page a driver's
 *  neighbour lives in: the system-page map in the shared area
 *  (chariot_abi.h) has a bit set for every system page, the guest monitor
 *  posts PAGE_FREED when it frees one, and the page is closed at that
 *  drain (the guest rings for it: before the page can be reused);
 *  - writes KVM's emulator refuses (cmpxchg16b: SLUB's per-CPU freelist
 *    update on every kmalloc and kfree; XSAVE: the FPU state saved at a
 *    context switch or signal): on a read-only page KVM retries the
 *    instruction forever.  Such a write is judged like a trapped one;
 *    allowed, its page is opened and it runs natively (and atomically);
 *    denied, it can be neither dropped nor performed, and the run ends
 *    with an error (fail-stop).
 * A watchdog kicks a vCPU that stayed in KVM_RUN in the view longer than
 * cfg.watchdog_ms; its thread then asks where the pending event's frame
 * goes (cfg.event_pages), walks its page tables again, and looks for an
 * unemulated write (cfg.unemulated_write).
 *
 * Switching on instruction fetch (cfg.fetch_switch, SMM view only): a
 * vCPU's view follows the code it runs, not ENTER/LEAVE, so only the
 * driver's own instructions run protected; the kernel functions it calls
 * and the interrupt handlers that preempt it run at full speed.  The
 * normal view has holes at the isolated domains' code pages, the
 * protected one at kernel text (protect.h); an instruction fetch from a
 * hole ends KVM_RUN (engine_fetch_fault()), and the vCPU is switched to
 * the other view on its own thread.  The holes are the code ranges of the
 * live domains and kernel text, translated to guest-physical pages by a
 * walk of the page tables of a vCPU in kernel mode (module, vmalloc and
 * kernel mappings are the same in all of them), again whenever the
 * ranges change (DOMAIN_CREATE, DOMAIN_CODE, DOMAIN_UNCODE when init
 * text is freed, DOMAIN_DESTROY).  Reads and writes that hit a hole in
 * the normal view are trusted code's (the driver's code cannot run
 * there): served and performed, counted.  The ring still feeds the ACT,
 * the domains and their nesting; it is drained before every judgement.
 *
 * Writes the VMM performs for a protected vCPU are plain stores (aligned
 * ones single-copy atomic): a locked read-modify-write (lock cmpxchg,
 * xchg, lock add) that KVM emulated into a trapped write loses its
 * atomicity against other vCPUs.  Only those writes are affected; writes
 * to open pages and by unprotected vCPUs run natively. */
#ifndef CHARIOT_ENGINE_H
#define CHARIOT_ENGINE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "iso/atomic.h"
#include "iso/domain.h"
#include "iso/leaf.h"
#include "iso/profile.h"
#include "iso/protect.h"
#include "iso/recovery.h"
#include "iso/ring.h"
#include "vmm/memory.h"

#define ENGINE_MAX_MODULES	CHARIOT_RING_MAX_DOMAINS
#define ENGINE_SYMBOL_LEN	(DOMAIN_NAME_LEN + 24)
#define ENGINE_OPEN_PAGES	64	/* per domain, by default */
#define ENGINE_ACT_ENTRIES	65536	/* per domain, by default (5 MiB): a RAM
					 * disk grants 2 ranges a page */
#define ENGINE_SYS_PAGES	1024	/* page tables and frame stacks */
#define ENGINE_MAX_HOLES	256	/* per view, fetch switching */
/* SMBASE points where no RAM is: an RSM executed in the SMM view cannot
 * load a CPU state from guest RAM and leave the view; KVM fails it (#UD
 * at CPL 3, an emulation-error exit that ends the run at CPL 0). */
#define ENGINE_SMBASE		0xf0000000ull

struct engine_config {
	unsigned int vcpus;
	/* The modules to isolate: the guest numbers module i (name id in
	 * DOMAIN_CREATE) by its place in this list. */
	const char *modules[ENGINE_MAX_MODULES];
	unsigned int nmodules;
	bool learn;			/* allow and log what would be denied */
	/* Recovery (recovery.h): unless off, a vCPU whose write was denied
	 * under an entry, or that stayed in a driver's entry longer than
	 * hang_ms (0: no limit), is sent to the guest monitor's recovery
	 * entry (engine_recover_take()). */
	enum recover_mode recover;
	unsigned int hang_ms;
	enum protect_mech mech;
	struct guest_mem *mem;		/* the VMM's (writable) mapping */
	void *shm;			/* the shared area (chariot_abi.h) */
	uint64_t shm_gpa, shm_size;
	unsigned int open_pages;	/* per domain; 0: ENGINE_OPEN_PAGES */
	unsigned int act_entries;	/* per domain; 0: ENGINE_ACT_ENTRIES */
	/* NULL: KVM through vm_fd and vcpu_fd (which must stay open). */
	const struct protect_ops *ops;
	int vm_fd;
	int vcpu_fd[ISO_MAX_VCPUS];
	/* Make vcpu leave KVM_RUN soon (immediate_exit, then a signal). */
	void (*kick)(void *opaque, unsigned int vcpu);
	/* From vcpu's thread: the pages the event pending on it will be
	 * pushed to (vcpu_event_frame_pages()), and its page tables unless
	 * *cr3 names them already: the root first, then those of the kernel
	 * half, or with user of the user half (vcpu_page_table_pages()). */
	int (*event_pages)(void *opaque, unsigned int vcpu, uint64_t *gpa,
			   unsigned int max);
	int (*table_pages)(void *opaque, unsigned int vcpu, uint64_t *cr3,
			   bool user, uint64_t *gpa, unsigned int max);
	int (*stack_pages)(void *opaque, unsigned int vcpu, uint64_t *gpa,
			   unsigned int max);	/* vcpu_stack_pages() */
	/* ... and the write at its RIP KVM cannot emulate, if that is what
	 * it is stuck on (vcpu_unemulated_write(): *rip is set anyway), and
	 * whether it is halted (vcpu_halted()). */
	int (*unemulated_write)(void *opaque, unsigned int vcpu, uint64_t *rip,
				uint64_t gpa[2], uint32_t *len);
	bool (*halted)(void *opaque, unsigned int vcpu);
	/* Fetch switching (SMM view only; needs the two below). */
	bool fetch_switch;
	/* With it, never run kernel pages the driver calls often in the
	 * protected view (leaf.h; chariot run: unless CHARIOT_ISO_LEAF=on). */
	bool leaf_off;
	/* From vcpu's thread: its CR3 if it runs in 4-level long mode. */
	int (*kernel_cr3)(void *opaque, unsigned int vcpu, uint64_t *cr3);
	/* The guest-physical address of gva through the tables at cr3
	 * (vcpu_walk()); 0 or -errno. */
	int (*walk)(void *opaque, uint64_t cr3, uint64_t gva, uint64_t *gpa);
	void *opaque;			/* for the callbacks above */
	unsigned int watchdog_ms;	/* 0: no watchdog */
	/* Modules only watched (fault injection without isolation: the
	 * monitor's watch=, numbered after the isolated ones): the guest
	 * posts their code and nothing else; never protected, no holes, left
	 * out of the report. */
	bool watch[ENGINE_MAX_MODULES];
	/* A load of module i was drained (its DOMAIN_CREATE: core text
	 * [code, code + len), before its init runs): on the thread of vcpu,
	 * the engine lock held.  May be NULL. */
	void (*module_loaded)(void *opaque, unsigned int vcpu, unsigned int i,
			      uint64_t code, uint64_t len);
};

/* What one requested module did, over all its loads. */
struct engine_module {
	char name[DOMAIN_NAME_LEN];
	bool loaded;
	struct domain_stats stats;	/* act_entries: now, or at unload */
};

struct engine_stats {
	uint64_t doorbells;
	uint64_t trapped_writes;	/* write exits in guest RAM */
	uint64_t trap_ns;		/* time the VMM spent on them */
	uint64_t ram_reads;		/* read exits in guest RAM: none due */
	uint64_t vcpu_mismatch;		/* state of a vCPU changed at the
					 * exit of another */
	uint64_t kicks;
	uint64_t owner_switches;	/* open pages handed to a domain */
	uint64_t write_errors;		/* allowed, but not performable */
	uint64_t watchdog_kicks;	/* protected vCPUs silent too long */
	uint64_t events_blocked;	/* frames found going to a closed page */
	uint64_t table_walks;
	uint64_t unemulated_writes;	/* judged after a stall */
	uint64_t stalls_unresolved;	/* kicks that found nothing to open */
	uint64_t stall_rip;		/* the last of those: where */
	bool stall_halted;		/* and whether it was halted */
	uint64_t sys_pages;		/* made writable for these */
	uint64_t sys_freed;		/* closed: the guest freed them */
	uint64_t sys_freed_posts;	/* PAGE_FREED records (the map is a
					 * hash: some name no system page) */
	uint64_t debug_shown;		/* CHARIOT_DEBUG_DENY histories */
	/* Fetch switching. */
	uint64_t fetch_enters;		/* into the view: driver code */
	uint64_t fetch_leaves;		/* out of it: code not the driver's */
	uint64_t fetch_stale;		/* a hole gone meanwhile: run again */
	uint64_t fetch_ns;		/* time spent on those exits */
	uint64_t hole_writes;		/* trusted writes into normal holes */
	uint64_t unentered_writes;	/* by driver code outside entries */
	uint64_t atomic_writes;		/* locked RMWs performed atomically */
	uint64_t atomic_raced;		/* of which RAM had changed since KVM
					 * read it: registers corrected */
	uint64_t atomic_unhandled;	/* locked, left as KVM emulated them */
	uint64_t hole_updates;		/* hole sets recomputed */
	uint64_t hole_misses;		/* code pages not translated */
	/* Recovery. */
	uint64_t recover_redirects;	/* vCPUs sent to the recovery entry */
	uint64_t recover_no_entry;	/* none valid published: not sent */
	uint64_t hangs;			/* vCPUs found in a driver too long */
	uint64_t hangs_in_kernel;	/* of which taken in kernel code */
	uint64_t hangs_left;		/* of which the call ended first */
};

/* Per vCPU; want and started are read by other threads (atomics). */
struct engine_vcpu {
	int top;			/* innermost domain after the last
					 * drain, or -1 */
	bool want;			/* should be protected */
	bool started;			/* its thread runs */
	pthread_rwlock_t *held;		/* run lock held (own thread only) */
	uint64_t run_since;		/* ns, in KVM_RUN in the view; or 0 */
	bool suspect;			/* the watchdog kicked it */
	uint64_t hole_gen;		/* engine's hole_gen at its run */
	uint64_t cr3;			/* tables last walked */
	uint64_t entered_ns;		/* inside a domain since, or 0 */
	bool rec_pending;		/* to be sent to recovery (atomic) */
	int rec_why;			/* enum chariot_fault_source */
	unsigned int rec_domain;
	uint64_t rec_rip;		/* the driver's RIP */
	uint64_t rec_kicked;		/* ns, the last hang kick */
	uint64_t rec_since;		/* ns, the hang was found */
};

/* A domain slot as the last drain left it (to tell a reload). */
struct engine_track {
	bool live;
	uint64_t name_id, code;
	uint64_t entries;
};

struct engine {
	pthread_mutex_t lock;		/* guards everything below */
	pthread_rwlock_t run_lock;	/* read: in KVM_RUN in the view */
	pthread_rwlock_t run_lock_normal; /* read: in the normal view (fetch
					 * switching; it has holes) */
	bool fetch;			/* fetch switching on */
	bool exit_on_emulation_failure;	/* KVM queues no #UD with it */
	uint64_t hole_sig;		/* of the ranges the holes are from */
	uint64_t hole_tried_sig;	/* a translation of these sources */
	uint64_t hole_tried_cr3;	/* failed with this CR3 */
	uint64_t hole_gen;		/* holes recomputed (atomic) */
	struct pt_range hole_scratch[ENGINE_MAX_HOLES + 1];
	struct engine_config cfg;
	struct iso iso;
	struct ring ring;
	struct protect prot;
	struct protect_kvm kvm;
	struct protect_ops kvm_ops;
	struct engine_vcpu vcpu[ISO_MAX_VCPUS];
	struct engine_track track[ISO_MAX_DOMAINS];
	struct engine_module mod[ENGINE_MAX_MODULES];
	int owner;			/* domain with pages open, or -1 */
	bool view_on;			/* read-only-all: RAM protected */
	uint64_t sys_page[ENGINE_SYS_PAGES];	/* a FIFO; ~0: a hole */
	uint8_t *sysmap;		/* in the shared area (chariot_abi.h) */
	unsigned int nsys_pages, sys_next;
	uint64_t walk[ENGINE_SYS_PAGES];	/* scratch */
	pthread_t watchdog;
	bool watchdog_on, watchdog_stop;
	pthread_cond_t watchdog_cond;	/* with lock */
	uint64_t kernel_text, kernel_etext;
	/* Beside iso.log's entries: module and symbol at the time. */
	char vmod[VIOLATION_LOG_MAX][DOMAIN_NAME_LEN];
	char vsym[VIOLATION_LOG_MAX][ENGINE_SYMBOL_LEN];
	struct engine_stats stats;
	struct profile prof_writes;	/* trapped writes by RIP */
	struct leaf_set leaf;		/* kernel pages run protected */
	struct profile prof_leaves;	/* fetch switches out of the view,
					 * by the RIP fetched */
	int err;			/* first protection failure */
	char errmsg[128];
};

/* Set the engine up: the ring header in the shared area, the protected
 * view, the iso state.  Returns 0 or -errno with a reason in err. */
int engine_init(struct engine *e, const struct engine_config *cfg,
		char *err, size_t errlen);
void engine_destroy(struct engine *e);

/* Around KVM_RUN on vcpu's thread.  engine_run_begin() switches vcpu's
 * protection if another vCPU's drain changed it; returns 0 or -errno
 * (why in engine_error()). */
int engine_run_begin(struct engine *e, unsigned int vcpu);
void engine_run_end(struct engine *e, unsigned int vcpu);

/* A port write by vcpu: 1 when it was the ring doorbell (handled), 0 when
 * it is not the engine's, -errno when protection failed. */
int engine_port_write(struct engine *e, unsigned int vcpu, uint64_t port,
		      const uint8_t *data, uint32_t len);

/* Where a trapped write comes from. */
struct engine_trap {
	unsigned int vcpu;
	uint64_t rip;			/* the writing instruction */
	uint64_t rsp;			/* the stack pointer then */
	uint64_t stack[2];		/* guest-physical pages of RSP - 8 and
					 * RSP - 72, or 0 */
	/* The locked read-modify-write the write came from (atomic.h), or
	 * NULL: performed atomically when allowed; *regs (as KVM left them)
	 * corrected and *fixed set when RAM had changed since KVM read it. */
	const struct rmw *rmw;
	struct rmw_regs *regs;
	bool *fixed;
};

/* A write of len (1..8) bytes at guest RAM address gpa trapped as t says:
 * judged, performed into RAM when allowed.  A push (or any write) by
 * trusted code to the stack it runs on opens that stack's pages as
 * system pages: the CPU pushes interrupt frames there next.  *out (may
 * be NULL) gets the verdict.  Returns 0 or -errno when protection
 * failed. */
int engine_ram_write(struct engine *e, const struct engine_trap *t,
		     uint64_t gpa, const uint8_t *data, uint32_t len,
		     struct verdict *out);

/* vcpu may be stalled in the view (a watchdog kick, or KVM exited with
 * KVM_INTERNAL_ERROR_DELIVERY_EV): make the pages the pending event's
 * frame goes to and its page tables writable, or judge the unemulated
 * write it is stuck on.  On vcpu's thread.  Returns how many pages were
 * added, or -errno (a denied unemulated write ends the run). */
int engine_vcpu_stalled(struct engine *e, unsigned int vcpu);

/* Does the view follow instruction fetches (only the driver's own code
 * runs protected), or does a whole driver call run protected, the kernel
 * code it calls included (readonly-all, CHARIOT_ISO_SWITCH=enter)? */
bool engine_fetch_switching(const struct engine *e);

/* Does vcpu run in the protected view now (for diagnostics)? */
bool engine_in_view(struct engine *e, unsigned int vcpu);

/* Edits of either view made so far (memory slots changed while vCPUs may
 * run; for diagnostics, read without the lock). */
uint64_t engine_view_edits(struct engine *e);

/* A read exit in guest RAM (a hole, or a slot missing meanwhile): served
 * from RAM and counted.  On vcpu's thread. */
void engine_ram_read(struct engine *e, unsigned int vcpu, uint64_t gpa,
		     uint8_t *data, uint32_t len);

/* vcpu could not fetch the instruction at rip (KVM_EXIT_INTERNAL_ERROR,
 * emulation), its stack pointer at rsp; the instruction's bytes are in the
 * guest-physical pages gpa[0] and gpa[1] (the same one, or ~0 when not
 * mapped).  With fetch switching, a fetch from a hole of the view vcpu
 * runs in switches it to the other one.  On vcpu's thread.  Returns 1 when
 * handled (run it again), 0 when it is no hole's (a real emulation
 * failure), -errno when protection failed. */
int engine_fetch_fault(struct engine *e, unsigned int vcpu, uint64_t rip,
		       uint64_t rsp, const uint64_t gpa[2]);

/* Does KVM queue a #UD with each emulation failure it reports (a fetch
 * fault, a write it cannot emulate), which the vCPU's thread must clear
 * before running it again (no KVM_CAP_EXIT_ON_EMULATION_FAILURE to
 * enable)? */
bool engine_kvm_queues_ud(struct engine *e);

/* Where engine_recover_take() sends a vCPU: rip, and the arguments the
 * guest monitor's recovery entry takes in rdi, rsi, rdx, rcx
 * (chariot_abi.h). */
struct engine_redirect {
	uint64_t rip;
	uint64_t domain, fault_rip, why, resume;
};

/* Is a recovery pending for vcpu (cheap: check after every exit)? */
bool engine_recover_pending(struct engine *e, unsigned int vcpu);

#define ENGINE_RFLAGS_IF	0x200ull	/* interrupts enabled */

/* Where a vCPU stopped: what engine_recover_take() judges a hang by. */
struct engine_stop {
	uint64_t rip, rsp, rflags;
};

/* vcpu, stopped at at, has a recovery pending: returns 1 with *r filled
 * in when it must go to the recovery entry now (its thread sets the
 * registers), 0 when not.  A hang is taken in the driver's code; in
 * trusted code on the entry's stack with interrupts on (kernel code the
 * driver called, spinning on a lock it left taken; not an interrupt's or
 * exception's entry code, which runs with them off and still on that
 * stack) only once the driver's code has not been seen for a further
 * hang_ms / 2; it is dropped when the call has ended.  No valid entry
 * drops any. */
int engine_recover_take(struct engine *e, unsigned int vcpu,
			const struct engine_stop *at, struct engine_redirect *r);

/* The guest monitor announced itself: kernel text [text, etext) is
 * trusted code. */
void engine_announce(struct engine *e, uint64_t text, uint64_t etext);

/* The first protection failure, or NULL. */
const char *engine_error(struct engine *e);

bool engine_module_loaded(struct engine *e, unsigned int i);

/* The report's members "isolation", "domains", "violations" and "faults", each
 * preceded by ",\n  " (e NULL: isolation off).  Returns 0 or -EIO. */
int engine_report_json(struct engine *e, FILE *f);

#endif
