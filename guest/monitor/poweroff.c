// SPDX-License-Identifier: GPL-2.0
/*
 * poweroff.c - power the guest off through the VMM.  The machine has no
 * ACPI (no other power-off method), so `poweroff -f` would otherwise end
 * in a halted CPU that only a timeout could tell from a hang.
 */
#include <linux/reboot.h>

#include "monitor.h"

static struct sys_off_handler *handler;

static int poweroff(struct sys_off_data *data)
{
	chariot_channel_poweroff();
	return NOTIFY_DONE;
}

/**
 * chariot_poweroff_register() - power off through the VMM from now on
 *
 * Return: 0 or -errno.
 */
int chariot_poweroff_register(void)
{
	handler = register_sys_off_handler(SYS_OFF_MODE_POWER_OFF,
					   SYS_OFF_PRIO_FIRMWARE, poweroff, NULL);
	return PTR_ERR_OR_ZERO(handler);
}

/**
 * chariot_poweroff_unregister() - stop powering off through the VMM
 */
void chariot_poweroff_unregister(void)
{
	unregister_sys_off_handler(handler);
}
