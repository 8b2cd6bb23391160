/* kvm.h - the KVM virtual machine: /dev/kvm checks, the VM file descriptor,
 * in-kernel interrupt controllers and timer, memory slots, interrupt lines. */
#ifndef CHARIOT_KVM_H
#define CHARIOT_KVM_H

#include <stddef.h>
#include <stdint.h>

#include "vmm/bus.h"
#include "vmm/memory.h"

struct vm {
	int kvm_fd;
	int vm_fd;
	int run_size;		/* mmap size of struct kvm_run */
	struct guest_mem mem;
	struct bus pio;
	struct bus mmio;
};

/* Open /dev/kvm and check that it can run a stock kernel: the API version,
 * the capabilities used here, and hardware virtualization behind it. On
 * failure, -errno and a one-line reason (with what to do) in err. */
int vm_open(struct vm *vm, char *err, size_t errlen);

/* Create the VM with RAM of mem_bytes, the in-kernel IRQ chips and PIT. */
int vm_create(struct vm *vm, uint64_t mem_bytes, char *err, size_t errlen);
void vm_destroy(struct vm *vm);

/* Drive GSI gsi to level (the irq_line callback for devices). */
int vm_irq_line(void *vm, uint32_t gsi, int level);

/* True when the CPU advertises VMX or SVM (hardware-backed KVM). */
int host_has_hw_virt(void);

#endif
