/* protect.h - write protection of guest RAM while an isolated driver runs:
 * the mechanism, probed once at start-up, and the memslot layout of the
 * protected view.
 *
 * A write into a KVM_MEM_READONLY memslot exits to the VMM as
 * KVM_EXIT_MMIO (the engine judges it).  The protected view is guest RAM
 * as read-only slots except the writable carve-outs: fixed ranges (the
 * shared area, whose ring the guest posts to all the time) and the open
 * pages (pagecache.h).  Two mechanisms present it:
 *
 *  - PROTECT_SMM_VIEW: KVM keeps a second set of memslots, the one SMM
 *    uses (KVM_CAP_MULTI_ADDRESS_SPACE >= 2, slot ids (1 << 16) | n).  It
 *    holds the protected view for good; a vCPU is switched into it by
 *    setting its SMM flag (KVM_SET_VCPU_EVENTS), from its own thread
 *    between runs.  Per vCPU, no memslot change per switch.
 *  - PROTECT_READONLY_ALL: where KVM has one address space, the normal
 *    slots themselves become the protected view while any vCPU is
 *    protected, for every vCPU (the verdict lets writes by code that is no
 *    driver's through).
 *
 * The layout is a sorted list of slots rebuilt from the carve-outs and
 * applied as a diff: a slot that did not change is not touched.  KVM
 * cannot split a slot in place, so a change deletes slots before it
 * creates their replacements; a vCPU running in that address space
 * meanwhile could fetch an instruction from the hole, which KVM cannot
 * emulate.  Before a change that deletes, cfg.pause holds every other vCPU
 * that may run in the view outside KVM_RUN until it is applied.
 * Read-only slots are at most cfg.chunk long and chunk-aligned, so opening
 * a page replaces one chunk, not all of RAM.  The number of slots is
 * bounded at init from the number of carve-outs that may exist.
 *
 * Holes (PROTECT_SMM_VIEW with cfg.max_holes): ranges of RAM with no slot
 * at all, in either view.  An instruction fetch from a hole cannot be
 * emulated: KVM_RUN returns KVM_EXIT_INTERNAL_ERROR (emulation), which the
 * engine takes as the moment to switch the vCPU's view.  The normal view
 * (address space 0, the slots vm_create made, adopted as ids 0.. in
 * region order) then holds RAM writable but for its holes; reads and
 * writes into a hole exit as KVM_EXIT_MMIO.  Editing the normal view
 * pauses the vCPUs running in it (cfg.pause with normal set).
 *
 * Not thread-safe: the engine's lock serializes every call. */
#ifndef CHARIOT_PROTECT_H
#define CHARIOT_PROTECT_H

#include <stdbool.h>
#include <stdint.h>

#define PROTECT_PAGE		4096ull
#define PROTECT_MAX_REGIONS	2	/* RAM below and above the hole */
#define PROTECT_MAX_FIXED	4
#define PROTECT_AS_SHIFT	16	/* KVM slot id: address space << 16 */
#define PROTECT_SELF_NONE	(~0u)	/* caller is no vCPU thread */

enum protect_mech {
	PROTECT_SMM_VIEW,
	PROTECT_READONLY_ALL,
	PROTECT_MECHS
};

/* A stretch of guest RAM: gpa, size, offset into the VMM's mapping. */
struct pt_region {
	uint64_t gpa, size, host_off;
};

struct pt_range {
	uint64_t start, end;		/* [start, end) */
};

struct pt_slot {
	uint64_t gpa, size, host_off;
	bool readonly;
	uint32_t id;			/* within its address space */
};

/* What a layout is built from. */
struct pt_view_spec {
	const struct pt_region *region;	/* sorted, disjoint */
	unsigned int nregion;
	const struct pt_range *rw;	/* writable carve-outs: sorted,
					 * disjoint, page-aligned */
	unsigned int nrw;
	bool readonly;			/* false: all of RAM writable */
	const struct pt_range *hole;	/* no slot there: sorted, disjoint,
					 * page-aligned; beats a carve-out */
	unsigned int nhole;
	uint64_t chunk;			/* read-only slot size bound, a
					 * power of two (0: none) */
};

/* The slots for spec, sorted by gpa, written to out (ids left 0); adjacent
 * carve-outs merge, read-only stretches split at chunk multiples.  Returns
 * how many, or -ENOSPC when more than max would be needed. */
int pt_layout_build(const struct pt_view_spec *spec, struct pt_slot *out,
		    unsigned int max);

/* How the layout is applied: the KVM ioctls by default, fakes in tests. */
struct protect_ops {
	/* KVM_SET_USER_MEMORY_REGION: slot carries the address space bits;
	 * size 0 deletes it. */
	int (*set_slot)(void *opaque, uint32_t slot, uint64_t gpa,
			uint64_t size, uint64_t host_off, bool readonly);
	/* Switch vcpu into (on) or out of the SMM view; only from its own
	 * thread, between runs. */
	int (*set_smm)(void *opaque, unsigned int vcpu, bool on);
	void *opaque;
};

/* One address space's slots as applied. */
struct pt_as {
	unsigned int as_id;
	struct pt_slot *slot;		/* sorted by gpa */
	unsigned int n, max;
	uint8_t *id_used;		/* max entries */
	uint8_t *keep;			/* scratch: slot[i] stays */
	uint8_t *fresh;			/* scratch: want[j] is new */
};

struct pt_apply_stats {
	uint64_t edits;			/* diffs applied that changed slots */
	uint64_t created, deleted;	/* slots */
	uint64_t ns;			/* time spent in the ioctls */
};

/* An empty address space as_id for up to max slots.  Returns 0 or
 * -ENOMEM. */
int pt_as_init(struct pt_as *as, unsigned int as_id, unsigned int max);
void pt_as_destroy(struct pt_as *as);

/* How many of as's slots applying want[0..n) would delete (marks the
 * others as kept, and copies their ids into want). */
unsigned int pt_as_plan(struct pt_as *as, struct pt_slot *want,
			unsigned int n);

/* Make as hold want[0..n) (sorted): deletes the slots not wanted, then
 * creates the missing ones; ids carry over for unchanged slots.  Returns
 * 0, -ENOSPC (more than max slots, or no free id) or the first ioctl
 * error (as then describes what is really there). */
int pt_as_apply(struct pt_as *as, struct pt_slot *want, unsigned int n,
		const struct protect_ops *ops, struct pt_apply_stats *st);

struct protect_config {
	enum protect_mech mech;
	unsigned int vcpus;
	struct pt_region region[PROTECT_MAX_REGIONS];
	unsigned int nregion;
	struct pt_range fixed[PROTECT_MAX_FIXED];	/* always writable */
	unsigned int nfixed;
	unsigned int max_open;		/* open pages at once, all domains */
	uint64_t chunk;			/* 0: PROTECT_DEFAULT_CHUNK */
	unsigned int max_slots;		/* KVM's limit per address space
					 * (0: none) */
	unsigned int max_holes;		/* per view; SMM view only (0: no
					 * holes, the normal view is left
					 * alone) */
	const struct protect_ops *ops;
	/* Hold the vCPUs other than self that may run in the view (normal:
	 * in the normal view instead) outside KVM_RUN (stop) until called
	 * again (!stop). */
	void (*pause)(void *opaque, unsigned int self, bool normal,
		      bool stop);
	void *pause_opaque;
};

#define PROTECT_DEFAULT_CHUNK	(64ull << 20)

struct pt_open {
	uint64_t page;
	uint32_t refs;			/* domains that have it open */
};

struct protect_stats {
	uint64_t switches;		/* vCPU protection on/off */
	uint64_t switch_ns;
	struct pt_apply_stats apply;
	struct pt_apply_stats normal;	/* edits of the normal view */
	uint64_t pauses;
	unsigned int max_slots;		/* high-water mark of the view */
};

struct protect {
	struct protect_config cfg;
	struct pt_as view;		/* the address space edited */
	struct pt_as normal;		/* address space 0 when it has holes
					 * (max 0: not managed) */
	struct pt_range *hole[2];	/* [0]: normal view, [1]: protected */
	unsigned int nhole[2];
	bool normal_dirty;
	struct pt_slot *scratch;	/* a layout being built */
	struct pt_range *rw;		/* carve-outs being built */
	struct pt_open *open;		/* sorted by page */
	unsigned int nopen;
	bool *on;			/* per vCPU */
	unsigned int non;		/* vCPUs protected */
	bool dirty;			/* the view needs a commit */
	struct protect_stats stats;
};

/* Build the protected view's slots (SMM view) or adopt the normal ones
 * (read-only-all: ids 0.. in region order, as vm_create made them).
 * Returns 0, -EINVAL, -ENOMEM, -ENOSPC or an ioctl error. */
int protect_init(struct protect *p, const struct protect_config *cfg);
void protect_destroy(struct protect *p);

/* Protect vcpu (on) or not.  SMM view: self must be vcpu; the switch is
 * immediate.  Read-only-all: takes effect at the next protect_commit(). */
int protect_vcpu(struct protect *p, unsigned int self, unsigned int vcpu,
		 bool on);

static inline bool protect_is_on(const struct protect *p, unsigned int vcpu)
{
	return p->on[vcpu];
}

/* Another domain opened page / one closed it (reference counted); both
 * take effect at the next protect_commit().  Returns 0 or -ENOSPC (more
 * than cfg.max_open pages). */
int protect_open(struct protect *p, uint64_t page);
void protect_close(struct protect *p, uint64_t page);

bool protect_page_open(const struct protect *p, uint64_t page);

/* The holes of the normal view (protected false) or of the protected one:
 * n sorted, disjoint, page-aligned ranges replace the old ones; they take
 * effect at the next protect_commit().  Returns 0, -EINVAL (not sorted or
 * aligned, or no holes configured) or -ENOSPC (more than max_holes). */
int protect_set_holes(struct protect *p, bool protected,
		      const struct pt_range *hole, unsigned int n);

/* Is gpa in a hole of that view (as last set)? */
bool protect_in_hole(const struct protect *p, bool protected, uint64_t gpa);

/* Is gpa's page writable in the protected view (a fixed carve-out or
 * open)? */
bool protect_writable(const struct protect *p, uint64_t gpa);

/* Apply the pending changes to KVM (both views), pausing the vCPUs in a
 * view when slots must be deleted from it; self is the calling vCPU.  Returns 0 or an
 * ioctl error (protection is then in an unknown state). */
int protect_commit(struct protect *p, unsigned int self);

/* The slots the view holds now (for tests and reports). */
static inline const struct pt_as *protect_view(const struct protect *p)
{
	return &p->view;
}

const char *protect_mech_name(enum protect_mech mech);

/* The mechanism this KVM supports: PROTECT_SMM_VIEW when the VM has a
 * second address space, else PROTECT_READONLY_ALL. */
enum protect_mech protect_probe(int vm_fd);

/* The KVM implementation of protect_ops over vm_fd and the vCPU fds
 * (which must outlive it). */
struct protect_kvm {
	int vm_fd;
	const int *vcpu_fd;
	unsigned int vcpus;
	uint8_t *host;			/* guest RAM's mapping */
};

/* Make KVM exit on an emulation failure without queuing a #UD for the
 * guest (KVM_CAP_EXIT_ON_EMULATION_FAILURE).  Returns 0, or -errno when
 * this KVM lacks it. */
int protect_kvm_exit_on_emulation_failure(int vm_fd);

/* KVM's limit of slots per address space (KVM_CAP_NR_MEMSLOTS), 0 when
 * unknown. */
unsigned int protect_kvm_max_slots(int vm_fd);

/* ops for k (opaque = k). */
struct protect_ops protect_kvm_ops(struct protect_kvm *k);

/* Point every vCPU's SMBASE at guest-physical smbase (no RAM there), so
 * an RSM executed while in the SMM view fails instead of loading a CPU
 * state from guest RAM and leaving the view.  Returns 0 or -errno. */
int protect_kvm_set_smbase(struct protect_kvm *k, uint64_t smbase);

#endif
