/* snapshot.h - a booted guest kept in a file and brought back: KVM's VM
 * and vCPU state, an opaque blob of device state and guest RAM.
 *
 * A campaign runs the same workload in hundreds of guests that differ
 * only after init starts (the injected fault is made when the driver
 * loads).  The first run saves the machine at that point; the others
 * restore it instead of booting.  A snapshot is only good for the
 * configuration it was taken with: the caller describes that
 * configuration as a key string, stored in the file and compared on
 * restore.
 *
 * File: a header (magic, version, key, sizes, a checksum of the state),
 * the VM state, the vCPU states, the device blob, then RAM from a 2 MiB
 * aligned offset, written sparse (zero chunks are holes, listed in a chunk map) and read back
 * into the VMM's own anonymous RAM, so restored guests keep huge pages. */
#ifndef CHARIOT_SNAPSHOT_H
#define CHARIOT_SNAPSHOT_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/memory.h"

#define SNAP_KEY_MAX	2048
#define SNAP_DEV_MAX	4096
#define SNAP_MAX_MSRS	256

/* The in-kernel chips and clocks of the VM. */
struct snap_vm {
	struct kvm_irqchip chip[3];	/* PIC master, PIC slave, IOAPIC */
	struct kvm_pit_state2 pit;
	struct kvm_clock_data clock;
};

/* One vCPU, as KVM_GET_* gives it. */
struct snap_cpu {
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_xsave xsave;
	struct kvm_xcrs xcrs;
	struct kvm_lapic_state lapic;
	struct kvm_vcpu_events events;
	struct kvm_mp_state mp;
	struct kvm_debugregs dregs;
	uint32_t nmsrs;
	uint32_t pad;
	struct kvm_msr_entry msrs[SNAP_MAX_MSRS];
};

struct snapshot {
	char key[SNAP_KEY_MAX];		/* the configuration it is for */
	uint32_t ncpus;
	struct snap_vm vm;
	struct snap_cpu *cpu;		/* ncpus of them */
	uint32_t dev_len;
	uint8_t dev[SNAP_DEV_MAX];	/* the caller's device state */
	uint64_t ram_bytes;		/* non-zero RAM written or read */
};

/* FNV-1a of n bytes at p, continuing h (start with SNAP_FNV_INIT): the
 * file's checksum, and the caller's digest of what its key names. */
#define SNAP_FNV_INIT	0xcbf29ce484222325ull
uint64_t snap_fnv(uint64_t h, const void *p, size_t n);

/* Allocate s for ncpus vCPUs (zeroed); snap_free() releases it. */
int snap_alloc(struct snapshot *s, uint32_t ncpus);
void snap_free(struct snapshot *s);

/* Capture the VM's chips and clock / restore them (before any vCPU runs).
 * Returns 0 or -errno. */
int snap_save_vm(int vm_fd, struct snap_vm *v);
int snap_load_vm(int vm_fd, const struct snap_vm *v);

/* Capture a stopped vCPU (its last exit completed: see KVM_RUN's
 * immediate_exit) / restore it on a freshly created vCPU with the same
 * CPUID.  The MSRs are those KVM lists as worth saving (kvm_fd's
 * KVM_GET_MSR_INDEX_LIST) that it lets this vCPU read.  Returns 0 or
 * -errno, with what failed in err. */
int snap_save_cpu(int kvm_fd, int vcpu_fd, struct snap_cpu *c,
		  char *err, size_t errlen);
int snap_load_cpu(int vcpu_fd, const struct snap_cpu *c,
		  char *err, size_t errlen);

/* Write s and mem's RAM to path, atomically (a temporary file renamed
 * over it).  Returns 0 or -errno with a reason. */
int snap_write(const char *path, struct snapshot *s,
	       const struct guest_mem *mem, char *err, size_t errlen);

enum snap_probe {
	SNAP_ABSENT,	/* no file at path */
	SNAP_MATCH,	/* a snapshot for this key and machine */
	SNAP_STALE,	/* a Chariot snapshot, for another configuration
			 * or an older format: safe to replace */
};

/* What is at path, for the configuration key with ncpus vCPUs and
 * mem_size bytes of RAM.  -EINVAL with a reason when the file is not a
 * Chariot snapshot (not to be overwritten), -errno when unreadable. */
int snap_probe(const char *path, const char *key, uint32_t ncpus,
	       uint64_t mem_size, char *err, size_t errlen);

/* Read a snapshot that snap_probe() found SNAP_MATCH: its state into s
 * (allocated for ncpus) and its RAM into mem (zero but for what the
 * snapshot also holds): copied, or with map, mapped copy-on-write (read
 * as the guest touches it, in 4 KiB pages).  -EINVAL with a reason for a
 * truncated or corrupt file. */
int snap_read(const char *path, struct snapshot *s, struct guest_mem *mem,
	      bool map, char *err, size_t errlen);

#endif
