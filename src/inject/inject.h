/* inject.h - one fault injected into a guest driver by the VMM
 * (`chariot run --inject MOD:TYPE:SEED`), and whether it ever ran.
 *
 * When: the isolation engine drains the DOMAIN_CREATE of module MOD (the
 * guest monitor posts it from its module notifier in the COMING state:
 * the module is relocated, its init has not run; MOD is watched, isolated
 * or not, so that it comes before the isolation's probes write into its
 * text: guest/monitor/watch.c) and calls
 * inject_module_loaded() on the thread of the vCPU that took the exit.
 * The monitor posts that batch to an empty ring, which rings the doorbell
 * (chariot_ring.h), and the vCPU that rang waits in the VMM while the
 * patch is written, so the patch lands before the notifier returns and
 * before the module's init runs on that CPU; no other CPU can call the
 * module before its init has registered something.  (A post finds the
 * ring non-empty, and does not ring, only while another CPU's post is
 * between its write and its doorbell: then that doorbell, microseconds
 * later, drains it.)  Only the core text is a target: the init text runs
 * once and is freed.  Only the first load of MOD is mutated: a reload (by
 * hand, or by recovery) runs the module's own code.
 *
 * What: MOD's core text is read from guest memory page by page through
 * the guest page tables (module text is vmalloc'd: not contiguous in
 * guest-physical memory), mutate_pick() chooses the mutation of TYPE by
 * SEED, matching calls against the kernel's exported functions (ksyms.h),
 * and the new bytes are written through the VMM's mapping of guest RAM
 * (module text is read-only in the guest's own tables; the VMM's mapping
 * is not).  The module is then never patched again (a reload of it runs
 * the original code).
 *
 * Activation: a breakpoint at the first byte of each patched instruction
 * (for a bit flip, of the instruction holding the bit), two kinds:
 *  - port (the default): its first two bytes become `out %al, $port`
 *    (port INJECT_PORT + breakpoint number) in guest memory: a port no
 *    device has, so the vCPU that reaches it exits to the VMM.  That
 *    exit (inject_port_exit()) records "activated", puts every patched
 *    byte back, completes the OUT without running the guest (KVM_RUN
 *    with immediate_exit) and sets RIP back to the breakpoint: the
 *    instruction runs as mutated.  Nothing else changes for the guest.
 *    Two bytes cover the next instruction's first when the one at the
 *    breakpoint is a single byte: a breakpoint whose next byte a direct
 *    branch in the module targets is left out (the fault then cannot
 *    report its activation).  This works everywhere, the nested test
 *    host included, where neither kind of KVM guest debugging does:
 *    QEMU's emulated SVM neither arms the L2 guest's DR7 nor intercepts
 *    its int3 as #BP;
 *  - hw (CHARIOT_INJECT_BREAK=hw): debug registers (KVM_SET_GUEST_DEBUG,
 *    KVM_GUESTDBG_USE_HW_BP, DR0-DR3), no byte of the guest changed; for
 *    hardware KVM.  Each vCPU loads the debug state on its own thread
 *    before its next KVM_RUN (inject_vcpu_sync()); the first
 *    KVM_EXIT_DEBUG at a breakpoint records "activated" and the
 *    breakpoints are dropped everywhere.  While KVM's debug registers are
 *    in use the guest's own DR7 has no effect (Linux uses them only for
 *    perf/ptrace hardware breakpoints, which our guests do not set); a
 *    #DB that is not ours is injected back into the guest. */
#ifndef CHARIOT_INJECT_H
#define CHARIOT_INJECT_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "inject/ksyms.h"
#include "inject/mutate.h"
#include "vmm/memory.h"

#define INJECT_NAME_LEN		56	/* DOMAIN_NAME_LEN: domain_module_name() */
#define INJECT_MAX_BPS		4	/* DR0-DR3 */
#define INJECT_MAX_TEXT		(16u << 20)
#define INJECT_PORT		0xe4	/* .. + INJECT_MAX_BPS - 1 */

struct inject_spec {
	char module[INJECT_NAME_LEN];	/* '-' taken as '_' */
	enum fault_type type;
	uint64_t seed;
	/* Sites only at these offsets into the text (mutate_input.only), or
	 * NULL: every candidate. */
	const uint32_t *only;
	size_t nonly;
	/* Coverage instead of a fault (`chariot run --cover MOD`): no
	 * mutation; every instruction of the core text that can take the
	 * 2-byte OUT gets one (port INJECT_PORT), and each that runs is
	 * recorded, put back and run as it was.  One exit per instruction,
	 * the first time: cheap, and the list of the offsets that ran is what
	 * a campaign's faults are then drawn from (--sites). */
	bool cover;
};

/* Parse "MOD:TYPE:SEED" (TYPE a fault_type_name(), SEED a decimal or 0x
 * number).  Returns 0, or -EINVAL with a one-line reason in err. */
int inject_parse(const char *arg, struct inject_spec *s, char *err,
		 size_t errlen);

/* The same for `--cover MOD`: a module name; s->cover is set. */
int inject_parse_cover(const char *arg, struct inject_spec *s, char *err,
		       size_t errlen);

/* Read a --sites file: offsets into the module's text, one per line
 * (decimal or 0x hex; # comments), into *out (free()), sorted, duplicates
 * dropped.  The count, or -errno with a one-line reason in err. */
long inject_read_sites(const char *path, uint32_t **out, char *err,
		       size_t errlen);

/* gva's guest-physical address through the tables at cr3 (vcpu_walk()). */
typedef int (*inject_walk_fn)(void *opaque, uint64_t cr3, uint64_t gva,
			      uint64_t *gpa);

struct inject_guest {
	const struct guest_mem *mem;	/* the VMM's (writable) mapping */
	inject_walk_fn walk;
	void *opaque;
	uint64_t cr3;			/* a kernel-mode CR3 */
};

/* Copy len bytes of guest-virtual memory at gva into buf, or buf into
 * it, page by page.  0, -ENOENT (a page not mapped) or -EFAULT (not in
 * RAM); a failed write may have written the pages before. */
int inject_read(const struct inject_guest *g, uint64_t gva, uint8_t *buf,
		size_t len);
int inject_write(const struct inject_guest *g, uint64_t gva,
		 const uint8_t *buf, size_t len);

enum inject_break {
	INJECT_BREAK_PORT,
	INJECT_BREAK_HW,
};

struct injector {
	struct inject_spec spec;
	enum inject_break brk;
	struct ksyms syms;
	long nsyms_vmlinux;		/* or -errno */
	/* Leave KVM_RUN soon (to load the breakpoints), or NULL. */
	void (*kick)(void *opaque, unsigned int vcpu);
	void *kick_opaque;
	unsigned int vcpus;

	pthread_mutex_t lock;		/* the fields below */
	bool loaded;			/* MOD's code was seen */
	bool applied;
	char error[128];		/* why not applied, or "" */
	struct mutation m;
	uint64_t text, text_len;
	uint64_t bp[INJECT_MAX_BPS];
	unsigned int nbp;
	uint8_t *bp_host[INJECT_MAX_BPS][2];	/* port: the bytes, and */
	uint8_t bp_saved[INJECT_MAX_BPS][2];	/* what they hold without */
	bool armed;			/* OUTs in guest memory */
	uint64_t gen;			/* debug state version (atomic) */
	bool activated;
	unsigned int activated_vcpu;
	uint64_t activated_rip;
	uint64_t debug_exits, foreign_debug;
	int debug_err;			/* KVM_SET_GUEST_DEBUG failed: -errno */
	/* Coverage (spec.cover): the instructions armed, ascending. */
	struct inject_cover_site *cov;
	size_t ncov, nhit;
};

/* Set up for spec; kernel symbols from the ELF kernel image (an image
 * without export tables, a bzImage, leaves call-matching types without
 * sites) and, if system_map is not NULL, a System.map.  0 or -errno. */
int inject_init(struct injector *inj, const struct inject_spec *spec,
		enum inject_break brk, const char *kernel,
		const char *system_map);
void inject_destroy(struct injector *inj);

/* Module MOD's core text [text, text + len) is in place: pick the
 * mutation and write it (the first call only; later loads are left
 * alone).  On the thread of a vCPU in kernel mode. */
void inject_module_loaded(struct injector *inj, const struct inject_guest *g,
			  uint64_t text, uint64_t len);

/* On vCPU vcpu's thread before KVM_RUN: load the current breakpoints
 * into it if they changed since *gen.  0 or -errno. */
int inject_vcpu_sync(struct injector *inj, int vcpu_fd, uint64_t *gen);

/* A KVM_EXIT_DEBUG on vcpu (hw): record the activation when it is at
 * one of the breakpoints (and drop them all), else give the #DB to the
 * guest.  0 or -errno. */
int inject_debug_exit(struct injector *inj, unsigned int vcpu, int vcpu_fd,
		      const struct kvm_run *run);

/* Is port one of the breakpoints' (port kind)? */
static inline bool inject_port(const struct injector *inj, uint16_t port)
{
	return inj && inj->brk == INJECT_BREAK_PORT && port >= INJECT_PORT &&
	       port < INJECT_PORT + INJECT_MAX_BPS;
}

/* The OUT to such a port by vcpu (whose KVM_RUN returned that exit, run
 * its kvm_run): record the activation, put the bytes back, complete the
 * OUT and move RIP back to the breakpoint.  On vcpu's thread.  0 or
 * -errno (the vCPU cannot go on right). */
int inject_port_exit(struct injector *inj, unsigned int vcpu, int vcpu_fd,
		     struct kvm_run *run);

/* The report's member "inject", preceded by ",\n  " (inj NULL: null). */
void inject_report_json(struct injector *inj, FILE *f);

#endif
