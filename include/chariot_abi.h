/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * chariot_abi.h - the guest <-> VMM interface, shared by both sides.
 *
 * Kept deliberately small so it can be model-checked and fuzzed: a block of
 * 32-bit I/O ports (identity, discovery of one shared-memory area, a
 * doorbell, an exit register) and the layout of that shared area.  Every
 * field the guest writes is untrusted input to the VMM and is validated
 * there (src/vmm/channel.c).
 *
 * Bump CHARIOT_ABI_VERSION on any incompatible change.
 */
#ifndef CHARIOT_ABI_H
#define CHARIOT_ABI_H

#include <linux/types.h>	/* __u32, __u64 for both the kernel and user space */

#define CHARIOT_ABI_MAGIC	0x43484152u	/* "CHAR" */
#define CHARIOT_ABI_VERSION	2u

/* I/O ports, all accessed 32 bits wide except CHARIOT_REG_EXIT. */
#define CHARIOT_PORT_BASE	0x5c0
#define CHARIOT_PORT_LEN	0x20
#define CHARIOT_REG_MAGIC	0x00	/* read: CHARIOT_ABI_MAGIC */
#define CHARIOT_REG_VERSION	0x04	/* read: the VMM's ABI version */
#define CHARIOT_REG_SHM_LO	0x08	/* read: guest-physical address of the area */
#define CHARIOT_REG_SHM_HI	0x0c
#define CHARIOT_REG_SHM_SIZE	0x10	/* read: its size in bytes */
#define CHARIOT_REG_DOORBELL	0x14	/* write (8 or 32 bits): an enum chariot_cmd */
#define CHARIOT_REG_EXIT	0x18	/* write (8 bits): guest command's exit status; ends the run */

enum chariot_cmd {
	CHARIOT_CMD_ANNOUNCE = 1,	/* shm->announce is filled in */
	CHARIOT_CMD_PANIC = 2,		/* the guest kernel panics; shm->panic_msg says why */
	CHARIOT_CMD_INIT = 3,		/* the guest's init has started (boot-to-init) */
	CHARIOT_CMD_POWEROFF = 4,	/* the guest kernel powers off (no ACPI here) */
	CHARIOT_CMD_RING = 5,		/* drain the update ring (chariot_ring.h) */
};

#define CHARIOT_RELEASE_LEN	64
#define CHARIOT_NAME_LEN	56
#define CHARIOT_PANIC_LEN	256

/* What the guest monitor module tells the VMM when it loads. */
struct chariot_announce {
	__u32 magic;		/* CHARIOT_ABI_MAGIC */
	__u32 abi_version;	/* the version the module was built for */
	__u32 size;		/* sizeof(struct chariot_announce) */
	__u32 cpus;		/* online CPUs seen by the guest */
	__u64 module_base;	/* the monitor module's core layout */
	__u64 module_size;
	__u64 kernel_text;	/* _stext .. _etext (trusted kernel code) */
	__u64 kernel_etext;
	char kernel_release[CHARIOT_RELEASE_LEN];	/* NUL-terminated */
	char name[CHARIOT_NAME_LEN];			/* NUL-terminated */
};

/* The shared area: the VMM zeroes it and fills in the header. */
struct chariot_shm {
	__u32 magic;		/* written by the VMM: CHARIOT_ABI_MAGIC */
	__u32 version;		/* written by the VMM: CHARIOT_ABI_VERSION */
	__u32 size;		/* written by the VMM: size of the whole area */
	__u32 reserved;
	struct chariot_announce announce;
	char panic_msg[CHARIOT_PANIC_LEN];	/* NUL-terminated */
};

#define CHARIOT_SHM_SIZE	0x10000u	/* 64 KiB */

/*
 * Recovery (--recover): the guest monitor's part of the shared area at
 * CHARIOT_SHM_RECOVERY_OFFSET.  The guest writes all of it; the VMM
 * validates what it reads.
 *  - entry: where the VMM sends a vCPU whose driver call must be unwound
 *    (a denied write it dropped, a hang), with rdi = domain id, rsi = the
 *    driver's RIP, rdx = enum chariot_fault_source, rcx = the RIP to go on
 *    at if the guest finds nothing to unwind.  With
 *    CHARIOT_REDIRECT_SAVED in rdx the four registers as they were are on
 *    the stack, rdi first at RSP, RSP lowered by 32 over them: going on
 *    restores them (else going on leaves them overwritten).  It lies in
 *    the monitor's code (announce.module_base/size).
 *  - fault[]: one record per fault seen, in order; nfaults (written last,
 *    release order) says how many are filled in; each record's flags and
 *    recovery_us grow as recovery proceeds (CHARIOT_FAULT_DONE last).
 */
#define CHARIOT_SHM_RECOVERY_OFFSET	0x800u
#define CHARIOT_RECOVERY_MAGIC	0x564f4352u	/* "RCOV" */
#define CHARIOT_FAULTS_MAX	24
#define CHARIOT_FAULT_SYMBOL_LEN 48

enum chariot_fault_source {
	CHARIOT_FAULT_WRITE = 1,	/* a write the VMM denied */
	CHARIOT_FAULT_EXCEPTION = 2,	/* #PF, #GP, #UD, BUG... in driver code */
	CHARIOT_FAULT_HANG = 3,		/* in the driver beyond --hang-ms, or a
					 * request it never ends (timed out
					 * twice, more time asked) */
	CHARIOT_FAULT_OPERATOR = 4,	/* asked for in the guest (debugfs) */
	CHARIOT_FAULT_LOCK = 5,		/* a call returned holding a lock, or
					 * with fewer than it entered with */
};

#define CHARIOT_REDIRECT_SAVED	0x100u	/* rdx at entry: see above */

#define CHARIOT_FAULT_UNWOUND	0x01u	/* the call returned an error */
#define CHARIOT_FAULT_UNLOADED	0x02u
#define CHARIOT_FAULT_RELOADED	0x04u
#define CHARIOT_FAULT_RESTORED	0x08u	/* reloaded, live, and serving what it
					 * served (guest service.c) */
#define CHARIOT_FAULT_DETERMINISTIC 0x10u /* too many: left unloaded */
#define CHARIOT_FAULT_DONE	0x20u	/* recovery finished */
#define CHARIOT_FAULT_FOLLOWUP	0x40u	/* the domain had failed already */

struct chariot_fault {
	__u16 domain;		/* the domain id (its place in isolate=) */
	__u8 detected_by;	/* enum chariot_fault_source */
	__u8 flags;		/* CHARIOT_FAULT_* */
	__u32 recovery_us;	/* detection to the end of recovery */
	__u64 rip;
	char symbol[CHARIOT_FAULT_SYMBOL_LEN];	/* NUL-terminated */
};

struct chariot_recovery {
	__u32 magic;		/* CHARIOT_RECOVERY_MAGIC once set up */
	__u32 nfaults;
	__u64 entry;
	struct chariot_fault fault[CHARIOT_FAULTS_MAX];
};

/* The isolation update ring (struct chariot_ring, chariot_ring.h) lives in
 * the shared area at this offset, CHARIOT_SHM_RING_SIZE bytes long; the
 * VMM writes its header at start-up. */
#define CHARIOT_SHM_RING_OFFSET	0x1000u
#define CHARIOT_SHM_RING_SIZE	0x9000u

/*
 * The system-page map: a bit per page frame, frame pfn at bit pfn %
 * CHARIOT_SYSMAP_BITS (a hash: frames far apart share a bit), written by
 * the VMM only.  A bit is set while some frame that maps to it is a
 * "system page": writable in the protected view for the CPU's own writes
 * (a page table, a stack), so a driver's writes there are not trapped.
 * When the guest frees a page whose bit is set it posts PAGE_FREED
 * (chariot_ring.h) and rings: the VMM closes the page before it can come
 * back as anything else (a slab page a driver's neighbour lives in).
 */
#define CHARIOT_SHM_SYSMAP_OFFSET 0xa000u
#define CHARIOT_SHM_SYSMAP_SIZE	0x6000u
#define CHARIOT_SYSMAP_BITS	(CHARIOT_SHM_SYSMAP_SIZE * 8u)

#endif /* CHARIOT_ABI_H */
