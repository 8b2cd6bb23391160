// SPDX-License-Identifier: GPL-2.0
/*
 * announce.c - tell the VMM who we are: ABI version, CPUs, where this
 * module and the kernel's code lie, and the kernel release.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cpumask.h>
#include <linux/module.h>
#include <linux/string.h>
#include <linux/utsname.h>

#include "monitor.h"

/* _stext .. _etext, or 0 .. 0 when they cannot be found or make no sense
 * (a kernel function that is surely inside must be). */
static void kernel_text(u64 *start, u64 *end)
{
	unsigned long s = chariot_lookup_name("_stext");
	unsigned long e = chariot_lookup_name("_etext");
	unsigned long inside = (unsigned long)panic;

	if (!s || s >= e || inside < s || inside >= e) {
		pr_warn("kernel text range unknown\n");
		s = 0;
		e = 0;
	}
	*start = s;
	*end = e;
}

/**
 * chariot_announce() - fill in the announcement and post it to the VMM
 *
 * The channel must be open.
 *
 * Return: 0.
 */
int chariot_announce(void)
{
	struct chariot_announce a = {
		.magic = CHARIOT_ABI_MAGIC,
		.abi_version = CHARIOT_ABI_VERSION,
		.size = sizeof(a),
		.cpus = num_online_cpus(),
		.module_base = (unsigned long)THIS_MODULE->core_layout.base,
		.module_size = THIS_MODULE->core_layout.size,
	};

	kernel_text(&a.kernel_text, &a.kernel_etext);
	strscpy(a.kernel_release, utsname()->release, sizeof(a.kernel_release));
	strscpy(a.name, KBUILD_MODNAME, sizeof(a.name));
	chariot_channel_announce(&a);
	pr_info("announced: module %#llx+%#llx, kernel text %#llx-%#llx\n",
		a.module_base, a.module_size, a.kernel_text, a.kernel_etext);
	return 0;
}
