/* vcpu.h - one virtual CPU: creation, CPUID, the 64-bit boot state, and
 * one step of the run loop (KVM_RUN plus dispatch of the exit). */
#ifndef CHARIOT_VCPU_H
#define CHARIOT_VCPU_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/kvm.h"

#define VCPU_EXIT_REASONS 64
#define VCPU_HISTORY	24	/* exits remembered per vCPU */

struct engine;
struct injector;

enum vcpu_event {
	VCPU_CONTINUE,
	VCPU_INTERRUPTED,	/* a signal kicked it out; check for stop */
	VCPU_SHUTDOWN,		/* triple fault */
	VCPU_RESET,		/* the guest asked for a reset */
	VCPU_POWEROFF,		/* the guest asked for power off */
	VCPU_INTERNAL_ERROR,	/* KVM could not go on (c->err says why) */
};

struct rmw_finder;

/* One exit, for the history a triple fault is reported with (KVM on AMD
 * resets the vCPU before it exits: its registers are gone). */
struct vcpu_exit {
	uint32_t reason;		/* KVM_EXIT_* */
	bool write;			/* MMIO or port I/O: a write */
	uint8_t view;			/* 0 not isolating, 1 normal, 2 protected */
	uint64_t addr;			/* MMIO guest-physical address, port */
	uint64_t rip;			/* when the exit's handling read it, or 0 */
	uint64_t edits;			/* view edits made by then (any vCPU) */
};

struct vcpu {
	int id;
	int fd;
	struct kvm_run *run;
	struct vm *vm;
	void *owner;			/* the machine running it */
	struct engine *iso;		/* the isolation engine, or NULL */
	struct injector *inj;		/* --inject, or NULL */
	uint64_t inj_gen;		/* its breakpoints loaded here */
	uint64_t sp_gva[2], sp_gpa[2];	/* stack pages last translated */
	struct rmw_finder *rmw;		/* finds locked writes (atomic.h) */
	bool rmw_failed;		/* could not make one */
	uint64_t last_rip;		/* at the last exit that read it */
	struct vcpu_exit hist[VCPU_HISTORY];	/* the last exits, a ring */
	uint64_t nhist;			/* exits recorded */
	pthread_t thread;
	uint64_t exits[VCPU_EXIT_REASONS];	/* by KVM exit reason */
	uint64_t unclaimed_io;			/* accesses no device took */
	char err[256];
};

int vcpu_create(struct vcpu *c, struct vm *vm, int id, char *err, size_t errlen);
void vcpu_destroy(struct vcpu *c);

/* Long mode, flat segments, identity paging, RIP = entry, RSI = params:
 * what the Linux 64-bit boot protocol expects. For the boot CPU only; the
 * others wait for INIT/SIPI from the guest. */
int vcpu_setup_boot(struct vcpu *c, uint64_t entry, uint64_t params);

/* Run until the next exit and handle it.  With an isolation engine,
 * KVM_RUN is bracketed by its hooks, the ring doorbell goes to it, and an
 * MMIO exit inside guest RAM (a write trapped by a read-only slot) is
 * judged by it instead of reaching the device bus.  With an injector, its
 * breakpoints are loaded before KVM_RUN and KVM_EXIT_DEBUG goes to it. */
enum vcpu_event vcpu_step(struct vcpu *c);

/* The guest-physical pages (at most max, into gpa) the CPU writes when it
 * delivers the event pending on c: the interrupt or exception frame, on
 * the stack the IDT gate and privilege level select (IST, TSS RSP0, or the
 * current RSP).  0 when no event is pending (or a soft exception, which
 * KVM does not report), -errno when the guest's tables cannot be read.
 * From c's own thread, between runs. */
int vcpu_event_frame_pages(struct vcpu *c, uint64_t *gpa, unsigned int max);

/* The guest-physical pages (at most max, into gpa) of the stacks c's CPU
 * pushes interrupt frames to: the top page of the TSS's RSP0 and of each
 * IST stack, and, in kernel mode, the 16 KiB stack RSP is in.  Returns
 * how many, or -errno.  From c's own thread. */
int vcpu_stack_pages(struct vcpu *c, uint64_t *gpa, unsigned int max);

/* The guest-physical pages of c's page tables (4-level long mode) reachable
 * from its CR3, not the pages they map; at most max, into gpa: the top
 * table first, then every table under the PML4 entries of the kernel half
 * (shared by every address space), or with user, of the user half (this
 * process's, freed when it exits).  0 when *cr3 already names this CR3's
 * tables (else it is set to them).  Returns how many, or -errno.  From
 * c's own thread, between runs. */
int vcpu_page_table_pages(struct vcpu *c, uint64_t *cr3, bool user,
			  uint64_t *gpa, unsigned int max);

/* Is the instruction at c's RIP a write KVM's emulator refuses
 * (cmpxchg16b, the XSAVE family)?  Then 1, with the length of its target
 * (an XSAVE area counts as 4 KiB) and the guest-physical addresses of its
 * first and last bytes; 0 when it is another instruction, -errno when it
 * cannot be read.  *rip is set in every case but the first error.  From
 * c's own thread. */
int vcpu_unemulated_write(struct vcpu *c, uint64_t *rip, uint64_t gpa[2],
			  uint32_t *len);

/* Its decoding: is insn (15 bytes from RIP) such a write?  Then 1 with
 * the guest-virtual address (*ea) and length of its target. */
int vcpu_decode_unemulated(const uint8_t insn[15], const struct kvm_regs *r,
			   const struct kvm_sregs *s, uint64_t *ea,
			   uint32_t *len);

/* The guest-physical address of gva through the 4-level page tables at
 * cr3 in mem (a software walk: any thread, no ioctl).  Returns 0,
 * -ENOENT (not mapped) or -EFAULT (a table outside RAM). */
int vcpu_walk(const struct guest_mem *mem, uint64_t cr3, uint64_t gva,
	      uint64_t *gpa);

/* Keep the registers a recovery redirect overwrites (rdi, rsi, rdx, rcx,
 * that order) on the guest's stack: the 32 bytes below r->rsp, through
 * the page tables at cr3 in mem, and r->rsp lowered over them (kernel code
 * has no red zone).  Returns 0, -EINVAL (RSP not 8-byte aligned) or the
 * walk's error, and then nothing is written. */
int vcpu_push_regs(const struct guest_mem *mem, uint64_t cr3,
		   struct kvm_regs *r);

/* c's CR3, when it runs in 4-level long mode (-EINVAL otherwise).  From
 * c's own thread. */
int vcpu_kernel_cr3(struct vcpu *c, uint64_t *cr3);

/* Is c halted (waiting for an interrupt in KVM)? */
bool vcpu_halted(struct vcpu *c);

/* Name of a KVM exit reason for reports ("io", "mmio", ...). */
const char *vcpu_exit_name(int reason);

/* c's last exits, oldest first, as one line into buf ("mmio w 0xfee000b0
 * rip 0x... protected, io w 0x5d4 normal +2 edits, hlt, ...": "+N edits"
 * when the views were edited since the exit before); "" when none.
 * Returns the length written. */
size_t vcpu_history(const struct vcpu *c, char *buf, size_t len);

#endif
