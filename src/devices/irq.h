/* irq.h - how a device raises its interrupt line, without knowing KVM.
 * The VMM binds it to KVM_IRQ_LINE; unit tests bind it to a recorder. */
#ifndef CHARIOT_IRQ_H
#define CHARIOT_IRQ_H

#include <stdint.h>

struct irq_line {
	/* level 1 asserts, 0 deasserts. Returns 0 or -errno. */
	int (*set)(void *opaque, uint32_t gsi, int level);
	void *opaque;
	uint32_t gsi;
};

static inline int irq_line_set(const struct irq_line *l, int level)
{
	return l->set ? l->set(l->opaque, l->gsi, level) : 0;
}

/* An edge: assert then deassert (what the in-kernel PIC/IOAPIC latch). */
static inline int irq_line_pulse(const struct irq_line *l)
{
	int r = irq_line_set(l, 1);

	return r ? r : irq_line_set(l, 0);
}

#endif
