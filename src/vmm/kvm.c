/* kvm.c - the VM: open and vet /dev/kvm, memslots, IRQ chips, PIT. */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "vmm/errmsg.h"
#include "vmm/kvm.h"

/* KVM's TSS and identity-map pages (Intel needs them) sit just below the
 * BIOS at 4 GiB, inside the MMIO hole where no RAM is. */
#define KVM_TSS_ADDR		0xfffbd000ull
#define KVM_IDENTITY_ADDR	0xfffbc000ull

int host_has_hw_virt(void)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[4096];
	int found = 0;

	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f))
		if (!strncmp(line, "flags", 5) &&
		    (strstr(line, " vmx") || strstr(line, " svm")))
			found = 1;
	fclose(f);
	return found;
}

static const struct { int cap; const char *name; } needed_caps[] = {
	{ KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP" },
	{ KVM_CAP_PIT2, "KVM_CAP_PIT2" },
	{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY" },
	{ KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR" },
	{ KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID" },
	{ KVM_CAP_READONLY_MEM, "KVM_CAP_READONLY_MEM" },
};

#define TESTHOST_HINT "run it through tools/testhost, which provides a nested host with real KVM"

int vm_open(struct vm *vm, char *err, size_t errlen)
{
	int r;

	vm->vm_fd = -1;
	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0)
		return errmsg(err, errlen, -errno, "cannot open /dev/kvm: %s; %s",
			    strerror(errno), TESTHOST_HINT);
	r = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
	if (r != KVM_API_VERSION) {
		close(vm->kvm_fd);
		return errmsg(err, errlen, -ENODEV, "/dev/kvm speaks API %d, not %d",
			    r, KVM_API_VERSION);
	}
	/* A /dev/kvm without VMX/SVM underneath is a software hypervisor
	 * (kvm_pvm) that cannot run a stock kernel: refuse it up front. */
	if (!host_has_hw_virt() && !getenv("CHARIOT_ALLOW_SOFT_KVM")) {
		close(vm->kvm_fd);
		return errmsg(err, errlen, -ENODEV,
			    "/dev/kvm is not hardware-backed (no vmx/svm CPU flag); %s",
			    TESTHOST_HINT);
	}
	for (size_t i = 0; i < sizeof(needed_caps) / sizeof(needed_caps[0]); i++) {
		if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, needed_caps[i].cap) <= 0) {
			close(vm->kvm_fd);
			return errmsg(err, errlen, -ENODEV, "/dev/kvm lacks %s",
				    needed_caps[i].name);
		}
	}
	vm->run_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (vm->run_size <= 0) {
		close(vm->kvm_fd);
		return errmsg(err, errlen, -ENODEV, "KVM_GET_VCPU_MMAP_SIZE failed");
	}
	return 0;
}

static int set_slot(struct vm *vm, uint32_t slot, uint64_t gpa, uint64_t size,
		    void *host)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot, .guest_phys_addr = gpa, .memory_size = size,
		.userspace_addr = (uint64_t)(uintptr_t)host,
	};

	return ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0 ? -errno : 0;
}

static int create_chips(struct vm *vm)
{
	struct kvm_pit_config pit = { .flags = 0 };

	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, KVM_TSS_ADDR) < 0)
		return -errno;
	if (ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR,
		  &(uint64_t){ KVM_IDENTITY_ADDR }) < 0)
		return -errno;
	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
		return -errno;
	if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0)
		return -errno;
	return 0;
}

int vm_create(struct vm *vm, uint64_t mem_bytes, char *err, size_t errlen)
{
	int r;

	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0)
		return errmsg(err, errlen, -errno, "KVM_CREATE_VM: %s", strerror(errno));
	r = guest_mem_init(&vm->mem, mem_bytes);
	if (r)
		return errmsg(err, errlen, r, "cannot allocate %llu MiB of guest RAM: %s",
			    (unsigned long long)(mem_bytes >> 20), strerror(-r));
	r = set_slot(vm, 0, 0, vm->mem.low_size, vm->mem.host);
	if (!r && vm->mem.high_size)
		r = set_slot(vm, 1, GUEST_HIGH_START, vm->mem.high_size,
			     vm->mem.host + vm->mem.low_size);
	if (r)
		return errmsg(err, errlen, r, "KVM_SET_USER_MEMORY_REGION: %s", strerror(-r));
	r = create_chips(vm);
	if (r)
		return errmsg(err, errlen, r, "creating the in-kernel IRQ chips: %s",
			    strerror(-r));
	return 0;
}

void vm_destroy(struct vm *vm)
{
	guest_mem_free(&vm->mem);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	vm->vm_fd = vm->kvm_fd = -1;
}

int vm_irq_line(void *opaque, uint32_t gsi, int level)
{
	struct vm *vm = opaque;
	struct kvm_irq_level l = { .irq = gsi, .level = (uint32_t)level };

	return ioctl(vm->vm_fd, KVM_IRQ_LINE, &l) < 0 ? -errno : 0;
}
