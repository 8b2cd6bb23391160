// SPDX-License-Identifier: GPL-2.0
/*
 * symbols.c - kallsyms_lookup_name() for a module of a 6.1 kernel, where
 * it is not exported: a kprobe placed on it tells its address.
 */
#include <linux/kprobes.h>
#include <linux/mutex.h>

#include "monitor.h"

typedef unsigned long (*lookup_fn)(const char *name);

/**
 * chariot_lookup_name() - the address of a kernel symbol
 * @name: the symbol
 *
 * The first call finds kallsyms_lookup_name() (placing and removing a
 * kprobe: it sleeps); later calls only look up.  A per-CPU variable's
 * "address" is its offset in the per-CPU area.
 *
 * Return: the address, or 0 when it is unknown.
 */
unsigned long chariot_lookup_name(const char *name)
{
	static DEFINE_MUTEX(lock);
	static lookup_fn lookup;
	struct kprobe kp = { .symbol_name = "kallsyms_lookup_name" };

	mutex_lock(&lock);
	if (!lookup && register_kprobe(&kp) == 0) {
		lookup = (lookup_fn)kp.addr;
		unregister_kprobe(&kp);
	}
	mutex_unlock(&lock);
	return lookup ? lookup(name) : 0;
}
