// SPDX-License-Identifier: GPL-2.0
/*
 * main.c - the Chariot guest monitor module: finds the Chariot VMM,
 * announces itself and reports panics.  It refuses to load (-ENODEV)
 * anywhere else, so the same initramfs boots under QEMU.
 *
 * With isolate=MOD1,MOD2 it also isolates those modules: it posts their
 * domains, code, grants and entries to the VMM through the update ring.
 * When the VMM offers no usable ring, the module loads with isolation
 * disabled and says so.  With watch=MOD (watch.c) it only posts where
 * those modules' code is, for fault injection in a run without isolation.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>

#include "monitor.h"
#include "watch.h"

static char *isolate = "";
module_param(isolate, charp, 0444);
MODULE_PARM_DESC(isolate, "modules to isolate: NAME[,NAME...]");

static char *recover = "off";
module_param(recover, charp, 0444);
MODULE_PARM_DESC(recover, "after an isolated module faults: reload, unload or off");

static unsigned int recover_limit = 3;
module_param(recover_limit, uint, 0444);
MODULE_PARM_DESC(recover_limit, "faults of a module within recover_window that leave it unloaded");

static unsigned int recover_window = 60;
module_param(recover_window, uint, 0444);
MODULE_PARM_DESC(recover_window, "seconds (see recover_limit)");

static bool isolating;

/*
 * Our own code is trusted: the handlers write while a domain is active.
 * The kernel's text the VMM trusts from the announcement already.
 */
static void post_trusted(void)
{
	struct chariot_batch b;

	chariot_batch_init(&b);
	chariot_post_trusted(&b, (unsigned long)THIS_MODULE->core_layout.base,
			     THIS_MODULE->core_layout.text_size);
	chariot_batch_flush(&b);
}

static void isolation_stop(void)
{
	if (!isolating)
		return;
	chariot_watch_stop();
	chariot_iface_stop();
	chariot_recover_stop();
	chariot_domains_stop();
	chariot_alloc_stop();
	chariot_ctx_stop();
	chariot_ring_close();
	isolating = false;
}

/* The isolated modules, domains 0.. (the watched ones come after). */
static unsigned int isolated_count(void)
{
	unsigned int n = 0;

	while (chariot_domain_get(n))
		n++;
	return n;
}

static int isolation_start_domains(void)
{
	int err;

	post_trusted();
	err = chariot_ctx_start();
	if (!err)
		err = chariot_alloc_start();
	if (!err)
		err = chariot_domains_start(isolate);
	if (!err)
		err = chariot_recover_start(recover, recover_limit,
					    recover_window);
	if (!err)
		chariot_iface_start();
	return err;
}

/* Isolation is optional: any failure here leaves it off, not the module. */
static void isolation_start(void)
{
	int err = 0;

	if (!*isolate && !chariot_watch_wanted()) {
		pr_info("isolation: no module named (isolate=)\n");
		return;
	}
	err = chariot_ring_open();
	if (err) {
		pr_warn("isolation disabled: no usable update ring (%d); %s not isolated\n",
			err, isolate);
		return;
	}
	isolating = true;
	if (*isolate)
		err = isolation_start_domains();
	if (!err)
		err = chariot_watch_start(isolated_count());
	if (err) {
		pr_err("isolation disabled: set-up failed (%d)\n", err);
		isolation_stop();
		return;
	}
	if (*isolate)
		pr_info("isolating: %s\n", isolate);
}

static int __init chariot_monitor_init(void)
{
	int err;

	err = chariot_channel_open();
	if (err)
		return err;
	err = chariot_panic_register();
	if (err)
		goto close;
	err = chariot_poweroff_register();
	if (err)
		goto unregister;
	err = chariot_announce();
	if (err)
		goto poweroff;
	isolation_start();
	chariot_debugfs_start();
	return 0;

poweroff:
	chariot_poweroff_unregister();
unregister:
	chariot_panic_unregister();
close:
	chariot_channel_close();
	return err;
}

static void __exit chariot_monitor_exit(void)
{
	chariot_debugfs_stop();
	isolation_stop();
	chariot_poweroff_unregister();
	chariot_panic_unregister();
	chariot_channel_close();
}

module_init(chariot_monitor_init);
module_exit(chariot_monitor_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Chariot guest monitor: the guest's end of the VMM channel and the driver monitor");
