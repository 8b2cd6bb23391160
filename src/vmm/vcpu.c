/* vcpu.c - vCPU creation, CPUID, boot registers and exit dispatch. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmm/vcpu.h"
#include "vmm/x86.h"

#define CPUID_MAX_ENTRIES 256

static int setup_cpuid(struct vcpu *c)
{
	size_t sz = sizeof(struct kvm_cpuid2) +
		    CPUID_MAX_ENTRIES * sizeof(struct kvm_cpuid_entry2);
	struct kvm_cpuid2 *cpuid = calloc(1, sz);
	int r = 0;

	if (!cpuid)
		return -ENOMEM;
	cpuid->nent = CPUID_MAX_ENTRIES;
	if (ioctl(c->vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid) < 0) {
		r = -errno;
		goto out;
	}
	for (uint32_t i = 0; i < cpuid->nent; i++) {
		struct kvm_cpuid_entry2 *e = &cpuid->entries[i];

		switch (e->function) {
		case 1:
			/* Initial APIC id, and "running under a hypervisor". */
			e->ebx = (e->ebx & 0x00ffffffu) | ((uint32_t)c->id << 24);
			e->ecx |= 1u << 31;
			break;
		case 0xb:
		case 0x1f:
			e->edx = (uint32_t)c->id;	/* x2APIC id */
			break;
		}
	}
	if (ioctl(c->fd, KVM_SET_CPUID2, cpuid) < 0)
		r = -errno;
out:
	free(cpuid);
	return r;
}

int vcpu_create(struct vcpu *c, struct vm *vm, int id, char *err, size_t errlen)
{
	int r;

	memset(c, 0, sizeof(*c));
	c->vm = vm;
	c->id = id;
	c->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, id);
	if (c->fd < 0) {
		snprintf(err, errlen, "KVM_CREATE_VCPU %d: %s", id, strerror(errno));
		return -errno;
	}
	c->run = mmap(NULL, (size_t)vm->run_size, PROT_READ | PROT_WRITE,
		      MAP_SHARED, c->fd, 0);
	if (c->run == MAP_FAILED) {
		r = -errno;
		close(c->fd);
		snprintf(err, errlen, "mmap kvm_run: %s", strerror(-r));
		return r;
	}
	r = setup_cpuid(c);
	if (r) {
		snprintf(err, errlen, "KVM_SET_CPUID2 on vCPU %d: %s", id, strerror(-r));
		vcpu_destroy(c);
	}
	return r;
}

void vcpu_destroy(struct vcpu *c)
{
	if (c->run && c->run != MAP_FAILED)
		munmap(c->run, (size_t)c->vm->run_size);
	if (c->fd >= 0)
		close(c->fd);
	c->run = NULL;
	c->fd = -1;
}

static void flat_segment(struct kvm_segment *s, uint16_t sel, int code)
{
	memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->limit = 0xffffffff;
	s->present = 1;
	s->s = 1;
	s->g = 1;
	if (code) {
		s->type = 0xb;	/* execute/read, accessed */
		s->l = 1;
	} else {
		s->type = 0x3;	/* read/write, accessed */
		s->db = 1;
	}
}

#define CR0_PE	0x1ull
#define CR0_ET	0x10ull
#define CR0_PG	0x80000000ull
#define CR4_PAE	0x20ull
#define EFER_LME 0x100ull
#define EFER_LMA 0x400ull

int vcpu_setup_boot(struct vcpu *c, uint64_t entry, uint64_t params)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs = { .rip = entry, .rsi = params, .rflags = 2 };
	struct kvm_fpu fpu = { .fcw = 0x37f, .mxcsr = 0x1f80 };

	if (ioctl(c->fd, KVM_GET_SREGS, &sregs) < 0)
		return -errno;
	flat_segment(&sregs.cs, BOOT_CS, 1);
	flat_segment(&sregs.ds, BOOT_DS, 0);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	sregs.gdt.base = BOOT_GDT_ADDR;
	sregs.gdt.limit = 4 * 8 - 1;
	sregs.cr3 = BOOT_PML4_ADDR;
	sregs.cr4 = CR4_PAE;
	sregs.cr0 = CR0_PE | CR0_ET | CR0_PG;
	sregs.efer = EFER_LME | EFER_LMA;
	if (ioctl(c->fd, KVM_SET_SREGS, &sregs) < 0 ||
	    ioctl(c->fd, KVM_SET_REGS, &regs) < 0 ||
	    ioctl(c->fd, KVM_SET_FPU, &fpu) < 0)
		return -errno;
	return 0;
}

static void handle_io(struct vcpu *c)
{
	struct kvm_run *run = c->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	bool wr = run->io.direction == KVM_EXIT_IO_OUT;

	/* A rep ins/outs arrives as count back-to-back elements. */
	for (uint32_t i = 0; i < run->io.count; i++, data += run->io.size)
		if (bus_dispatch(&c->vm->pio, run->io.port, data, run->io.size, wr))
			c->unclaimed_io++;
}

static void handle_mmio(struct vcpu *c)
{
	struct kvm_run *run = c->run;

	if (bus_dispatch(&c->vm->mmio, run->mmio.phys_addr, run->mmio.data,
			 run->mmio.len, run->mmio.is_write))
		c->unclaimed_io++;
}

static enum vcpu_event system_event(struct vcpu *c)
{
	switch (c->run->system_event.type) {
	case KVM_SYSTEM_EVENT_SHUTDOWN:
		return VCPU_POWEROFF;
	case KVM_SYSTEM_EVENT_RESET:
		return VCPU_RESET;
	default:
		snprintf(c->err, sizeof(c->err), "system event %u",
			 c->run->system_event.type);
		return VCPU_INTERNAL_ERROR;
	}
}

static enum vcpu_event internal_error(struct vcpu *c)
{
	struct kvm_regs regs;
	unsigned long long rip = 0;

	if (!ioctl(c->fd, KVM_GET_REGS, &regs))
		rip = regs.rip;
	if (c->run->exit_reason == KVM_EXIT_FAIL_ENTRY)
		snprintf(c->err, sizeof(c->err),
			 "vCPU %d: entry failed (hardware reason 0x%llx) at rip 0x%llx",
			 c->id, (unsigned long long)c->run->fail_entry.hardware_entry_failure_reason,
			 rip);
	else
		snprintf(c->err, sizeof(c->err),
			 "vCPU %d: KVM internal error, suberror %u, at rip 0x%llx",
			 c->id, c->run->internal.suberror, rip);
	return VCPU_INTERNAL_ERROR;
}

enum vcpu_event vcpu_step(struct vcpu *c)
{
	uint32_t reason;

	if (ioctl(c->fd, KVM_RUN, 0) < 0) {
		if (errno == EINTR || errno == EAGAIN) {
			c->exits[KVM_EXIT_INTR]++;
			return VCPU_INTERRUPTED;
		}
		snprintf(c->err, sizeof(c->err), "vCPU %d: KVM_RUN: %s", c->id,
			 strerror(errno));
		return VCPU_INTERNAL_ERROR;
	}
	reason = c->run->exit_reason;
	if (reason < VCPU_EXIT_REASONS)
		c->exits[reason]++;
	switch (reason) {
	case KVM_EXIT_IO:
		handle_io(c);
		return VCPU_CONTINUE;
	case KVM_EXIT_MMIO:
		handle_mmio(c);
		return VCPU_CONTINUE;
	case KVM_EXIT_INTR:
		return VCPU_INTERRUPTED;
	case KVM_EXIT_HLT:
		return VCPU_CONTINUE;	/* the in-kernel LAPIC wakes it */
	case KVM_EXIT_SHUTDOWN:
		return VCPU_SHUTDOWN;
	case KVM_EXIT_SYSTEM_EVENT:
		return system_event(c);
	case KVM_EXIT_INTERNAL_ERROR:
	case KVM_EXIT_FAIL_ENTRY:
		return internal_error(c);
	default:
		snprintf(c->err, sizeof(c->err), "vCPU %d: unexpected exit %u",
			 c->id, reason);
		return VCPU_INTERNAL_ERROR;
	}
}

const char *vcpu_exit_name(int reason)
{
	static const char *const names[] = {
		[KVM_EXIT_UNKNOWN] = "unknown", [KVM_EXIT_EXCEPTION] = "exception",
		[KVM_EXIT_IO] = "io", [KVM_EXIT_HYPERCALL] = "hypercall",
		[KVM_EXIT_DEBUG] = "debug", [KVM_EXIT_HLT] = "hlt",
		[KVM_EXIT_MMIO] = "mmio", [KVM_EXIT_IRQ_WINDOW_OPEN] = "irq_window",
		[KVM_EXIT_SHUTDOWN] = "shutdown", [KVM_EXIT_FAIL_ENTRY] = "fail_entry",
		[KVM_EXIT_INTR] = "intr", [KVM_EXIT_INTERNAL_ERROR] = "internal_error",
		[KVM_EXIT_SYSTEM_EVENT] = "system_event",
	};

	if (reason >= 0 && reason < (int)(sizeof(names) / sizeof(names[0])) &&
	    names[reason])
		return names[reason];
	return NULL;
}
