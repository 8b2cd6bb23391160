// SPDX-License-Identifier: GPL-2.0
/*
 * main.c - the Chariot guest monitor module: finds the Chariot VMM,
 * announces itself and reports panics.  It refuses to load (-ENODEV)
 * anywhere else, so the same initramfs boots under QEMU.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>

#include "monitor.h"

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
	chariot_poweroff_unregister();
	chariot_panic_unregister();
	chariot_channel_close();
}

module_init(chariot_monitor_init);
module_exit(chariot_monitor_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Chariot guest monitor: the guest's end of the VMM channel");
